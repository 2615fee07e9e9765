"""The SUIT processor: runs a manifest's command sequences over a device model.

This is the Python side of ``docs/processing-model.md``; ``bootloader-ref/src/interp.c``
is the C side, and the two follow the document rule for rule. The processor keeps the
state the model names (parameters per component, the selected components, soft-failure
per nested sequence, the identity checks made in the current sequence, and per
component whether its image was matched since its last write), evaluates conditions
against a :class:`DeviceModel`, and refuses manifests that would install or invoke
without the required checks (``missing-check``).

In host mode (``DeviceModel.host``) a condition whose input the model does not have is
*skipped* and counts as made, and directives are recorded but not executed; a device
never skips. Every command executed is recorded as an :class:`Observation`, and
:class:`Analysis` answers what the manifest asserted on the path it took (which
identifiers it compared, which digests, which URIs): ``inspect``, the release checks and
the verifier read that instead of walking the manifest a second way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ..cbor import FrozenMap, Tag
from ..errors import (
    AbortError,
    BatteryLow,
    DecodeError,
    Deferred,
    FwsignError,
    IdentityMismatch,
    ImageMatches,
    ImageMismatch,
    LimitError,
    MissingCheck,
    NotAuthorized,
    SeveredMemberMissing,
    UnsupportedError,
    UseBeforePassed,
    VersionMismatch,
)
from ..limits import DEFAULT_LIMITS, Limits
from .codepoints import FWSIGN_DELTA_INFO, Command, ManifestKey, Parameter, WaitEvent, display
from .decode import PROCESSOR_PARAMETERS, decode_digest, decode_version_match, decode_wait_info
from .model import (
    Broken,
    CommandSequence,
    Digest,
    Manifest,
    Parameters,
    ParamsByComponent,
    ParamValue,
    TryEach,
    VersionMatch,
)

# Plain int code points (native constants in a compiled build).
_VENDOR: Final = int(Command.CONDITION_VENDOR_IDENTIFIER)
_CLASS: Final = int(Command.CONDITION_CLASS_IDENTIFIER)
_DEVICE: Final = int(Command.CONDITION_DEVICE_IDENTIFIER)
_IMAGE_MATCH: Final = int(Command.CONDITION_IMAGE_MATCH)
_SLOT: Final = int(Command.CONDITION_COMPONENT_SLOT)
_CHECK_CONTENT: Final = int(Command.CONDITION_CHECK_CONTENT)
_ABORT: Final = int(Command.CONDITION_ABORT)
_SET_INDEX: Final = int(Command.DIRECTIVE_SET_COMPONENT_INDEX)
_SET_PARAMETERS: Final = int(Command.DIRECTIVE_SET_PARAMETERS)
_OVERRIDE: Final = int(Command.DIRECTIVE_OVERRIDE_PARAMETERS)
_TRY_EACH: Final = int(Command.DIRECTIVE_TRY_EACH)
_RUN_SEQUENCE: Final = int(Command.DIRECTIVE_RUN_SEQUENCE)
_FETCH: Final = int(Command.DIRECTIVE_FETCH)
_COPY: Final = int(Command.DIRECTIVE_COPY)
_WRITE: Final = int(Command.DIRECTIVE_WRITE)
_SWAP: Final = int(Command.DIRECTIVE_SWAP)
_INVOKE: Final = int(Command.DIRECTIVE_INVOKE)

_P_VENDOR: Final = int(Parameter.VENDOR_IDENTIFIER)
_P_CLASS: Final = int(Parameter.CLASS_IDENTIFIER)
_P_DEVICE: Final = int(Parameter.DEVICE_IDENTIFIER)
_P_DIGEST: Final = int(Parameter.IMAGE_DIGEST)
_P_SLOT: Final = int(Parameter.COMPONENT_SLOT)
_P_SOFT_FAILURE: Final = int(Parameter.SOFT_FAILURE)
_P_SIZE: Final = int(Parameter.IMAGE_SIZE)
_P_CONTENT: Final = int(Parameter.CONTENT)
_P_URI: Final = int(Parameter.URI)
_P_SOURCE: Final = int(Parameter.SOURCE_COMPONENT)
_P_DELTA: Final = FWSIGN_DELTA_INFO

#: Reasons of a failed condition: the only failures soft-failure turns into "go on".
CONDITION_FAILURES: Final = frozenset(
    {"vendor-mismatch", "class-mismatch", "device-mismatch", "image-mismatch", "abort",
     # update management (docs/processing-model.md section 14.3)
     "use-before-passed", "image-matches", "battery-low", "not-authorized", "version-mismatch"})

# Update management (docs/processing-model.md section 14).
_USE_BEFORE: Final = int(Command.CONDITION_USE_BEFORE)
_IMAGE_NOT_MATCH: Final = int(Command.CONDITION_IMAGE_NOT_MATCH)
_MIN_BATTERY: Final = int(Command.CONDITION_MINIMUM_BATTERY)
_AUTHORIZED: Final = int(Command.CONDITION_UPDATE_AUTHORIZED)
_VERSION: Final = int(Command.CONDITION_VERSION)
_WAIT: Final = int(Command.DIRECTIVE_WAIT)
_OVERRIDE_MULTIPLE: Final = int(Command.DIRECTIVE_OVERRIDE_MULTIPLE)
_COPY_PARAMS: Final = int(Command.DIRECTIVE_COPY_PARAMS)
_UM_CONDITIONS: Final = frozenset({_USE_BEFORE, _IMAGE_NOT_MATCH, _MIN_BATTERY, _AUTHORIZED, _VERSION})
_P_USE_BEFORE: Final = int(Parameter.USE_BEFORE)
_P_BATTERY: Final = int(Parameter.MINIMUM_BATTERY)
_P_PRIORITY: Final = int(Parameter.UPDATE_PRIORITY)
_P_VERSION: Final = int(Parameter.VERSION)
_P_WAIT: Final = int(Parameter.WAIT_INFO)
_EV_AUTHORIZATION: Final = int(WaitEvent.AUTHORIZATION)
#: Parameters copy-params may copy: those stored per component (soft-failure is not), less
#: delta-info, which describes the patch of one fetch (model section 15: `unsupported`).
_COPYABLE: Final = PROCESSOR_PARAMETERS - {_P_SOFT_FAILURE, _P_DELTA}


def version_compare(mine: tuple[int, ...], match: VersionMatch) -> bool:
    """Whether a component's version satisfies a version match (model section 14.3): the
    manifest's integers in order, the first difference decides, the component's version
    padded with zeros where it is shorter."""
    cmp = 0
    for i, want in enumerate(match.value):
        have = mine[i] if i < len(mine) else 0
        if have != want:
            cmp = 1 if have > want else -1
            break
    kind = match.comparison
    return (cmp > 0 if kind == 1 else cmp >= 0 if kind == 2 else cmp == 0 if kind == 3
            else cmp <= 0 if kind == 4 else cmp < 0)

_IDENTITY_BIT: Final = {_VENDOR: 1, _CLASS: 2}
_BOTH_IDENTITIES: Final = 3
_ACTS: Final = frozenset({_FETCH, _COPY, _WRITE, _SWAP, _INVOKE})
_WRITES: Final = frozenset({_FETCH, _COPY, _WRITE, _SWAP})
_IDENTITY: Final = {
    _VENDOR: (_P_VENDOR, "vendor", "vendor-mismatch"),
    _CLASS: (_P_CLASS, "class", "class-mismatch"),
    _DEVICE: (_P_DEVICE, "device", "device-mismatch"),
}

#: The manifest's command sequences in processing order (draft section 8.4.6).
SEQUENCE_ORDER: Final = (
    (int(ManifestKey.PAYLOAD_FETCH), "payload-fetch"),
    (int(ManifestKey.INSTALL), "install"),
    (int(ManifestKey.VALIDATE), "validate"),
    (int(ManifestKey.LOAD), "load"),
    (int(ManifestKey.INVOKE), "invoke"),
)
_VALIDATE: Final = int(ManifestKey.VALIDATE)

#: Small images are kept whole for check-content (its content parameter is a string of the
#: manifest, never larger than this).
CONTENT_LIMIT: Final = 64 * 1024


@dataclass(frozen=True, init=False)
class ImageFacts:
    """What the processor can know of one component's contents: size, digests, small bytes."""

    size: int
    digests: tuple[tuple[int, bytes], ...]
    data: bytes | None

    def __init__(self, size: int, digests: tuple[tuple[int, bytes], ...], data: bytes | None) -> None:
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "digests", digests)
        object.__setattr__(self, "data", data)

    def digest(self, alg: int) -> bytes | None:
        for a, value in self.digests:
            if a == alg:
                return value
        return None


