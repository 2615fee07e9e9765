"""Update management (draft-ietf-suit-update-management; docs/processing-model.md section 14).

- the libcsuit example envelopes that exercise it: the same verdict from fwsign's verifier
  and the C verifier;
- each new field and command with bad input, through both verifiers (the generator's
  encoder signs them, so only the field under test is wrong);
- the device's inputs: a condition skipped on a host, failed on a device without the input;
- end to end on the simulated device, from the CLI: refused below the battery level (the
  figure in the manifest being what `fwsign energy` computes), deferred while in use,
  refused after use-before, waiting for an operator's authorization and installing after
  it, and the version range checked against the running image's set-version.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from fwsign.device import lib
from fwsign.errors import MissingCheck, UsageError
from fwsign.keys import load_public
from fwsign.suit.decode import decode_envelope
from fwsign.suit.model import VersionMatch
from fwsign.suit.processor import DeviceModel, Processor, manifest_sequences, version_compare
from fwsign.suit.update_management import encode_version, min_battery_mwh, parse_version_range
from fwsign.verify import Policy, TrustedKey, verify_envelope
from tests.gen.build import (
    CLASS,
    IMAGE,
    VENDOR,
    Block,
    Case,
    CopyParams,
    Digest,
    Multi,
    Params,
    Seq,
    VersionParam,
    WaitParam,
    encode,
    sha256,
)
from tests.gen.harness import Differ, Inputs

LIBCSUIT = Path(__file__).parent / "vectors" / "libcsuit"
#: SHA-256 of the vendored files (tests/vectors/libcsuit/PROVENANCE-update-management.md).
PINNED = {
    "suit_manifest_expU0.suit": "c880c3324a1baac5a307f39a736435a9dc6d3dd4f2c4d814f1c6728512f8eeb0",
    "suit_manifest_expU1.suit": "6958f1b22cdd00c7db2bfbc135abbe56b40bc263677a2fde161cb8dcd59ffdf4",
    "suit_manifest_expU2.suit": "bc3b846746111812c8ee7924adab0e978a7d5ada24761b4ce9da53867ea90d01",
    "key/trust_anchor_secp256r1_pub.pem": "6f6442571351f8d95d267b0f88c2a3b22f3300e263f802945f0b89c96bf17760",
}
#: What both verifiers say (R0: U0 and U1 have no validate sequence).
LIBCSUIT_VERDICTS = {
    "suit_manifest_expU0.suit": "missing-check",
    "suit_manifest_expU1.suit": "missing-check",
    "suit_manifest_expU2.suit": "ok",
}


# -- libcsuit's examples ------------------------------------------------------------------


def test_libcsuit_vectors_are_the_pinned_files() -> None:
    for name, digest in PINNED.items():
        assert hashlib.sha256((LIBCSUIT / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("name", sorted(LIBCSUIT_VERDICTS))
def test_libcsuit_update_management_same_verdict_in_python_and_c(name: str) -> None:
    data = (LIBCSUIT / name).read_bytes()
    key_path = LIBCSUIT / "key" / "trust_anchor_secp256r1_pub.pem"
    report = verify_envelope(data, Policy(keys=(TrustedKey.of(load_public(key_path), "libcsuit"),)))
    python = "ok" if report.valid else str(report.reason)
    with lib.HostPort() as host:
        host.add_pem(key_path)
        code = lib.Verifier(host).check(data)
    c = "ok" if code == 0 else lib.reason(code)
    assert (python, c) == (LIBCSUIT_VERDICTS[name], LIBCSUIT_VERDICTS[name])


def test_libcsuit_u0_copy_params_reach_the_second_component() -> None:
    """U0 sets use-before, minimum-battery and priority on component 0 and copies them to
    component 1: the processor's host run sees them on both."""
    env = decode_envelope((LIBCSUIT / "suit_manifest_expU0.suit").read_bytes())
    proc = Processor(env.manifest, DeviceModel())
    with pytest.raises(MissingCheck):  # it makes no vendor or class check (R1)
        proc.run(manifest_sequences(env.manifest, {}))
    seen = {(o.code, o.component): o for o in proc.trace}
    for comp in (0, 1):
        o = seen[(4, comp)]  # condition-use-before, skipped for want of a clock
        assert o.outcome == "skipped" and o.param(4) == 1696291200 and o.param(26) == 10 and o.param(27) == -1
    assert seen[(28, 0)].param(28) != seen[(28, 1)].param(28)  # version overridden after the copy


