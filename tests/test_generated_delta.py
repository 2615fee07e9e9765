"""Patched manifests (docs/delta.md, processing model section 15) through the structure-
aware differential generator's two comparisons: the Python and C verifiers in host mode,
and the simulated device (C boot flow) against the processor in device mode (rules D14,
D15), on the grid of what a delta release can get wrong. The random generator
(tests/gen/strategies.py) also draws delta-info and the delta install; this grid makes
sure every outcome is reached in each run, not only when the seed happens to."""

from __future__ import annotations

import itertools

import pytest

from tests.gen.build import (
    CLASS,
    IMAGE,
    IMAGES,
    OTHER_IMAGE,
    PATCH,
    SHA256,
    VENDOR,
    Block,
    Case,
    Params,
    Seq,
    encode,
    sha256,
)
from tests.gen.device import DeviceDiffer
from tests.gen.harness import Differ, check
from tests.gen.rawcbor import Wrapped
from tests.gen.strategies import DELTA_INFO, digest_of

pytestmark = [pytest.mark.generated]

INFOS = {
    "patch": Wrapped([1, len(PATCH), [SHA256, sha256(PATCH)]]),
    "other-patch": Wrapped([1, len(IMAGE), [SHA256, sha256(IMAGE)]]),
    "format-2": Wrapped([2, len(PATCH), [SHA256, sha256(PATCH)]]),
    "sha384": Wrapped([1, len(PATCH), [-43, bytes(48)]]),
    "short": Wrapped([1, len(PATCH)]),
}


def delta_case(info: str, payload: str, result: bytes, source: bytes, src_comp: int = 1) -> Case:
    return Case(
        components=((b"\x00",), (b"\x01",)),
        shared=Seq(((20, Params(((1, VENDOR), (2, CLASS), (3, digest_of(result)), (14, len(result))))),
                    (1, 15), (2, 15))),
        members=((7, Seq(((3, 15),))), (20, Seq((
            (12, 1), (20, Params(((3, digest_of(source)), (14, len(source))))), (3, 15), (12, 0),
            (20, Params(((21, "https://fw.example.com/v3.fwd1"), (22, src_comp), (DELTA_INFO, INFOS[info])))),
            (21, 2))))),
        blocks=(Block("p256", -7, "own"),), sequence_number=3, image=payload)


GRID = list(itertools.product(INFOS, ("patch", "image"), (OTHER_IMAGE, IMAGE), (IMAGE, OTHER_IMAGE)))


@pytest.fixture(scope="module")
def device_differ() -> DeviceDiffer:
    return DeviceDiffer()


def test_patched_manifests_agree_host_and_device(device_differ: DeviceDiffer) -> None:
    differ = Differ()
    device_seen: dict[str, int] = {}
    for info, payload, result, source in GRID:
        case = delta_case(info, payload, result, source)
        r = check(differ, case)
        assert r.outcome.agree, (info, payload, r.outcome)
        env = encode(case)
        for running in (True, False):
            d = device_differ.run(env, 0, IMAGES[payload], {}, running=running)
            assert d.agree, (info, payload, running, d)
            device_seen[d.pair[1]] = device_seen.get(d.pair[1], 0) + 1
    # the grid reaches each outcome a patched install can have
    for outcome in ("boot/ok", "install/patch-invalid", "install/image-mismatch", "install/unsupported",
                    "install/malformed"):
        assert device_seen.get(outcome), (outcome, device_seen)


def test_source_component_must_be_another_component() -> None:
    differ = Differ()
    r = check(differ, delta_case("patch", "patch", OTHER_IMAGE, IMAGE, src_comp=0))
    assert r.outcome.agree and r.outcome.python == "malformed"