class Expected:
    """A component's contents not yet read: each image-match or check-content of it is
    taken to pass, and what it compared is recorded. The caller then reads the contents
    and keeps the run only if every comparison holds (:meth:`held`); otherwise it runs
    again with the real :class:`ImageFacts`. The outcome is the same either way; the
    image is streamed after the sequences have run, not before."""

    __slots__ = ("checks", "excluded")

    def __init__(self) -> None:
        #: (digest or None, size or None, content or None) per comparison, in order.
        self.checks: list[tuple[Digest | None, int | None, bytes | None]] = []
        #: (digest, size or None) per image-not-match, which passed because the contents
        #: were taken to differ.
        self.excluded: list[tuple[Digest, int | None]] = []

    def held(self, facts: ImageFacts) -> bool:
        for digest_, size_ in self.excluded:
            if (size_ is None or facts.size == size_) and facts.digest(digest_.alg) == digest_.value:
                return False
        for digest, size, content in self.checks:
            if content is not None:
                if facts.size != len(content) or facts.data != content:
                    return False
                continue
            assert digest is not None
            if (size is not None and facts.size != size) or facts.digest(digest.alg) != digest.value:
                return False
        return True


@dataclass(frozen=True, init=False)
class DeviceModel:
    """The device a manifest is processed for (model section 1)."""

    vendor_id: bytes | None
    class_id: bytes | None
    device_id: bytes | None
    images: tuple[tuple[int, ImageFacts | Expected], ...]
    slots: tuple[tuple[int, int], ...]
    host: bool
    #: Components the identifiers belong to (draft section 8.4.9.1: identifiers are scoped
    #: by component; a co-processor has a class of its own). None: every component.
    identified: tuple[int, ...] | None
    #: Update management inputs (model section 14.1); None: not available.
    now: int | None
    battery: int | None
    authorized: bool | None
    versions: tuple[tuple[int, tuple[int, ...]], ...]

    def __init__(self, vendor_id: bytes | None = None, class_id: bytes | None = None,
                 device_id: bytes | None = None, images: tuple[tuple[int, ImageFacts | Expected], ...] = (),
                 slots: tuple[tuple[int, int], ...] = (), host: bool = True,
                 identified: tuple[int, ...] | None = None, *, now: int | None = None,
                 battery: int | None = None, authorized: bool | None = None,
                 versions: tuple[tuple[int, tuple[int, ...]], ...] = ()) -> None:
        object.__setattr__(self, "now", now)
        object.__setattr__(self, "battery", battery)
        object.__setattr__(self, "authorized", authorized)
        object.__setattr__(self, "versions", versions)
        object.__setattr__(self, "vendor_id", vendor_id)
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "device_id", device_id)
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "slots", slots)
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "identified", identified)

    def identity(self, code: int, component: int) -> bytes | None:
        if self.identified is not None and component not in self.identified:
            return None
        return self.vendor_id if code == _VENDOR else self.class_id if code == _CLASS else self.device_id

    def image(self, component: int) -> ImageFacts | Expected | None:
        for c, facts in self.images:
            if c == component:
                return facts
        return None

    def slot(self, component: int) -> int | None:
        for c, slot in self.slots:
            if c == component:
                return slot
        return None

    def version(self, component: int) -> tuple[int, ...] | None:
        for c, v in self.versions:
            if c == component:
                return v
        return None


