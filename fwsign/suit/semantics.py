"""What a manifest asserts: a static walk of its command sequences.

A host verifier cannot run fetch or invoke, but it can establish what the manifest
would check on a device: which vendor and class identifiers its conditions compare,
which digest and size each component's image must have, and where payloads come from.
The walk follows the draft's processing model (section 6): the shared sequence runs
before each command sequence, set-component-index selects components, override-
parameters / set-parameters update their parameters, and a condition compares the
parameters of every selected component. try-each forks the walk, one branch per
alternative; the number of live branches is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ..errors import LimitError
from .codepoints import Command, ManifestKey, Parameter, display
from .model import CommandSequence, Digest, Manifest, Parameters, ParamValue, TryEach

MAX_BRANCHES = 64

# Plain int code points for the walk (a compiled build keeps them as native constants).
_SET_COMPONENT_INDEX: Final = int(Command.DIRECTIVE_SET_COMPONENT_INDEX)
_OVERRIDE_PARAMETERS: Final = int(Command.DIRECTIVE_OVERRIDE_PARAMETERS)
_SET_PARAMETERS: Final = int(Command.DIRECTIVE_SET_PARAMETERS)
_TRY_EACH: Final = int(Command.DIRECTIVE_TRY_EACH)
_RUN_SEQUENCE: Final = int(Command.DIRECTIVE_RUN_SEQUENCE)
_CONDITION_COMPONENT_SLOT: Final = int(Command.CONDITION_COMPONENT_SLOT)
_CONDITION_IMAGE_MATCH: Final = int(Command.CONDITION_IMAGE_MATCH)
_DIRECTIVE_FETCH: Final = int(Command.DIRECTIVE_FETCH)
_P_COMPONENT_SLOT: Final = int(Parameter.COMPONENT_SLOT)
_P_IMAGE_DIGEST: Final = int(Parameter.IMAGE_DIGEST)
_P_IMAGE_SIZE: Final = int(Parameter.IMAGE_SIZE)
_P_URI: Final = int(Parameter.URI)

#: The manifest's command sequences in processing order, with their paths.
_SEQUENCES: Final = tuple((int(k), f"manifest.{display(k)}") for k in (
    ManifestKey.PAYLOAD_FETCH, ManifestKey.INSTALL, ManifestKey.VALIDATE, ManifestKey.LOAD, ManifestKey.INVOKE))


@dataclass(frozen=True, init=False)
class Observation:
    """A command executed for one component, with that component's parameters then."""

    code: int
    component: int
    params: tuple[tuple[int, ParamValue], ...]
    where: str

    def __init__(self, code: int, component: int, params: tuple[tuple[int, ParamValue], ...], where: str) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "component", component)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "where", where)

    def param(self, code: int) -> ParamValue | None:
        for k, v in self.params:
            if k == code:
                return v
        return None


class _State:
    """One path of the walk: selected components and their parameters."""

    __slots__ = ("indices", "params", "slots")

    def __init__(self, indices: tuple[int, ...], params: list[dict[int, ParamValue]],
                 slots: dict[int, ParamValue] | None = None) -> None:
        self.indices = indices
        self.params = params
        #: Slot a condition-component-slot on this path has established, per component: the
        #: device is in one slot, so a later condition naming another slot cannot pass.
        self.slots: dict[int, ParamValue] = {} if slots is None else slots

    def copy(self) -> _State:
        return _State(self.indices, [dict(p) for p in self.params], dict(self.slots))


@dataclass(frozen=True, init=False)
class ImageCandidate:
    """One (digest, size) pair the manifest accepts for a component's image."""

    digest: Digest
    size: int | None
    slot: int | None
    where: str

    def __init__(self, digest: Digest, size: int | None, slot: int | None, where: str) -> None:
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "slot", slot)
        object.__setattr__(self, "where", where)


@dataclass(frozen=True, init=False)
class Analysis:
    observations: tuple[Observation, ...]
    n_components: int
    #: Sequences that could not be walked because they are severed and absent.
    missing: tuple[str, ...] = field(default=())

    def __init__(self, observations: tuple[Observation, ...], n_components: int, missing: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "observations", observations)
        object.__setattr__(self, "n_components", n_components)
        object.__setattr__(self, "missing", missing)

    def of(self, code: int, component: int | None = None) -> list[Observation]:
        return [
            o for o in self.observations if o.code == code and (component is None or o.component == component)
        ]

    def image_candidates(self, component: int) -> list[ImageCandidate]:
        """Digest/size pairs checked by image-match for ``component``.

        Falls back to digests merely set as parameters when no image-match condition
        compares them (e.g. a manifest that only copies and invokes).
        """
        out: list[ImageCandidate] = []
        seen: set[tuple[Digest, int | None, object]] = set()
        obs = self.of(_CONDITION_IMAGE_MATCH, component) or [
            o for o in self.observations if o.component == component
        ]
        for o in obs:
            d = o.param(_P_IMAGE_DIGEST)
            if not isinstance(d, Digest):
                continue
            size = o.param(_P_IMAGE_SIZE)
            size_i = size if isinstance(size, int) and not isinstance(size, bool) else None
            slot = o.param(_P_COMPONENT_SLOT)
            key = (d, size_i, slot)
            if key in seen:
                continue
            seen.add(key)
            slot_i = slot if isinstance(slot, int) and not isinstance(slot, bool) else None
            out.append(ImageCandidate(d, size_i, slot_i, o.where))
        return out

    def identifiers(self, condition: Command, param: Parameter) -> list[tuple[int, ParamValue | None, str]]:
        """(component, compared value, where) for each execution of an identity condition."""
        return [(o.component, o.param(param), o.where) for o in self.of(condition)]

    def uris(self, component: int) -> list[str]:
        out: list[str] = []
        for o in self.observations:
            if o.component == component and o.code == _DIRECTIVE_FETCH:
                uri = o.param(_P_URI)
                if isinstance(uri, str) and uri not in out:
                    out.append(uri)
        return out


