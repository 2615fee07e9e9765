"""Hypothesis strategies for correctly signed SUIT envelopes (the grammar of
draft-ietf-suit-manifest section 8 and docs/processing-model.md).

Most cases start from the shape of a real release (parameters and identity checks in the
shared sequence, image-match in validate, fetch in install, invoke) and then perturb it:
commands dropped, random commands inserted, nested try-each and run-sequence, values that
match the device or not. So a fair share verifies and the rest fail for one reason at a
time, which is what makes a disagreement readable. Every choice shrinks towards the
simpler alternative (listed first).
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from .build import (
    ALGS,
    CLASS,
    DEVICE,
    IMAGE,
    OTHER_CLASS,
    OTHER_DEVICE,
    OTHER_IMAGE,
    OTHER_VENDOR,
    PATCH,
    SHA256,
    SIGNERS,
    UNIMPLEMENTED_ALG,
    VENDOR,
    Block,
    Case,
    CopyParams,
    DeviceUM,
    Digest,
    Multi,
    Params,
    Seq,
    TryEach,
    VersionParam,
    WaitParam,
    Wrapped,
    kind_of,
    sha256,
)

T = TypeVar("T")
Draw = st.DrawFn

REP = (0, 15, 2, 1, 3)  # reporting policies
CONDITIONS = (1, 2, 3, 24, 5, 6)
DIRECTIVES = (21, 23, 22, 18, 31)


def chance(draw: Draw, percent: int) -> bool:
    """True with about ``percent`` % probability; shrinks to False."""
    return draw(st.integers(0, 99)) >= 100 - percent


def pick(draw: Draw, options: list[tuple[int, T]]) -> T:
    """A weighted choice; shrinks towards the first option."""
    total = sum(w for w, _ in options)
    n = draw(st.integers(0, total - 1))
    for w, v in options:
        if n < w:
            return v
        n -= w
    raise AssertionError("unreachable")


def digest_of(data: bytes) -> Digest:
    return Digest(SHA256, sha256(data))


def param(draw: Draw, code: int, n_components: int) -> object:
    """A value for parameter ``code``: usually one that fits the device and image, sometimes
    one that does not, rarely one of the wrong type."""
    if chance(draw, 2):
        return pick(draw, [(1, "wrong-type"), (1, 7), (1, b"\x01")])
    if code == 1:
        return pick(draw, [(8, VENDOR), (2, OTHER_VENDOR)])
    if code == 2:
        return pick(draw, [(8, CLASS), (2, OTHER_CLASS)])
    if code == 24:
        return pick(draw, [(6, DEVICE), (3, OTHER_DEVICE)])
    if code == 3:
        return pick(draw, [(8, digest_of(IMAGE)), (2, digest_of(OTHER_IMAGE))])
    if code == 14:
        return pick(draw, [(8, len(IMAGE)), (2, len(IMAGE) + 1)])
    if code == 5:
        return pick(draw, [(1, 0), (1, 1)])
    if code == 13:
        return pick(draw, [(1, True), (1, False)])
    if code == 18:
        return pick(draw, [(3, IMAGE), (1, b"other content")])
    if code == 21:
        return pick(draw, [(4, "#fw"), (4, "https://fw.example.com/app.bin"), (1, "#extra"), (1, "#absent")])
    if code == 22:
        return draw(st.integers(0, n_components))
    if code == 19:
        # encryption-info: a COSE_Encrypt-like bstr nobody can decrypt
        return bytes.fromhex("d8608443a10101a1054c000102030405060708090a0bf6818341a0a1012180")
    if code == 12:
        return pick(draw, [(1, False), (1, True)])
    if code == DELTA_INFO:
        return delta_info(draw)
    if code in UM_PARAM_CODES:
        return um_param(draw, code)
    raise AssertionError(code)


#: fwsign's delta-info parameter (docs/delta.md, processing model section 15).
DELTA_INFO = -257


def delta_info(draw: Draw) -> object:
    """A delta-info: usually naming the generated patch (or an image served as if it were
    one), sometimes another format, digest algorithm or shape."""
    kind = pick(draw, [(6, "patch"), (2, "image"), (1, "format"), (1, "sha384"), (1, "short"), (1, "size")])
    if kind == "patch":
        return Wrapped([1, len(PATCH), [SHA256, sha256(PATCH)]])
    if kind == "image":
        return Wrapped([1, len(IMAGE), [SHA256, sha256(IMAGE)]])
    if kind == "format":
        return Wrapped([2, len(PATCH), [SHA256, sha256(PATCH)]])
    if kind == "sha384":
        return Wrapped([1, len(PATCH), [-43, bytes(48)]])
    if kind == "short":
        return Wrapped([1, len(PATCH)])
    return Wrapped([1, 1 << 32, [SHA256, sha256(PATCH)]])


PARAM_CODES = (1, 2, 3, 14, 21, 13, 24, 5, 18, 22, 19, 12, DELTA_INFO)


def params(draw: Draw, n_components: int, codes: tuple[int, ...] | None = None) -> Params:
    if codes is None:
        n = draw(st.integers(1, 4))
        chosen = draw(st.lists(st.sampled_from(PARAM_CODES), min_size=n, max_size=n, unique=True))
        codes = tuple(chosen)
    items = tuple((c, param(draw, c, n_components)) for c in codes)
    canonical = not (len(items) > 1 and chance(draw, 3))
    return Params(items, canonical)


def component_index(draw: Draw, n: int) -> object:
    kind = pick(draw, [(5, "uint"), (2, "true"), (2, "list"), (1, "out")])
    if kind == "uint":
        return draw(st.integers(0, n - 1))
    if kind == "true":
        return True
    if kind == "list":
        return draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    return pick(draw, [(2, n), (1, [0, n]), (1, [])])


#: Deepest try-each / run-sequence generated: one past the device's limit of 3.
DEVICE_NEST_GEN = 3


def command(draw: Draw, n: int, depth: int) -> tuple[int, object]:
    """One random command; try-each and run-sequence nest (up to one level past the device's limit)."""
    nest = 0 if depth > DEVICE_NEST_GEN else 8 if depth < 2 else 3
    kind = pick(draw, [(30, "condition"), (14, "directive"), (18, "override"), (6, "set"), (8, "index"),
                       (nest, "try"), (nest // 2 + 1 if nest else 0, "run"), (1, "abort"),
                       (12, "um")])
    if kind == "um":
        return um_command(draw, n)
    if kind == "condition":
        return draw(st.sampled_from(CONDITIONS)), draw(st.sampled_from(REP))
    if kind == "directive":
        return draw(st.sampled_from(DIRECTIVES)), draw(st.sampled_from(REP))
    if kind in ("override", "set"):
        return (20 if kind == "override" else 19), params(draw, n, um_codes(draw))
    if kind == "index":
        return 12, component_index(draw, n)
    if kind == "abort":
        return 14, 0
    if kind == "run":
        return 32, sequence(draw, n, depth + 1, soft=True)
    count = pick(draw, [(6, 2), (3, 3), (1, 1)])
    options = tuple(sequence(draw, n, depth + 1, soft=True) for _ in range(count))
    nil = chance(draw, 30)
    return 15, TryEach(options, nil, nil_misplaced=count >= 2 and chance(draw, 2))


def sequence(draw: Draw, n: int, depth: int, soft: bool = False, base: tuple[tuple[int, object], ...] = ()) -> Seq:
    """``base`` perturbed: each of its commands kept with 92 % probability, 0-3 random
    commands inserted. A nested sequence (``soft``) may set soft-failure first; rarely a
    sequence comes out empty (malformed)."""
    cmds = [c for c in base if not chance(draw, 8)]
    inserts = draw(st.integers(0, 3)) if depth else pick(draw, [(4, 0), (3, 1), (2, 2)])
    for _ in range(inserts):
        cmds.insert(draw(st.integers(0, len(cmds))), command(draw, n, depth))
    if soft and chance(draw, 35):
        cmds.insert(0, (20, Params(((13, draw(st.booleans())),))))
    if not cmds and not chance(draw, 3):
        cmds.append(command(draw, n, depth))
    return Seq(tuple(cmds))


def block(draw: Draw) -> Block:
    if chance(draw, 3):
        return Block("unknown-alg", UNIMPLEMENTED_ALG, pick(draw, [(1, "none"), (1, "unknown")]))
    # p256, ed25519, hmac, hss-lms, ml-dsa-44, then the foreign keys of the same types; the
    # post-quantum signatures (1.3 and 2.4 KB) are rarer, most envelopes must fit 4 KiB
    signer = pick(draw, [(5, SIGNERS[0]), (4, SIGNERS[1]), (3, SIGNERS[2]), (2, SIGNERS[3]), (1, SIGNERS[4]),
                         (1, SIGNERS[5]), (1, SIGNERS[6]), (1, SIGNERS[7]), (1, SIGNERS[8]), (1, SIGNERS[9])])
    alg = draw(st.sampled_from(ALGS[kind_of(signer)]))
    kid = pick(draw, [(6, "own"), (3, "none"), (1, "trusted"), (1, "other"), (1, "unknown")])
    return Block(signer, alg, kid, corrupt=chance(draw, 8))


@st.composite
def cases(draw: Draw) -> Case:
    n = pick(draw, [(6, 1), (3, 2), (2, 3), (1, 4), (1, 5)])
    components = tuple((bytes([i]),) if i or not chance(draw, 10) else (b"\x00", b"app") for i in range(n))
    standard = (20, Params(((1, VENDOR), (2, CLASS), (3, digest_of(IMAGE)), (14, len(IMAGE))))), (1, 15), (2, 15)
    if chance(draw, 25):  # update management: its parameters set with the identity ones
        standard = (standard[0], (20, params(draw, n, um_codes(draw, always=True))), *standard[1:])
    shared = sequence(draw, n, 0, base=standard) if not chance(draw, 12) else None
    members: list[tuple[int, Seq]] = []
    uri = pick(draw, [(1, "#fw"), (1, "https://fw.example.com/app.bin")])
    templates: list[tuple[int, int, tuple[tuple[int, object], ...]]] = [
        (16, 20, ((20, Params(((21, uri),))), (21, 2))),
        (20, 50, ((20, Params(((21, uri),))), (21, 2), (3, 15))),
        (7, 93, ((3, 15),)),
        (8, 20, ((3, 15),)),
        (9, 50, ((23, 2),)),
    ]
    patch_weight = 1
    if n >= 2 and chance(draw, 30):
        patch_weight = 8  # the payload is then mostly the patch
        # a delta release (docs/delta.md): check the source (component 1, the running image),
        # then fetch the patch into component 0 from it
        templates[1] = (20, 60, ((12, 1), (20, Params(((3, digest_of(IMAGE)), (14, len(IMAGE))))), (3, 15), (12, 0),
                                 (20, Params(((21, uri), (22, 1), (DELTA_INFO, delta_info(draw))))), (21, 2)))
    for key, percent, base in templates:
        if chance(draw, percent):
            members.append((key, sequence(draw, n, 0, base=base)))
    severed = tuple((k, pick(draw, [(4, "inline"), (3, "present"), (2, "absent"), (1, "wrong")]))
                    for k, _ in members if k in (16, 20))
    payloads: list[tuple[str, str]] = []
    if chance(draw, 45):
        payloads.append(("#fw", pick(draw, [(4, "image"), (1, "other"), (patch_weight, "patch")])))
    if chance(draw, 5):
        payloads.append(("#extra", "image"))
    blocks = tuple(block(draw) for _ in range(pick(draw, [(5, 1), (3, 2), (2, 3), (1, 4), (1, 5)])))
    counter = pick(draw, [(3, 0), (1, 2)])
    return Case(
        components=components,
        shared=shared,
        members=tuple(sorted(members)),
        severed=severed,
        payloads=tuple(payloads),
        blocks=blocks,
        sequence_number=pick(draw, [(4, 3), (1, 1), (1, 2)]),
        noncanonical=pick(draw, [(40, ""), (1, "envelope"), (1, "manifest"), (1, "common")]),
        tagged=chance(draw, 30),
        image=pick(draw, [(3, "image"), (2, None), (1, "other"), (patch_weight, "patch")]),
        identity=not chance(draw, 25),
        counter=counter,
        set_version=um_set_version(draw),
        um=um_device(draw),
    )


# -- update management (docs/processing-model.md section 14) ----------------------------

#: The device's time, battery and version in the device comparison (tests/gen/device.py).
UM_NOW = 1_700_000_000
UM_BATTERY = 1000
UM_VERSION = (1, 2, 0)
UM_CONDITIONS = (4, 25, 26, 27, 28)
UM_PARAM_CODES = (4, 26, 27, 28, 29)


def um_codes(draw: Draw, always: bool = False) -> tuple[int, ...] | None:
    """Parameter codes for an override: None (the core's random choice) or some
    update-management ones."""
    if not always and not chance(draw, 25):
        return None
    n = draw(st.integers(1, 3))
    return tuple(draw(st.lists(st.sampled_from(UM_PARAM_CODES), min_size=n, max_size=n, unique=True)))


def um_version(draw: Draw) -> tuple[int, ...]:
    size = pick(draw, [(20, 0), (1, -1), (1, 9)])
    if size == -1:
        return ()
    if size == 9:
        return tuple(range(9))
    return tuple(draw(st.lists(st.integers(-3, 3), min_size=1, max_size=4)))


def um_param(draw: Draw, code: int) -> object:
    if code == 4:  # use-before: after the device's time, before it, or the largest uint
        return pick(draw, [(4, UM_NOW + 3600), (3, UM_NOW - 3600), (1, UM_NOW), (1, (1 << 64) - 1)])
    if code == 26:  # minimum-battery in mWh
        return pick(draw, [(4, UM_BATTERY // 2), (3, UM_BATTERY * 2), (1, UM_BATTERY), (1, 0)])
    if code == 27:  # update-priority: an int of either sign
        return pick(draw, [(3, -1), (2, 0), (2, 5), (1, -(1 << 40))])
    if code == 28:
        if chance(draw, 4):
            return pick(draw, [(1, b"\x01"), (1, b"\x81\x01")])  # not a version match
        comparison = pick(draw, [(10, draw(st.integers(1, 5))), (1, 0), (1, 6)])
        return VersionParam(comparison, um_version(draw))
    if chance(draw, 4):  # wait-info
        return pick(draw, [(1, b"\xa0"), (1, b"\x01")])  # empty map, not a map
    events: list[tuple[int, object]] = []
    if chance(draw, 60):
        events.append((1, pick(draw, [(3, -1), (2, 5)])))
    if chance(draw, 50) or not events:
        events.append((2, pick(draw, [(3, UM_BATTERY // 2), (2, UM_BATTERY * 2), (1, -5)])))
    if chance(draw, 5):
        events.append((pick(draw, [(2, 5), (1, 3), (1, 8), (1, 77)]), 10))  # no source on this device
    if chance(draw, 3):
        events[0] = (events[0][0], "later")  # wrong type
    return WaitParam(tuple(events))


def um_command(draw: Draw, n: int) -> tuple[int, object]:
    kind = pick(draw, [(10, "condition"), (4, "wait"), (3, "multi"), (3, "copy")])
    if kind == "condition":
        return draw(st.sampled_from(UM_CONDITIONS)), draw(st.sampled_from(REP))
    if kind == "wait":
        return 29, draw(st.sampled_from(REP))
    if kind == "multi":
        count = pick(draw, [(4, 1), (3, 2), (1, 0)])
        indices = sorted(set(draw(st.lists(st.integers(0, n - 1 if not chance(draw, 5) else n),
                                           min_size=count, max_size=count))))
        return 34, Multi(tuple((i, params(draw, n, um_codes(draw))) for i in indices),
                         canonical=not chance(draw, 3))
    count = pick(draw, [(4, 1), (3, 2), (1, 0)])
    sources = sorted(set(draw(st.lists(st.integers(0, n - 1 if not chance(draw, 5) else n),
                                       min_size=count, max_size=count))))
    entries: list[tuple[int, tuple[object, ...]]] = []
    for src in sources:
        labels: list[object] = list(draw(st.lists(st.sampled_from(PARAM_CODES + UM_PARAM_CODES),
                                                  min_size=1, max_size=3)))
        if chance(draw, 5):
            labels = pick(draw, [(2, []), (1, [13]), (1, [99]), (1, [-1]), (1, ["x"])])
        entries.append((src, tuple(labels)))
    return 35, CopyParams(tuple(entries), canonical=not chance(draw, 3))


def um_set_version(draw: Draw) -> tuple[int, ...] | None:
    return um_version(draw) if chance(draw, 20) else None


def um_device(draw: Draw) -> DeviceUM:
    """The device's inputs: time always (it has a clock), the rest present or not."""
    return DeviceUM(
        now=UM_NOW,
        battery=pick(draw, [(4, UM_BATTERY), (1, None)]),
        authorized=draw(st.booleans()),
        version=pick(draw, [(4, UM_VERSION), (1, None)]),
    )