# -- bad input, through both verifiers ----------------------------------------------------

STANDARD = (20, Params(((1, VENDOR), (2, CLASS), (3, Digest(-16, sha256(IMAGE))), (14, len(IMAGE))))), (1, 15), (2, 15)


def _case(*install: tuple[int, object], components: int = 1, set_version: tuple[int, ...] | None = None) -> Case:
    return Case(
        components=tuple((bytes([i]),) for i in range(components)),
        shared=Seq(STANDARD),
        members=((7, Seq(((3, 15),))), (20, Seq(install))) if install else ((7, Seq(((3, 15),))),),
        blocks=(Block("ed25519", -8, "own"),),
        set_version=set_version,
    )


@pytest.fixture(scope="module")
def differ() -> Differ:
    return Differ()


BAD_INPUT = {
    "version comparison type 0": (_case((20, Params(((28, VersionParam(0, (1,))),))), (28, 15)), "malformed"),
    "version comparison type 6": (_case((20, Params(((28, VersionParam(6, (1,))),))), (28, 15)), "malformed"),
    "version with no integer": (_case((20, Params(((28, VersionParam(2, ())),))), (28, 15)), "malformed"),
    "version with 9 integers": (_case((20, Params(((28, VersionParam(2, tuple(range(9)))),))), (28, 15)),
                                "limit-exceeded"),
    "version not CBOR": (_case((20, Params(((28, b"\x01\x02"),))), (28, 15)), "malformed"),
    "version of the wrong type": (_case((20, Params(((28, 5),)))), "malformed"),
    "use-before negative": (_case((20, Params(((4, -1),)))), "malformed"),
    "minimum-battery a string": (_case((20, Params(((26, "full"),)))), "malformed"),
    "update-priority a bstr": (_case((20, Params(((27, b"\x01"),)))), "malformed"),
    "use-before not set": (_case((4, 15)), "malformed"),
    "update-priority not set": (_case((27, 15)), "malformed"),
    "wait-info empty map": (_case((20, Params(((29, WaitParam(())),))), (29, 15)), "malformed"),
    "wait-info event of the wrong type": (_case((20, Params(((29, WaitParam(((1, "soon"),))),))), (29, 15)),
                                          "malformed"),
    "wait for network (no source)": (_case((20, Params(((29, WaitParam(((3, 1),))),))), (29, 15)), "unsupported"),
    "wait for an unknown event": (_case((20, Params(((29, WaitParam(((77, 1),))),))), (29, 15)), "unsupported"),
    "override-multiple index out of range": (_case((34, Multi(((2, Params(((26, 5),))),))), components=2),
                                             "malformed"),
    "override-multiple empty": (_case((34, Multi(()))), "malformed"),
    "override-multiple out of order": (_case((34, Multi(((0, Params(((26, 5),))), (1, Params(((26, 6),)))),
                                                        canonical=False)), components=2), "malformed"),
    "copy-params soft-failure": (_case((35, CopyParams(((0, (13,)),)))), "unsupported"),
    "copy-params unknown label": (_case((35, CopyParams(((0, (99,)),)))), "unsupported"),
    # delta-info describes one fetch's patch (model section 15): never copied
    "copy-params delta-info": (_case((35, CopyParams(((0, (-257,)),)))), "unsupported"),
    "copy-params empty label list": (_case((35, CopyParams(((0, ()),)))), "malformed"),
    "copy-params label a string": (_case((35, CopyParams(((0, ("uri",)),)))), "malformed"),
    "copy-params source out of range": (_case((35, CopyParams(((3, (26,)),))), components=2), "malformed"),
    "component-metadata": (_case((20, Params(((30, b"\xa1\x05\x01"),)))), "unsupported"),
    "set-version empty": (_case(set_version=()), "malformed"),
    "set-version with 9 integers": (_case(set_version=tuple(range(9))), "limit-exceeded"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_update_management_input_refused_alike(differ: Differ, name: str) -> None:
    case, reason = BAD_INPUT[name]
    envelope = encode(case)
    outcome = differ.run(envelope, Inputs.of(case))
    assert (outcome.python, outcome.c) == (reason, reason), outcome


def test_well_formed_update_management_verifies_on_a_host(differ: Differ) -> None:
    """Every condition's input is the device's: a host skips them and accepts."""
    case = _case(
        (20, Params(((4, 1), (26, 10 ** 6), (27, -1), (28, VersionParam(3, (9, 9))),
                     (29, WaitParam(((1, 0), (2, 10 ** 6))))))),
        (29, 15), (4, 15), (25, 15), (26, 15), (27, 15), (28, 15),
        (34, Multi(((0, Params(((26, 1),))),))), (35, CopyParams(((0, (26, 4)),))),
        set_version=(1, 2, 3),
    )
    outcome = differ.run(encode(case), Inputs(None, True, 0))
    assert (outcome.python, outcome.c) == ("ok", "ok"), outcome
    # given the image image-not-match excludes, both refuse
    outcome = differ.run(encode(case), Inputs.of(case))
    assert (outcome.python, outcome.c) == ("image-matches", "image-matches"), outcome


# -- the version encoding and the battery figure ---------------------------------------------


def test_version_encoding_follows_the_draft_examples() -> None:
    # draft-ietf-suit-update-management section 4.4's examples
    assert encode_version("1.2.3") == (1, 2, 3)
    assert encode_version("1.2-rc.3") == (1, 2, -1, 3)
    assert encode_version("1.2-beta") == (1, 2, -2)
    assert encode_version("1.2.3-alpha.4") == (1, 2, 3, -3, 4)
    with pytest.raises(UsageError):
        encode_version("1.2.3+build.5")  # build metadata MUST NOT be included
    assert parse_version_range(">=1.2.5,<2") == ((2, (1, 2, 5)), (5, (2,)))
    with pytest.raises(UsageError):
        parse_version_range("~1.2")


def test_version_comparison_as_the_draft_describes() -> None:
    # "Equal [1]" matches every 1.x; ">= [1,0]" and "< [1,10]" match 1.0.x up to 1.10
    assert version_compare((1, 7, 2), VersionMatch(3, (1,)))
    assert version_compare((1, 9, 9), VersionMatch(2, (1, 0))) and version_compare((1, 9, 9), VersionMatch(5, (1, 10)))
    assert not version_compare((1, 10), VersionMatch(5, (1, 10)))
    assert version_compare((2, 0, -1, 1), VersionMatch(5, (2, 0, 0)))  # 2.0-rc.1 is before 2.0.0
    assert version_compare((1, 0), VersionMatch(3, (1, 0, 0)))  # padded with zeros


def test_min_battery_is_the_cost_with_its_margin_rounded_up() -> None:
    assert min_battery_mwh(3.6) == 2  # 1 mWh, doubled
    assert min_battery_mwh(3.7) == 3
    assert min_battery_mwh(0.0) == 0
    with pytest.raises(UsageError):
        min_battery_mwh(-1.0)


# -- end to end on the simulated device (CLI) ---------------------------------------------

IDENT = ("--vendor-domain", "example.com", "--class-name", "infusion-pump")
SMALL = ("--sector-size", "1024", "--slot-sectors", "40")


@pytest.fixture
def setup(cli: Callable[..., object], key_files: dict[str, tuple[Path, Path]], tmp_path: Path) -> dict[str, Path]:
    fw = tmp_path / "fw.bin"
    fw.write_bytes(bytes((i * 13 + 1) & 0xFF for i in range(30_000)))
    dev = tmp_path / "dev"
    r = cli("device", "create", dev, "--trust", key_files["ed25519"][1], *IDENT, *SMALL)
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    return {"fw": fw, "dev": dev, "key": key_files["ed25519"][0]}


def _sign(cli: Callable[..., object], s: dict[str, Path], out: str, seq: int, *extra: str) -> Path:
    path = s["dev"].parent / out
    r = cli("sign", s["fw"], "-k", s["key"], "-o", path, "--sequence", str(seq), *IDENT, *extra)
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    return path


def _install_params(cli: Callable[..., object], envelope: Path) -> dict[str, object]:
    r = cli("inspect", "--json", envelope)
    doc = json.loads(r.out)  # type: ignore[attr-defined]
    first = doc["manifest"]["install"][0]["directive-override-parameters"]
    assert isinstance(first, dict)
    return first


def test_refused_below_the_battery_level_the_energy_model_gives(cli: Callable[..., object],
                                                                   setup: dict[str, Path]) -> None:
    env = _sign(cli, setup, "u.suit", 2, "--min-battery", "--energy-device", "nrf52840", "--energy-link", "lora-sf12")
    figure = _install_params(cli, env)["minimum-battery"]
    r = cli("energy", "--device", "nrf52840", "--link", "lora-sf12", "--image-size", "30000", "--alg", "ed25519",
            "--json")
    total_mj = json.loads(r.out)["modes"][0]["total_mj"]  # type: ignore[attr-defined]
    assert figure == math.ceil(total_mj / 1000 * 2 / 3.6) and isinstance(figure, int) and figure > 1
    dev = setup["dev"]
    assert cli("device", "set", dev, "--battery", str(figure - 1)).code == 0  # type: ignore[attr-defined]
    r = cli("device", "install", dev, env, "--payload", setup["fw"], "--json")
    assert r.code != 0 and json.loads(r.out)["reason"] == "battery-low"  # type: ignore[attr-defined]
    assert cli("device", "set", dev, "--battery", str(figure)).code == 0  # type: ignore[attr-defined]
    r = cli("device", "install", dev, env, "--payload", setup["fw"])
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert cli("device", "boot", dev).code == 0  # type: ignore[attr-defined]


def test_update_deferred_while_in_use_installs_when_idle(cli: Callable[..., object], setup: dict[str, Path]) -> None:
    env = _sign(cli, setup, "u.suit", 2, "--requires-authorization", "-1")
    dev = setup["dev"]
    assert cli("device", "set", dev, "--in-use").code == 0  # type: ignore[attr-defined]
    r = cli("device", "authorize", dev)
    assert r.code == 0  # nothing pending yet  # type: ignore[attr-defined]
    r = cli("device", "install", dev, env, "--payload", setup["fw"], "--json")
    assert r.code != 0 and json.loads(r.out)["reason"] == "deferred"  # type: ignore[attr-defined]
    status = json.loads(cli("device", "status", dev, "--json").out)  # type: ignore[attr-defined]
    assert [s["state"] for s in status["slots"]] == ["empty", "empty"]  # nothing written while in use
    r = cli("device", "set", dev, "--idle", "--json")
    assert r.code == 0 and json.loads(r.out)["slot"] == 0, r.err  # type: ignore[attr-defined]
    assert cli("device", "boot", dev).code == 0  # type: ignore[attr-defined]


def test_update_refused_after_use_before(cli: Callable[..., object], setup: dict[str, Path]) -> None:
    env = _sign(cli, setup, "u.suit", 2, "--use-before", "2030-01-01T00:00:00")
    dev = setup["dev"]
    r = cli("device", "install", dev, env, "--payload", setup["fw"], "--now", "2030-01-01T00:00:00", "--json")
    assert r.code != 0 and json.loads(r.out)["reason"] == "use-before-passed"  # type: ignore[attr-defined]
    r = cli("device", "install", dev, env, "--payload", setup["fw"], "--now", "2029-12-31T23:59:59")
    assert r.code == 0, r.err  # type: ignore[attr-defined]


def test_update_waits_for_authorization_and_installs_after_it(cli: Callable[..., object],
                                                              setup: dict[str, Path]) -> None:
    env = _sign(cli, setup, "u.suit", 2, "--requires-authorization")
    dev = setup["dev"]
    r = cli("device", "install", dev, env, "--payload", setup["fw"])
    assert r.code != 0 and "deferred" in r.err and "pending" in r.err  # type: ignore[attr-defined]
    assert "an update is pending" in cli("device", "status", dev).out  # type: ignore[attr-defined]
    r = cli("device", "authorize", dev, "--json")
    assert r.code == 0 and json.loads(r.out)["slot"] == 0, r.err  # type: ignore[attr-defined]
    boot = json.loads(cli("device", "boot", dev, "--json").out)  # type: ignore[attr-defined]
    assert boot["ok"] and boot["sequence"] == 2
    status = json.loads(cli("device", "status", dev, "--json").out)  # type: ignore[attr-defined]
    assert status["update_management"]["authorized"] is False  # spent by the install


def test_version_range_checked_against_the_running_release(cli: Callable[..., object],
                                                           setup: dict[str, Path]) -> None:
    dev, fw = setup["dev"], setup["fw"]
    first = _sign(cli, setup, "v1.suit", 2, "--set-version", "1.4.0")
    assert cli("device", "install", dev, first, "--payload", fw).code == 0  # type: ignore[attr-defined]
    assert cli("device", "boot", dev).code == 0  # type: ignore[attr-defined]
    status = json.loads(cli("device", "status", dev, "--json").out)  # type: ignore[attr-defined]
    assert status["update_management"]["version"] == [1, 4, 0]
    too_new = _sign(cli, setup, "v3.suit", 3, "--version-range", ">=2.0", "--set-version", "3.0.0")
    r = cli("device", "install", dev, too_new, "--payload", fw, "--json")
    assert r.code != 0 and json.loads(r.out)["reason"] == "version-mismatch"  # type: ignore[attr-defined]
    fits = _sign(cli, setup, "v2.suit", 3, "--version-range", ">=1.2,<2", "--set-version", "1.5.0")
    assert cli("device", "install", dev, fits, "--payload", fw).code == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("args, message", [
    (("--min-battery", "lots"), "whole number of mWh"),
    (("--min-battery",), "needs --energy-device and --energy-link"),
    (("--energy-device", "nrf52840"), "go with --min-battery"),
    (("--min-battery", "--energy-device", "nope", "--energy-link", "ble-1m"), "nope"),
    (("--use-before", "next tuesday"), "--use-before"),
    (("--version-range", "~1.2"), "--version-range"),
    (("--set-version", "1.2.3+build.7"), "no build metadata"),
    (("--requires-authorization", "urgent"), "invalid int value"),
])
def test_sign_update_management_bad_input(cli: Callable[..., object], setup: dict[str, Path],
                                          args: tuple[str, ...], message: str) -> None:
    out = setup["dev"].parent / "bad.suit"
    r = cli("sign", setup["fw"], "-k", setup["key"], "-o", out, "--sequence", "2", *IDENT, *args)
    assert r.code != 0 and message in r.err and not out.exists(), r.err  # type: ignore[attr-defined]


@pytest.mark.parametrize("args, message", [
    ((), "nothing to set"),
    (("--battery", "5", "--no-battery"), "not both"),
    (("--battery", "-3"), ""),
])
def test_device_set_bad_input(cli: Callable[..., object], setup: dict[str, Path], args: tuple[str, ...],
                              message: str) -> None:
    r = cli("device", "set", setup["dev"], *args)
    assert r.code != 0 and message in r.err  # type: ignore[attr-defined]


# -- component metadata: decoded and shown, refused by the processors ------------------------


def test_component_metadata_is_decoded_for_inspect_and_refused_by_the_processors(differ: Differ) -> None:
    from fwsign import cbor
    from fwsign.cbor import Tag
    from fwsign.suit import render

    meta = cbor.dumps({1: 0o644, 2: {"root": 7}, 5: 3, 6: Tag(1, 1_700_000_000), 8: Tag(37, bytes(16))})
    case = _case((20, Params(((30, meta),))))
    envelope = encode(case)
    install = render.to_json(decode_envelope(envelope))["manifest"]["install"]  # type: ignore[index]
    shown = install[0]["directive-override-parameters"]["component-metadata"]
    assert (shown["default-permissions"], shown["user-permissions"], shown["file-type"]) == (0o644, {"root": 7}, 3)
    assert set(shown) == {"default-permissions", "user-permissions", "file-type", "modification-time", "creator"}
    outcome = differ.run(envelope, Inputs.of(case))
    assert (outcome.python, outcome.c) == ("unsupported", "unsupported")


@pytest.mark.parametrize("bad", [{5: 4}, {6: 1_700_000_000}, {2: {}}, {8: [1]}, {1: -1}])
def test_malformed_component_metadata_refused_by_the_strict_decoder(bad: dict[int, object]) -> None:
    from fwsign import cbor
    from fwsign.errors import DecodeError

    envelope = encode(_case((20, Params(((30, cbor.dumps(bad)),)))))
    with pytest.raises(DecodeError) as err:
        decode_envelope(envelope)
    assert err.value.reason == "malformed" and "component-metadata" in str(err.value)