#: Outcomes of one executed command.
OK: Final = "ok"
SKIPPED: Final = "skipped"
FAILED: Final = "failed"
NOT_EXECUTED: Final = "not-executed"


@dataclass(frozen=True, init=False)
class Observation:
    """A command executed for one component, with that component's parameters then."""

    code: int
    component: int
    #: A snapshot of the component's parameters when the command ran.
    params: dict[int, ParamValue]
    where: str
    outcome: str

    def __init__(self, code: int, component: int, params: dict[int, ParamValue], where: str,
                 outcome: str = OK) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "component", component)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "outcome", outcome)

    def param(self, code: int) -> ParamValue | None:
        return self.params.get(code)


@dataclass(frozen=True, init=False)
class ImageCandidate:
    """A (digest, size) pair an image-match compared for a component."""

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
    """What one run of the processor executed, in order."""

    observations: tuple[Observation, ...]
    n_components: int
    #: Sequences not run because they are severed and absent (host mode).
    missing: tuple[str, ...]

    def __init__(self, observations: tuple[Observation, ...], n_components: int, missing: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "observations", observations)
        object.__setattr__(self, "n_components", n_components)
        object.__setattr__(self, "missing", missing)

    def of(self, code: int, component: int | None = None) -> list[Observation]:
        return [o for o in self.observations if o.code == code and (component is None or o.component == component)]

    def identifiers(self, condition: Command, param: Parameter) -> list[tuple[int, ParamValue | None, str]]:
        """(component, compared value, where) for each identity condition made."""
        return [(o.component, o.param(int(param)), o.where) for o in self.of(int(condition)) if o.outcome != FAILED]

    def image_candidates(self, component: int) -> list[ImageCandidate]:
        """The digest/size pairs image-match compared for ``component``, in order, without repeats."""
        out: list[ImageCandidate] = []
        seen: set[tuple[Digest, int | None, int | None]] = set()
        for o in self.of(_IMAGE_MATCH, component):
            d = as_digest(o.param(_P_DIGEST))
            if d is None:
                continue
            size = _uint_or_none(o.param(_P_SIZE))
            slot = _uint_or_none(o.param(_P_SLOT))
            if (d, size, slot) not in seen:
                seen.add((d, size, slot))
                out.append(ImageCandidate(d, size, slot, o.where))
        return out

    def uris(self, component: int) -> list[str]:
        out: list[str] = []
        for o in self.of(_FETCH, component):
            uri = o.param(_P_URI)
            if isinstance(uri, str) and uri not in out:
                out.append(uri)
        return out


def as_digest(v: object) -> Digest | None:
    """An image-digest parameter as a Digest: decoded already, or bstr-wrapped (lenient decode)."""
    if isinstance(v, Digest):
        return v
    if isinstance(v, bytes):
        try:
            return decode_digest(v, DEFAULT_LIMITS, "image-digest")
        except FwsignError:
            return None
    return None


def _uint_or_none(v: object) -> int | None:
    return v if type(v) is int and v >= 0 else None  # type: ignore[operator]