def analyze(manifest: Manifest, severed: dict[int, CommandSequence] | None = None) -> Analysis:
    """Walk every command sequence present (inline or supplied severed ones)."""
    n = len(manifest.common.components)
    observations: list[Observation] = []
    missing: list[str] = []
    sequences: list[tuple[str, CommandSequence]] = []
    values = (manifest.payload_fetch, manifest.install, manifest.validate, manifest.load, manifest.invoke)
    for (key, name), value in zip(_SEQUENCES, values, strict=True):
        if isinstance(value, CommandSequence):
            sequences.append((name, value))
        elif isinstance(value, Digest):
            seq = (severed or {}).get(key)
            if seq is None:
                missing.append(name)
            else:
                sequences.append((name, seq))
    shared = manifest.common.shared_sequence or CommandSequence()
    if not sequences:
        sequences = [("", CommandSequence())]
    # The shared sequence runs before each sequence from the same fresh state, so it is
    # walked once; each sequence continues from copies of the states it ends in.
    shared_obs: list[Observation] = []
    shared_states = _walk(shared, [_State((0,), [{} for _ in range(n)])], shared_obs,
                          "manifest.common.shared-sequence", n)
    last = len(sequences) - 1
    for i, (name, seq) in enumerate(sequences):
        observations.extend(shared_obs)
        if seq.commands:
            states = shared_states if i == last else [st.copy() for st in shared_states]
            _walk(seq, states, observations, name, n)
    return Analysis(tuple(observations), n, tuple(missing))


def _walk(
    seq: CommandSequence, states: list[_State], obs: list[Observation], where: str, n: int
) -> list[_State]:
    for i, cmd in enumerate(seq.commands):
        here = f"{where}[{2 * i}]"
        nxt: list[_State] = []
        for st in states:
            nxt.extend(_step(cmd.code, cmd.arg, st, obs, here, n))
        if len(nxt) > MAX_BRANCHES:
            raise LimitError(f"more than {MAX_BRANCHES} try-each branches", path=here)
        states = nxt
    return states


def _step(code: int, arg: object, st: _State, obs: list[Observation], where: str, n: int) -> list[_State]:
    if code == _SET_COMPONENT_INDEX:
        if arg is True:
            st.indices = tuple(range(n))
        elif isinstance(arg, int) and not isinstance(arg, bool):
            st.indices = (arg,)
        elif isinstance(arg, tuple):
            st.indices = tuple(int(a) for a in arg)
        return [st]
    if code == _OVERRIDE_PARAMETERS and isinstance(arg, Parameters):
        for idx in st.indices:
            st.params[idx].update(arg.items)
        return [st]
    if code == _SET_PARAMETERS and isinstance(arg, Parameters):
        for idx in st.indices:
            for k, v in arg.items:
                st.params[idx].setdefault(k, v)
        return [st]
    if code == _TRY_EACH and isinstance(arg, TryEach):
        out: list[_State] = []
        for j, alt in enumerate(arg.alternatives):
            out.extend(_walk(alt, [st.copy()], obs, f"{where}[{j}]", n))
        if arg.nil_fallback:
            out.append(st.copy())
        return out
    if code == _RUN_SEQUENCE and isinstance(arg, CommandSequence):
        return _walk(arg, [st], obs, where, n)
    if code == _CONDITION_COMPONENT_SLOT:
        # A path on which two slot conditions name different slots for one component
        # cannot run on a device (the second condition fails): it is pruned, as a failed
        # condition ends a try-each alternative.
        for idx in st.indices:
            slot = st.params[idx].get(_P_COMPONENT_SLOT)
            if slot is not None:
                if idx in st.slots and st.slots[idx] != slot:
                    return []
                st.slots[idx] = slot
    for idx in st.indices:
        obs.append(Observation(code, idx, tuple(sorted(st.params[idx].items())), where))
    return [st]
