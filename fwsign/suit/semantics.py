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

from ..errors import LimitError
from .codepoints import Command, ManifestKey, Parameter, display
from .model import CommandSequence, Digest, Manifest, Parameters, ParamValue, TryEach

MAX_BRANCHES = 64


@dataclass(frozen=True)
class Observation:
    """A command executed for one component, with that component's parameters then."""

    code: int
    component: int
    params: tuple[tuple[int, ParamValue], ...]
    where: str

    def param(self, code: int) -> ParamValue | None:
        for k, v in self.params:
            if k == code:
                return v
        return None


@dataclass
class _State:
    indices: tuple[int, ...]
    params: list[dict[int, ParamValue]]
    #: Slot a condition-component-slot on this path has established, per component: the
    #: device is in one slot, so a later condition naming another slot cannot pass.
    slots: dict[int, ParamValue] = field(default_factory=dict)

    def copy(self) -> _State:
        return _State(self.indices, [dict(p) for p in self.params], dict(self.slots))


@dataclass(frozen=True)
class ImageCandidate:
    """One (digest, size) pair the manifest accepts for a component's image."""

    digest: Digest
    size: int | None
    slot: int | None
    where: str


@dataclass(frozen=True)
class Analysis:
    observations: tuple[Observation, ...]
    n_components: int
    #: Sequences that could not be walked because they are severed and absent.
    missing: tuple[str, ...] = field(default=())

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
        obs = self.of(Command.CONDITION_IMAGE_MATCH, component) or [
            o for o in self.observations if o.component == component
        ]
        for o in obs:
            d = o.param(Parameter.IMAGE_DIGEST)
            if not isinstance(d, Digest):
                continue
            size = o.param(Parameter.IMAGE_SIZE)
            size_i = size if isinstance(size, int) and not isinstance(size, bool) else None
            slot = o.param(Parameter.COMPONENT_SLOT)
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
            if o.component == component and o.code == Command.DIRECTIVE_FETCH:
                uri = o.param(Parameter.URI)
                if isinstance(uri, str) and uri not in out:
                    out.append(uri)
        return out


def analyze(manifest: Manifest, severed: dict[int, CommandSequence] | None = None) -> Analysis:
    """Walk every command sequence present (inline or supplied severed ones)."""
    n = len(manifest.common.components)
    observations: list[Observation] = []
    missing: list[str] = []
    sequences: list[tuple[str, CommandSequence]] = []
    for key, value in (
        (ManifestKey.PAYLOAD_FETCH, manifest.payload_fetch),
        (ManifestKey.INSTALL, manifest.install),
        (ManifestKey.VALIDATE, manifest.validate),
        (ManifestKey.LOAD, manifest.load),
        (ManifestKey.INVOKE, manifest.invoke),
    ):
        name = f"manifest.{display(key)}"
        if isinstance(value, CommandSequence):
            sequences.append((name, value))
        elif isinstance(value, Digest):
            seq = (severed or {}).get(int(key))
            if seq is None:
                missing.append(name)
            else:
                sequences.append((name, seq))
    shared = manifest.common.shared_sequence or CommandSequence()
    if not sequences:
        sequences = [("", CommandSequence())]
    for name, seq in sequences:
        start = _State((0,), [{} for _ in range(n)])
        states = _walk(shared, [start], observations, "manifest.common.shared-sequence", n)
        if seq.commands:
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
    if code == Command.DIRECTIVE_SET_COMPONENT_INDEX:
        if arg is True:
            st.indices = tuple(range(n))
        elif isinstance(arg, int) and not isinstance(arg, bool):
            st.indices = (arg,)
        elif isinstance(arg, tuple):
            st.indices = tuple(int(a) for a in arg)
        return [st]
    if code == Command.DIRECTIVE_OVERRIDE_PARAMETERS and isinstance(arg, Parameters):
        for idx in st.indices:
            st.params[idx].update(arg.items)
        return [st]
    if code == Command.DIRECTIVE_SET_PARAMETERS and isinstance(arg, Parameters):
        for idx in st.indices:
            for k, v in arg.items:
                st.params[idx].setdefault(k, v)
        return [st]
    if code == Command.DIRECTIVE_TRY_EACH and isinstance(arg, TryEach):
        out: list[_State] = []
        for j, alt in enumerate(arg.alternatives):
            out.extend(_walk(alt, [st.copy()], obs, f"{where}[{j}]", n))
        if arg.nil_fallback:
            out.append(st.copy())
        return out
    if code == Command.DIRECTIVE_RUN_SEQUENCE and isinstance(arg, CommandSequence):
        return _walk(arg, [st], obs, where, n)
    if code == Command.CONDITION_COMPONENT_SLOT:
        # A path on which two slot conditions name different slots for one component
        # cannot run on a device (the second condition fails): it is pruned, as a failed
        # condition ends a try-each alternative.
        for idx in st.indices:
            slot = st.params[idx].get(Parameter.COMPONENT_SLOT)
            if slot is not None:
                if idx in st.slots and st.slots[idx] != slot:
                    return []
                st.slots[idx] = slot
    for idx in st.indices:
        obs.append(Observation(code, idx, tuple(sorted(st.params[idx].items())), where))
    return [st]