#: Called for every vendor / class identifier condition made: (condition, compared value, path).
IdentityHook = Callable[[int, bytes, str], None]


class _Failed(Exception):
    """Internal: carries a failure and whether it was a condition's (soft-failure applies)."""


class Processor:
    """One run over ``manifest`` for ``model`` (a run of ``bootref_run()`` in C)."""

    def __init__(self, manifest: Manifest, model: DeviceModel, *, limits: Limits = DEFAULT_LIMITS,
                 on_identity: IdentityHook | None = None) -> None:
        self.manifest = manifest
        self.model = model
        self.limits = limits
        self.on_identity = on_identity
        self.n = len(manifest.common.components)
        self.params: list[dict[int, ParamValue]] = [{} for _ in range(self.n)]
        #: Per component, a snapshot of its parameters that observations share until they
        #: change (one copy per state, not one per command).
        self._snaps: list[dict[int, ParamValue] | None] = [None] * self.n
        self.selected: tuple[int, ...] = (0,)
        self.identity = 0
        self.matched = [False] * self.n
        self.written = [False] * self.n
        self.trace: list[Observation] = []
        #: Running tallies for reports (what the trace says, without walking it again):
        #: conditions skipped, conditions that passed by code, and per component the digest
        #: algorithms (0 for check-content) that really compared its contents.
        self.skipped = 0
        self.passed: dict[int, int] = {}
        self.compared: dict[int, set[int]] = {}
        self.missing: list[str] = []

    def analysis(self) -> Analysis:
        return Analysis(tuple(self.trace), self.n, tuple(self.missing))

    # -- sequences -----------------------------------------------------------------

    def run(self, sequences: dict[int, CommandSequence | None]) -> None:
        """Run the given sequences in processing order; None: severed and not supplied.

        Keys absent from ``sequences`` are not run (a device's update or boot run runs
        only some of them). Raises the first failure.
        """
        shared = self.manifest.common.shared_sequence
        for key, name in SEQUENCE_ORDER:
            if key not in sequences:
                continue
            seq = sequences[key]
            path = f"manifest.{name}"
            if seq is None:
                if self.model.host:
                    self.missing.append(path)
                    continue
                raise SeveredMemberMissing(f"{name} is severed and its member was not supplied", path=path)
            # Each sequence starts from fresh parameters, component 0 selected, and no
            # identity check made; the shared sequence runs first (draft sections 6.4, 8.4.5).
            self.params = [{} for _ in range(self.n)]
            self._snaps = [None] * self.n
            self.identity = 0
            if shared is not None:
                self.selected = (0,)
                self.sequence(shared, 0, None, "manifest.common.shared-sequence")
            self.selected = (0,)
            self.sequence(seq, 0, None, path)
            if self.identity != _BOTH_IDENTITIES:
                raise MissingCheck(f"{self._identity_gap()} before the end of {name}", path=path)
            if key == _VALIDATE:
                self._validate_matched(path)

    def _identity_gap(self) -> str:
        missing = [label for bit, label in ((1, "vendor-identifier"), (2, "class-identifier"))
                   if not self.identity & bit]
        return "no " + " or ".join(f"condition-{m}" for m in missing) + " was made"

    def _validate_matched(self, path: str) -> None:
        if not any(self.matched):
            raise MissingCheck("validate makes no image-match or check-content", path=path)
        for c in range(self.n):
            if self.written[c] and not self.matched[c]:
                raise MissingCheck(f"component {c} was written but validate leaves its image unchecked", path=path)

    def sequence(self, seq: CommandSequence, depth: int, soft: list[bool] | None, where: str) -> None:
        """Run one command sequence. ``soft`` is the soft-failure cell of a nested
        sequence ([value, set in this sequence]), None at top level (where soft-failure may not be set)."""
        for i, cmd in enumerate(seq.commands):
            here = f"{where}[{2 * i}]"
            code = cmd.code
            arg = cmd.arg
            if isinstance(arg, Broken) and code != _TRY_EACH and code != _RUN_SEQUENCE:
                raise arg.error  # a command a device would refuse when it reaches it
            if code == _SET_INDEX:
                self._set_index(arg, here)
            elif code in (_OVERRIDE, _SET_PARAMETERS):
                if not isinstance(arg, Parameters):
                    raise DecodeError("parameters must be a map", path=here)
                self._set_params(arg, code == _OVERRIDE, soft, here)
            elif code in (_TRY_EACH, _RUN_SEQUENCE):
                self._nested(code, arg, depth, here)
            elif code in _UM_CONDITIONS or code == _WAIT:
                for comp in self.selected:
                    self._um(code, comp, here)
            elif code == _OVERRIDE_MULTIPLE:
                self._override_multiple(arg, soft, here)
            elif code == _COPY_PARAMS:
                self._copy_params(arg, here)
            elif code in _IDENTITY or code in (_IMAGE_MATCH, _SLOT, _CHECK_CONTENT, _ABORT) or code in _ACTS:
                for comp in self.selected:
                    if code in _ACTS:
                        self._act(code, comp, here)
                    else:
                        self._condition(code, comp, here)
            else:
                name = display(Command(code)) if code in _COMMAND_CODES else str(code)
                raise UnsupportedError(f"command {name} is not supported by this processor", path=here)

    def _set_index(self, arg: object, where: str) -> None:
        if arg is True:
            self.selected = tuple(range(self.n))
            return
        indices = (arg,) if type(arg) is int else arg
        if not isinstance(indices, tuple) or not indices:
            raise DecodeError("component index must be uint, true or [+ uint]", path=where)
        out: list[int] = []
        for v in indices:
            if type(v) is not int or v < 0 or v >= self.n:
                raise DecodeError(f"component index {v!r} is out of range (manifest has {self.n})", path=where)
            out.append(v)
        # Each selected component once, in ascending index order, whatever the order of the
        # list (docs/processing-model.md section 7; a device keeps the selection as a mask).
        self.selected = tuple(sorted(set(out)))

    def _set_params(self, arg: Parameters, override: bool, soft: list[bool] | None, where: str) -> None:
        for key, value in arg.items:
            if isinstance(value, Broken):
                raise value.error
            if key == _P_SOFT_FAILURE:
                if soft is None:
                    raise AbortError("soft-failure may only be set inside try-each or run-sequence", path=where)
                # soft-failure is a processor parameter: override-parameters always sets
                # it, set-parameters only if this sequence has not set it yet (its
                # default does not count as set)
                if override or not soft[1]:
                    soft[0] = value is True
                    soft[1] = True
                continue
            if key not in PROCESSOR_PARAMETERS:
                raise UnsupportedError(f"parameter {key} is not supported by this processor", path=where)
            if key == _P_VENDOR and isinstance(value, Tag):
                raise DecodeError("vendor-identifier must be a UUID (bstr); PEN identifiers are not supported",
                                  path=where)
            if key == _P_DELTA and not isinstance(value, bytes):  # custom labels come through as decoded
                raise DecodeError("delta-info must be a bstr", path=where)
            for comp in self.selected:
                if override or key not in self.params[comp]:
                    self.params[comp][key] = value
                    self._snaps[comp] = None

    def _override_multiple(self, arg: object, soft: list[bool] | None, where: str) -> None:
        """override-multiple (model section 14.4): per entry, override-parameters for the
        component it names alone; the last one named stays selected."""
        if not isinstance(arg, ParamsByComponent):
            raise DecodeError("override-multiple argument must be a map", path=where)
        if not arg.entries:
            raise DecodeError("override-multiple needs at least one component", path=where)
        for k, params in arg.entries:
            if type(k) is not int or k < 0:
                raise DecodeError(f"override-multiple component index must be a uint, not {k!r}", path=where)
            if k >= self.n:
                raise DecodeError(f"component index {k} is out of range (manifest has {self.n})", path=where)
            if isinstance(params, Broken):
                raise params.error
            self.selected = (k,)
            self._set_params(params, True, soft, f"{where}{{{k}}}")

    def _copy_params(self, arg: object, where: str) -> None:
        """copy-params (model section 14.4): per entry, per label, per selected component."""
        if not isinstance(arg, FrozenMap):
            raise DecodeError("copy-params argument must be a map", path=where)
        if len(arg) == 0:
            raise DecodeError("copy-params needs at least one source component", path=where)
        for src, labels in arg.items():
            if type(src) is not int or src < 0:
                raise DecodeError(f"copy-params source must be a component index, not {src!r}", path=where)
            if src >= self.n:
                raise DecodeError(f"component index {src} is out of range (manifest has {self.n})", path=where)
            if type(labels) is not tuple or not labels:
                raise DecodeError("copy-params needs a list of one or more parameter labels", path=where)
            for label in labels:
                if type(label) is not int:
                    raise DecodeError("a copy-params label must be an int", path=where)
                if label not in _COPYABLE:
                    raise UnsupportedError(f"parameter {label} cannot be copied by this processor", path=where)
                for comp in self.selected:
                    value = self.params[src].get(label)
                    if value is not None:
                        self.params[comp][label] = value
                        self._snaps[comp] = None

    def _nested(self, code: int, arg: object, depth: int, where: str) -> None:
        if depth + 1 > self.limits.max_sequence_depth:
            raise LimitError(f"try-each / run-sequence nested deeper than {self.limits.max_sequence_depth}",
                             path=where)
        if isinstance(arg, Broken):
            raise arg.error
        saved = self.selected
        for comp in saved:
            if code == _TRY_EACH:
                if not isinstance(arg, TryEach):
                    raise DecodeError("try-each argument must be an array of sequences", path=where)
                last: FwsignError | None = None
                done = False
                for j, option in enumerate(arg.alternatives):
                    first = option.commands[0].arg if option.commands else None
                    if isinstance(first, Broken) and first.option:
                        raise first.error  # not a bstr: refused even after an option completed
                    if done:
                        continue
                    self.selected = (comp,)
                    cell = [True, False]  # soft-failure starts true, unset, in each option (draft 8.4.10.2)
                    try:
                        self.sequence(option, depth + 1, cell, f"{where}[{j}]")
                    except FwsignError as exc:
                        if cell[0] and exc.reason in CONDITION_FAILURES:
                            last = exc
                            continue
                        raise
                    done = True
                if not done and not arg.nil_fallback:
                    assert last is not None
                    raise last
            else:
                if not isinstance(arg, CommandSequence):
                    raise DecodeError("run-sequence argument must be a command sequence", path=where)
                self.selected = (comp,)
                cell = [False, False]  # soft-failure starts false, unset, in run-sequence (draft 8.4.10.8)
                try:
                    self.sequence(arg, depth + 1, cell, where)
                except FwsignError as exc:
                    if not (cell[0] and exc.reason in CONDITION_FAILURES):
                        raise
        self.selected = saved

    # -- conditions ----------------------------------------------------------------

    def _observe(self, code: int, comp: int, where: str, outcome: str) -> None:
        snap = self._snaps[comp]
        if snap is None:
            snap = self._snaps[comp] = dict(self.params[comp])
        self.trace.append(Observation(code, comp, snap, where, outcome))

    def _param(self, comp: int, key: int, code: int, where: str) -> ParamValue:
        value = self.params[comp].get(key)
        if value is None:
            raise DecodeError(f"{display(Command(code))} needs {display(Parameter(key))}, which is not set "
                              f"for component {comp}", path=where)
        return value

    def _skip_or_fail(self, code: int, comp: int, where: str, err: Callable[[], FwsignError]) -> None:
        """A condition whose input the model lacks: skipped in host mode, failed on a device
        (the error is made only then: skipping is the common case on a host)."""
        if self.model.host:
            self._observe(code, comp, where, SKIPPED)
            self.skipped += 1
            return
        self._observe(code, comp, where, FAILED)
        raise err()

    def _fail(self, code: int, comp: int, where: str, err: FwsignError) -> None:
        self._observe(code, comp, where, FAILED)
        raise err

    def _condition(self, code: int, comp: int, where: str) -> None:
        if code == _ABORT:
            self._fail(code, comp, where, AbortError("condition-abort", path=where))
        elif code in _IDENTITY:
            self._identity(code, comp, where)
        elif code == _IMAGE_MATCH:
            self._image_match(comp, where)
        elif code == _CHECK_CONTENT:
            self._check_content(comp, where)
        else:
            self._slot(comp, where)

    def _identity(self, code: int, comp: int, where: str) -> None:
        key, label, reason = _IDENTITY[code]
        value = self._param(comp, key, code, where)
        mine = self.model.identity(code, comp)
        if mine is None:
            self._skip_or_fail(code, comp, where, lambda: IdentityMismatch(
                f"the device has no {label} identifier to compare", path=where, reason=reason))
        elif value != mine:
            shown = value.hex() if isinstance(value, bytes) else repr(value)
            self._fail(code, comp, where, IdentityMismatch(
                f"{label} id {shown} differs from the device's {mine.hex()}", path=where, reason=reason))
        else:
            self._observe(code, comp, where, OK)
            self.passed[code] = self.passed.get(code, 0) + 1
        bit = _IDENTITY_BIT.get(code, 0)
        if bit:
            self.identity |= bit
            if self.on_identity is not None and isinstance(value, bytes):
                self.on_identity(code, value, where)

    def _image_match(self, comp: int, where: str) -> None:
        digest = self._param(comp, _P_DIGEST, _IMAGE_MATCH, where)
        if isinstance(digest, bytes):  # a leniently decoded manifest: parsed where it is used
            digest = decode_digest(digest, self.limits, f"{where}(image-digest)")
        if not isinstance(digest, Digest):
            raise DecodeError("image-digest must be a SUIT_Digest", path=where)
        size = self.params[comp].get(_P_SIZE)
        facts = self.model.image(comp)
        if facts is None:
            self._skip_or_fail(_IMAGE_MATCH, comp, where, lambda: ImageMismatch(
                f"no image for component {comp}", path=where))
        elif isinstance(facts, Expected):
            facts.checks.append((digest, size if isinstance(size, int) else None, None))
            self._observe(_IMAGE_MATCH, comp, where, OK)
            self.compared.setdefault(comp, set()).add(digest.alg)
        else:
            computed = facts.digest(digest.alg)
            if computed is None:
                raise UnsupportedError(f"digest algorithm {digest.alg} is not supported", path=where)
            if isinstance(size, int) and facts.size != size:
                self._fail(_IMAGE_MATCH, comp, where, ImageMismatch(
                    f"image is {facts.size} bytes, the manifest says {size}", path=where))
            if computed != digest.value:
                self._fail(_IMAGE_MATCH, comp, where, ImageMismatch(
                    f"image digest {computed.hex()[:16]}... does not match the manifest's "
                    f"{digest.value.hex()[:16]}...", path=where))
            self._observe(_IMAGE_MATCH, comp, where, OK)
            self.compared.setdefault(comp, set()).add(digest.alg)
        self.matched[comp] = True

    def _check_content(self, comp: int, where: str) -> None:
        content = self._param(comp, _P_CONTENT, _CHECK_CONTENT, where)
        facts = self.model.image(comp)
        if facts is None:
            self._skip_or_fail(_CHECK_CONTENT, comp, where, lambda: ImageMismatch(
                f"no content for component {comp}", path=where))
        elif isinstance(facts, Expected) and isinstance(content, bytes):
            facts.checks.append((None, None, content))
            self._observe(_CHECK_CONTENT, comp, where, OK)
            self.compared.setdefault(comp, set()).add(0)
        else:
            if not isinstance(content, bytes) or isinstance(facts, Expected) or facts.size != len(content):
                self._fail(_CHECK_CONTENT, comp, where, ImageMismatch(
                    "component content has a different length", path=where))
            if isinstance(facts, ImageFacts) and facts.data != content:
                self._fail(_CHECK_CONTENT, comp, where, ImageMismatch("component content differs", path=where))
            self._observe(_CHECK_CONTENT, comp, where, OK)
            self.compared.setdefault(comp, set()).add(0)
        self.matched[comp] = True

    def _slot(self, comp: int, where: str) -> None:
        want = self._param(comp, _P_SLOT, _SLOT, where)
        slot = self.model.slot(comp)
        if slot is None:
            self._skip_or_fail(_SLOT, comp, where, lambda: ImageMismatch(f"the slot of component {comp} is unknown",
                                                                  path=where))
        elif slot != want:
            self._fail(_SLOT, comp, where, ImageMismatch(f"component {comp} is in slot {slot}, not {want!r}",
                                                         path=where))
        else:
            self._observe(_SLOT, comp, where, OK)

    # -- update management (model section 14) ---------------------------------------

    def _um(self, code: int, comp: int, where: str) -> None:
        model = self.model
        if code == _USE_BEFORE:
            limit = self._param(comp, _P_USE_BEFORE, code, where)
            if model.now is None:
                self._skip_or_fail(code, comp, where, lambda: UseBeforePassed(
                    "the device has no trusted time to compare with use-before", path=where))
            elif not isinstance(limit, int) or model.now >= limit:
                self._fail(code, comp, where, UseBeforePassed(
                    f"the time {model.now} is not before use-before {limit!r}", path=where))
            else:
                self._observe(code, comp, where, OK)
        elif code == _IMAGE_NOT_MATCH:
            self._image_not_match(comp, where)
        elif code == _MIN_BATTERY:
            need = self._param(comp, _P_BATTERY, code, where)
            if model.battery is None:
                self._skip_or_fail(code, comp, where, lambda: BatteryLow(
                    "the device has no battery reading", path=where))
            elif not isinstance(need, int) or model.battery < need:
                self._fail(code, comp, where, BatteryLow(
                    f"the battery holds {model.battery} mWh, the manifest asks for {need!r}", path=where))
            else:
                self._observe(code, comp, where, OK)
        elif code == _AUTHORIZED:
            priority = self._param(comp, _P_PRIORITY, code, where)
            if model.authorized is None:
                self._skip_or_fail(code, comp, where, lambda: NotAuthorized(
                    "the device has no application to authorize the update", path=where))
            elif not model.authorized:
                self._fail(code, comp, where, NotAuthorized(
                    f"the application did not authorize an update of priority {priority!r}", path=where))
            else:
                self._observe(code, comp, where, OK)
        elif code == _VERSION:
            raw = self._param(comp, _P_VERSION, code, where)
            if not isinstance(raw, bytes):
                raise DecodeError("version must be a bstr-wrapped version match", path=where)
            match = decode_version_match(raw, self.limits, f"{where}(version)")
            mine = model.version(comp)
            if mine is None:
                self._skip_or_fail(code, comp, where, lambda: VersionMismatch(
                    f"the version of component {comp} is unknown", path=where))
            elif not version_compare(mine, match):
                self._fail(code, comp, where, VersionMismatch(
                    f"component {comp} is version {list(mine)}, outside the manifest's range", path=where))
            else:
                self._observe(code, comp, where, OK)
        else:
            self._wait(comp, where)

    def _image_not_match(self, comp: int, where: str) -> None:
        digest = self._param(comp, _P_DIGEST, _IMAGE_NOT_MATCH, where)
        if isinstance(digest, bytes):
            digest = decode_digest(digest, self.limits, f"{where}(image-digest)")
        if not isinstance(digest, Digest):
            raise DecodeError("image-digest must be a SUIT_Digest", path=where)
        size = self.params[comp].get(_P_SIZE)
        size_ = size if isinstance(size, int) else None
        facts = self.model.image(comp)
        if facts is None:
            if self.model.host:
                self._observe(_IMAGE_NOT_MATCH, comp, where, SKIPPED)
                self.skipped += 1
            else:
                self._observe(_IMAGE_NOT_MATCH, comp, where, OK)  # no image: not that image
        elif isinstance(facts, Expected):
            facts.excluded.append((digest, size_))
            self._observe(_IMAGE_NOT_MATCH, comp, where, OK)
        else:
            computed = facts.digest(digest.alg)
            if computed is None:
                raise UnsupportedError(f"digest algorithm {digest.alg} is not supported", path=where)
            if (size_ is None or facts.size == size_) and computed == digest.value:
                self._fail(_IMAGE_NOT_MATCH, comp, where, ImageMatches(
                    f"component {comp} already holds the image image-not-match excludes", path=where))
            self._observe(_IMAGE_NOT_MATCH, comp, where, OK)

    def _wait(self, comp: int, where: str) -> None:
        raw = self._param(comp, _P_WAIT, _WAIT, where)
        if not isinstance(raw, bytes):
            raise DecodeError("wait-info must be a bstr-wrapped map of events", path=where)
        events = decode_wait_info(raw, self.limits, f"{where}(wait-info)")
        if self.model.host:
            self._observe(_WAIT, comp, where, NOT_EXECUTED)
            return
        for key, value in events:
            if key == _EV_AUTHORIZATION:
                occurred = self.model.authorized is True
            else:
                occurred = self.model.battery is not None and isinstance(value, int) and self.model.battery >= value
            if not occurred:
                self._observe(_WAIT, comp, where, FAILED)
                raise Deferred(f"waiting for {display(WaitEvent(key))}: the update is deferred", path=where)
        self._observe(_WAIT, comp, where, OK)

    # -- directives that act -------------------------------------------------------

    def _act(self, code: int, comp: int, where: str) -> None:
        name = display(Command(code))
        if self.identity != _BOTH_IDENTITIES:
            raise MissingCheck(f"{name} of component {comp} would run, but {self._identity_gap()}", path=where)
        if code == _INVOKE and not self.matched[comp]:
            raise MissingCheck(f"invoke of component {comp} without an image-match of it since it was last "
                               "written", path=where)
        if code == _FETCH:
            self._param(comp, _P_URI, code, where)
            if _P_DELTA in self.params[comp]:
                self._delta_fetch(comp, where)
        elif code in (_COPY, _SWAP):
            src = self._param(comp, _P_SOURCE, code, where)
            if type(src) is not int or src >= self.n or src == comp:
                raise DecodeError(f"source-component {src!r} is out of range for component {comp}", path=where)
        elif code == _WRITE:
            self._param(comp, _P_CONTENT, code, where)
        self._observe(code, comp, where, NOT_EXECUTED if self.model.host else OK)
        if code in _WRITES:
            self.written[comp] = True
            self.matched[comp] = False
            if code == _SWAP:
                src = self.params[comp][_P_SOURCE]
                assert type(src) is int
                self.written[src] = True
                self.matched[src] = False


    def _delta_fetch(self, comp: int, where: str) -> None:
        """A fetch with delta-info (docs/delta.md, model section 15): the payload is a patch
        against source-component, which must name another component; the delta-info must
        be well-formed and name a format this processor applies."""
        from ..delta.info import decode_delta_info

        src = self._param(comp, _P_SOURCE, _FETCH, where)
        if type(src) is not int or src >= self.n or src == comp:
            raise DecodeError(f"source-component {src!r} is out of range for component {comp}", path=where)
        info = self.params[comp][_P_DELTA]
        if not isinstance(info, bytes):
            raise DecodeError("delta-info must be a bstr", path=where)
        decode_delta_info(info, self.limits, f"{where}(delta-info)")


