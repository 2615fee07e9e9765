"""A small, independent reading of what docs/processing-model.md requires a verifier to
refuse, over the structure the generator chose (not over bytes).

It only answers "must refuse" where that follows from the structure alone, whatever path
the run takes: a check that appears nowhere cannot have been made, and a malformed
structure that any accepting run must have read is malformed. It never claims a manifest must be accepted. So it is a
cross-check on both verifiers' acceptances, not a third implementation.
"""

from __future__ import annotations

from collections.abc import Iterator

from .build import (
    DEVICE_MAX_AUTH_BLOCKS,
    DEVICE_MAX_COMPONENTS,
    DEVICE_MAX_ENVELOPE,
    TRUSTED,
    Case,
    Multi,
    Params,
    Seq,
    TryEach,
    VersionParam,
    WaitParam,
)
from .rawcbor import Wrapped

#: Parameter -> the Python types its value may have (section 7 "Parameters and their types").
_TYPES: dict[int, tuple[type, ...]] = {
    1: (bytes,), 2: (bytes,), 24: (bytes,), 3: (object,), 5: (int,), 14: (int,), 22: (int,),
    12: (bool,), 13: (bool,), 18: (bytes,), 19: (bytes,), 21: (str,),
    -257: (bytes, Wrapped),  # delta-info (docs/delta.md): a bstr, the generator writes it as bstr .cbor
    # update management (section 14.2): use-before, minimum-battery (uint), priority (int)
    4: (int,), 26: (int,), 27: (int,),
}


def walk(seq: Seq) -> Iterator[tuple[int, object, int]]:
    """Every command of ``seq`` and of the sequences nested in it: (code, argument, nesting)."""
    stack: list[tuple[Seq, int]] = [(seq, 0)]
    while stack:
        s, depth = stack.pop()
        for code, arg in s.cmds:
            yield code, arg, depth
            if isinstance(arg, TryEach):
                stack += [(o, depth + 1) for o in arg.options]
            elif isinstance(arg, Seq):
                stack.append((arg, depth + 1))


def nested(seq: Seq) -> Iterator[Seq]:
    yield seq
    for _code, arg, _depth in walk(seq):
        if isinstance(arg, TryEach):
            yield from arg.options
        elif isinstance(arg, Seq):
            yield arg


def wrong_type(code: int, value: object) -> bool:
    if code == 3:  # a bstr when set (a Digest is encoded as one); its contents are judged where used
        return not (hasattr(value, "alg") or isinstance(value, bytes))
    if code in (28, 29):  # a bstr when set; its contents are judged where used
        return not isinstance(value, (bytes, VersionParam, WaitParam))
    allowed = _TYPES[code]
    if bool in allowed:
        return not isinstance(value, bool)
    if int in allowed:
        return isinstance(value, bool) or not isinstance(value, int)
    return not isinstance(value, allowed)