_COMMAND_CODES: Final = frozenset(int(c) for c in Command)


def require_validate(manifest: Manifest) -> None:
    """Rule R0 (model section 6): a manifest without a validate sequence is refused."""
    if manifest.validate is None:
        raise MissingCheck("the manifest has no validate sequence (suit-validate is required)",
                           path="manifest.validate")


def manifest_sequences(manifest: Manifest, severed: dict[int, CommandSequence]) -> dict[int, CommandSequence | None]:
    """Every sequence of ``manifest`` to run on a host: inline, severed and supplied, or None
    (severed and absent)."""
    out: dict[int, CommandSequence | None] = {}
    values = {
        int(ManifestKey.PAYLOAD_FETCH): manifest.payload_fetch,
        int(ManifestKey.INSTALL): manifest.install,
        int(ManifestKey.VALIDATE): manifest.validate,
        int(ManifestKey.LOAD): manifest.load,
        int(ManifestKey.INVOKE): manifest.invoke,
    }
    for key, _name in SEQUENCE_ORDER:
        value = values[key]
        if isinstance(value, CommandSequence):
            out[key] = value
        elif isinstance(value, Digest):
            out[key] = severed.get(key)
    return out


def observe(manifest: Manifest, severed: dict[int, CommandSequence] | None = None,
            limits: Limits = DEFAULT_LIMITS, slots: tuple[tuple[int, int], ...] = ()) -> Analysis:
    """What the manifest asserts on the path a host with no inputs but ``slots`` takes
    (every other condition skipped), for inspect and release checks. A failure ends the
    trace where it happened."""
    proc = Processor(manifest, DeviceModel(slots=slots), limits=limits)
    with contextlib.suppress(FwsignError):
        proc.run(manifest_sequences(manifest, severed or {}))
    return proc.analysis()