def must_refuse(case: Case, envelope_size: int) -> list[str]:
    """The model's rules this case breaks, each "rule: why" (empty: no rule says refuse)."""
    out: list[str] = []
    visible = [(k, s) for k, s in case.members if case.severed_mode(k) in ("inline", "present")]
    seen = ([case.shared] if case.shared is not None else []) + [s for _k, s in visible]

    # structure: section 3 (canonical maps), section 8 (sequences, try-each), section 7 (types).
    # Section 2 judges a sequence's CBOR before its result counts and a command when it is
    # reached, so only what an accepted manifest certainly ran can be judged from the
    # structure alone: every top-level command of every sequence (a top-level failure is a
    # refusal), and, as whole sequences, the argument of a top-level run-sequence and the
    # first option of a top-level try-each.
    if case.noncanonical:
        out.append(f"3 canonical: the {case.noncanonical} map is out of order")
    for top in seen:
        ran = [top]
        for _code, arg in top.cmds:
            if isinstance(arg, TryEach) and arg.options:
                ran.append(arg.options[0])
            elif isinstance(arg, Seq):
                ran.append(arg)
        for s in ran:
            if not s.cmds:
                out.append("8 empty: a command sequence is empty")
            out += ["3 canonical: a parameter map is out of order"
                    for _c, arg in s.cmds if isinstance(arg, Params) and not arg.canonical]
        for code, arg in top.cmds:
            if isinstance(arg, Params):
                out += [f"7 types: parameter {p} = {v!r}" for p, v in arg.items if wrong_type(p, v)]
                if any(p == 13 for p, _v in arg.items):
                    out.append("8 soft-failure: set outside a try-each option or run-sequence (abort)")
            if isinstance(arg, TryEach) and (len(arg.options) < 2 or arg.nil_misplaced):
                out.append("8 try-each: fewer than two options, or nil not last")
            if code == 14:
                out.append("7 abort: abort at the top level of a sequence")
    # limits: section 10
    if len(case.components) > DEVICE_MAX_COMPONENTS:
        out.append("10 limits: components")
    if len(case.blocks) > DEVICE_MAX_AUTH_BLOCKS:
        out.append("10 limits: authentication blocks")
    if envelope_size > DEVICE_MAX_ENVELOPE:
        out.append("10 limits: envelope bytes")
    # integrated payloads: section 9 (a uri in any sequence, even a severed one we cannot see)
    every = [*([case.shared] if case.shared else []), *(s for _k, s in case.members)]
    uris = {v for s in every for _c, arg, _d in walk(s) if isinstance(arg, Params) for p, v in arg.items if p == 21}
    uris |= {v for s in every for _c, arg, _d in walk(s) if isinstance(arg, Multi)  # override-multiple
             for _i, ps in arg.entries for p, v in ps.items if p == 21}
    out += [f"9 payloads: {name} is named by no uri" for name, _w in case.payloads if name not in uris]
    # authentication: section 5
    good = [b for b in case.blocks if b.signer in TRUSTED and not b.corrupt and b.kid in ("own", "none", "trusted")]
    if not good:
        out.append("5 authentication: no block verifies with a trusted key")
    for b in case.blocks:
        names_trusted = b.kid == "trusted" or (b.kid == "own" and b.signer in TRUSTED)
        if names_trusted and (b.corrupt or b.signer not in TRUSTED):
            out.append(f"5 authentication: a block names a trusted key and does not verify ({b.signer})")
    # severed members (section 9), rollback (section 2 step 6)
    if any(mode == "wrong" for _k, mode in case.severed):
        out.append("2.5 severed: a member in the envelope does not match its digest")
    if case.sequence_number < case.counter:
        out.append("2.6 rollback")
    # required checks: section 6
    validate = case.member(7)
    if validate is None:
        out.append("6 R0: no validate sequence")
    shared_codes = {c for c, _a, _d in walk(case.shared)} if case.shared is not None else set()
    all_codes = set(shared_codes)
    for _k, s in visible:
        all_codes |= {c for c, _a, _d in walk(s)}
    for key, s in visible:
        codes = shared_codes | {c for c, _a, _d in walk(s)}
        if 1 not in codes or 2 not in codes:
            out.append(f"6 R1: sequence {key} runs with no vendor or no class condition anywhere")
    tops = [case.shared] if case.shared is not None else []
    if any(c == 23 for t in [*tops, *(s for _k, s in visible)] for c, _a in t.cmds) and not all_codes & {3, 6}:
        out.append("6 R2: invoke at the top level and no image-match or check-content anywhere")
    # matched[c] lives for the whole run (section 4): payload-fetch and install run before validate
    before = [s for k, s in visible if k in (16, 20, 7)]
    if validate is not None and not (shared_codes | {c for s in before for c, _a, _d in walk(s)}) & {3, 6}:
        out.append("6 R3: no image-match or check-content anywhere up to the end of validate")
    return out
