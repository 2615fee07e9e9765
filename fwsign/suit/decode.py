"""Strict decoder from untrusted bytes to the SUIT data model.

Every member is type-checked and every error names its path inside the structure,
e.g. ``manifest.common.shared-sequence[4]``. Unknown critical members (integer keys
this implementation does not know, unknown commands and parameters) are refused: a
processor that skipped them would act on a manifest it does not understand
(draft-ietf-suit-manifest-34 section 8.4 and RFC 9124 REQ.SEC.AUTH.EXEC).
"""

from __future__ import annotations

import contextlib
from typing import Final, NoReturn

from ..cbor import CBORValue, FrozenMap, Tag, loads
from ..cose.headers import type_name
from ..cose.messages import decode_cose as decode_cose
from ..errors import DecodeError, FwsignError, LimitError, UnsupportedError
from ..limits import DEFAULT_LIMITS, Limits
from .codepoints import (
    FWSIGN_DELTA_INFO,
    MANIFEST_VERSION,
    SUPPORTED_WAIT_EVENTS,
    TAG_ENVELOPE,
    TAG_PEN,
    Command,
    CommonKey,
    EnvelopeKey,
    ManifestKey,
    Parameter,
    WaitEvent,
    display,
    name_of,
)
from .model import (
    DIGEST_SIZES,
    AuthBlock,
    AuthWrapper,
    Broken,
    Cmd,
    CommandArg,
    CommandSequence,
    Common,
    ComponentId,
    Digest,
    Envelope,
    EnvelopeParts,
    LanguageText,
    Manifest,
    Parameters,
    ParamsByComponent,
    ParamValue,
    Severable,
    TextMap,
    TryEach,
    VersionMatch,
)

# Commands whose argument is a SUIT_Rep_Policy (uint bit set).
_REP_POLICY_COMMANDS: Final[frozenset[int]] = frozenset(int(c) for c in
    {
        Command.CONDITION_VENDOR_IDENTIFIER,
        Command.CONDITION_CLASS_IDENTIFIER,
        Command.CONDITION_IMAGE_MATCH,
        Command.CONDITION_USE_BEFORE,
        Command.CONDITION_COMPONENT_SLOT,
        Command.CONDITION_CHECK_CONTENT,
        Command.CONDITION_DEPENDENCY_INTEGRITY,
        Command.CONDITION_IS_DEPENDENCY,
        Command.DIRECTIVE_PROCESS_DEPENDENCY,
        Command.CONDITION_ABORT,
        Command.DIRECTIVE_WRITE,
        Command.DIRECTIVE_FETCH,
        Command.DIRECTIVE_COPY,
        Command.DIRECTIVE_INVOKE,
        Command.CONDITION_DEVICE_IDENTIFIER,
        Command.CONDITION_IMAGE_NOT_MATCH,
        Command.CONDITION_MINIMUM_BATTERY,
        Command.CONDITION_UPDATE_AUTHORIZED,
        Command.CONDITION_VERSION,
        Command.DIRECTIVE_WAIT,
        Command.DIRECTIVE_SWAP,
        Command.DIRECTIVE_UNLINK,
    }
)


# Code point lookups by plain dict (an Enum call costs about a microsecond each).
_COMMANDS: Final[dict[int, Command]] = {int(m): m for m in Command}
_MANIFEST_KEYS: Final[dict[int, ManifestKey]] = {int(m): m for m in ManifestKey}
_ENVELOPE_NAMES: Final[dict[int, str]] = {int(m): display(m) for m in EnvelopeKey}
_PARAM_NAMES: Final[dict[int, str]] = {int(m): display(m) for m in Parameter}
_COMMAND_NAMES: Final[dict[int, str]] = {int(m): display(m) for m in Command}

# Plain int code points for the hot comparisons (native constants in a compiled build).
_SET_COMPONENT_INDEX: Final = int(Command.DIRECTIVE_SET_COMPONENT_INDEX)
_OVERRIDE_PARAMETERS: Final = int(Command.DIRECTIVE_OVERRIDE_PARAMETERS)
_SET_PARAMETERS: Final = int(Command.DIRECTIVE_SET_PARAMETERS)
_VENDOR_IDENTIFIER: Final = int(Parameter.VENDOR_IDENTIFIER)
_SOURCE_COMPONENT: Final = int(Parameter.SOURCE_COMPONENT)
_COMPONENTS: Final = int(CommonKey.COMPONENTS)
_SHARED_SEQUENCE: Final = int(CommonKey.SHARED_SEQUENCE)
_AUTHENTICATION_WRAPPER: Final = int(EnvelopeKey.AUTHENTICATION_WRAPPER)
_MANIFEST: Final = int(EnvelopeKey.MANIFEST)
_DELEGATION: Final = int(EnvelopeKey.DELEGATION)


# How each known parameter's value is checked.
_P_UUID: Final = 0
_P_DIGEST: Final = 1
_P_UINT: Final = 2
_P_INT: Final = 3
_P_BOOL: Final = 4
_P_BSTR: Final = 5
_P_TSTR: Final = 6
_P_ANY: Final = 7
_P_VERSION: Final = 8
_P_WAIT: Final = 9
_P_META: Final = 10
_PARAM_KINDS: Final[dict[int, int]] = {int(m): _P_ANY for m in Parameter}
_PARAM_KINDS.update({
    Parameter.VENDOR_IDENTIFIER: _P_UUID, Parameter.CLASS_IDENTIFIER: _P_UUID, Parameter.DEVICE_IDENTIFIER: _P_UUID,
    Parameter.IMAGE_DIGEST: _P_DIGEST,
    Parameter.COMPONENT_SLOT: _P_UINT, Parameter.IMAGE_SIZE: _P_UINT, Parameter.SOURCE_COMPONENT: _P_UINT,
    Parameter.USE_BEFORE: _P_UINT, Parameter.MINIMUM_BATTERY: _P_UINT,
    Parameter.UPDATE_PRIORITY: _P_INT,
    Parameter.STRICT_ORDER: _P_BOOL, Parameter.SOFT_FAILURE: _P_BOOL,
    Parameter.CONTENT: _P_BSTR, Parameter.ENCRYPTION_INFO: _P_BSTR, Parameter.INVOKE_ARGS: _P_BSTR,
    Parameter.FETCH_ARGUMENTS: _P_BSTR,
    Parameter.URI: _P_TSTR,
    Parameter.VERSION: _P_VERSION, Parameter.WAIT_INFO: _P_WAIT, Parameter.COMPONENT_METADATA: _P_META,
})


def _fail(what: str, value: object, path: str) -> NoReturn:
    raise DecodeError(f"expected {what}, found {_type_name(value)}", path=path)


def _is_uint(v: object) -> bool:
    return type(v) is int and v >= 0  # type: ignore[operator]


def _is_int(v: object) -> bool:
    return type(v) is int


_type_name = type_name


def _expect(cond: bool, what: str, value: object, path: str) -> None:
    if not cond:
        raise DecodeError(f"expected {what}, found {_type_name(value)}", path=path)


class _Ctx:
    """Decoding context: limits, the number of components (for index checks), and whether
    command sequences are decoded leniently (see :func:`decode_manifest`)."""

    def __init__(self, limits: Limits, lazy: bool = False,
                 seen: dict[int, list[ParamValue]] | None = None) -> None:
        self.limits = limits
        self.n_components = 0
        self.lazy = lazy
        #: Lenient decoding only: for each parameter key in it, every value the key is given
        #: in the sequences decoded (what a verifier asks of the whole manifest, in one pass).
        self.seen = seen


# -- digests -------------------------------------------------------------------------


def decode_digest_value(value: CBORValue, path: str) -> Digest:
    _expect(isinstance(value, tuple), "SUIT_Digest array", value, path)
    assert isinstance(value, tuple)
    if len(value) != 2:
        raise DecodeError(f"SUIT_Digest must have 2 elements, has {len(value)}", path=path)
    alg, digest = value
    if type(alg) is not int:
        _fail("digest algorithm id (int)", alg, f"{path}[0]")
    if type(digest) is not bytes:
        _fail("digest bytes (bstr)", digest, f"{path}[1]")
    expected = DIGEST_SIZES.get(alg)
    if expected is None:
        raise UnsupportedError(f"unknown digest algorithm {alg}", path=f"{path}[0]")
    if len(digest) != expected:
        raise DecodeError(
            f"digest for algorithm {alg} must be {expected} bytes, is {len(digest)}", path=f"{path}[1]"
        )
    return Digest(alg, digest)


def decode_digest(data: bytes, limits: Limits, path: str) -> Digest:
    return decode_digest_value(loads(data, limits, path=path), path)


# -- parameters ----------------------------------------------------------------------


def _decode_parameters(value: CBORValue, ctx: _Ctx, path: str) -> Parameters:
    if type(value) is not FrozenMap:
        _fail("SUIT_Parameters map", value, path)
    items: list[tuple[int, ParamValue]] = []
    for key, v in value.items():
        if type(key) is not int:
            raise DecodeError(f"parameter key must be an int, found {_type_name(key)}", path=path)
        items.append((key, _decode_parameter(key, v, ctx, path)))
    return Parameters(tuple(items))


def _param_path(path: str, key: int) -> str:
    name = _PARAM_NAMES.get(key)
    return f"{path}.{name if name is not None else name_of(Parameter, key)}"


def _decode_parameter(key: int, v: CBORValue, ctx: _Ctx, path: str) -> ParamValue:
    """Check one parameter value; ``path`` is the parameters map (the member is named on error)."""
    if key < 0:
        return v  # custom parameter: vendor-defined, carried as decoded
    kind = _PARAM_KINDS.get(key)
    if kind is None:
        raise UnsupportedError(f"unknown parameter {key}", path=_param_path(path, key))
    if kind == _P_UUID:
        if type(v) is bytes:
            if len(v) != 16:
                raise DecodeError(f"identifier must be a 16-byte UUID, is {len(v)} bytes", path=_param_path(path, key))
            return v
        if type(v) is Tag and key == _VENDOR_IDENTIFIER:
            if v.tag != TAG_PEN or type(v.value) is not bytes:
                _fail("PEN (tag 112, bstr)", v, _param_path(path, key))
            return v
        _fail("UUID (bstr)", v, _param_path(path, key))
    if kind == _P_DIGEST:
        if type(v) is not bytes:
            _fail("bstr-wrapped SUIT_Digest", v, _param_path(path, key))
        return decode_digest(v, ctx.limits, _param_path(path, key))
    if kind == _P_UINT:
        if type(v) is not int or v < 0:
            _fail("uint", v, _param_path(path, key))
        if key == _SOURCE_COMPONENT:
            _check_index(v, ctx, _param_path(path, key))
        return v
    if kind == _P_INT:
        if type(v) is not int:
            _fail("int", v, _param_path(path, key))
        return v
    if kind == _P_BOOL:
        if type(v) is not bool:
            _fail("bool", v, _param_path(path, key))
        return v
    if kind == _P_BSTR:
        if type(v) is not bytes:
            _fail("bstr", v, _param_path(path, key))
        return v
    if kind == _P_TSTR:
        if type(v) is not str:
            _fail("URI (tstr)", v, _param_path(path, key))
        return v
    if kind == _P_VERSION:
        if type(v) is not bytes:
            _fail("bstr-wrapped SUIT_Parameter_Version_Match", v, _param_path(path, key))
        decode_version_match(v, ctx.limits, _param_path(path, key))
        return v
    if kind == _P_WAIT:
        if type(v) is not bytes:
            _fail("bstr-wrapped SUIT_Wait_Event", v, _param_path(path, key))
        decode_wait_info(v, ctx.limits, _param_path(path, key), strict=True)
        return v
    if kind == _P_META:
        # decoded and shown; the processors refuse it (docs/processing-model.md section 14.2)
        if type(v) is not bytes:
            _fail("bstr-wrapped SUIT_Component_Metadata", v, _param_path(path, key))
        decode_component_metadata(v, ctx.limits, _param_path(path, key))
        return v
    return v


# -- update management values (docs/processing-model.md section 14) --------------------


def decode_version_value(value: CBORValue, limits: Limits, path: str) -> tuple[int, ...]:
    """SUIT_Condition_Version_Comparison_Value = [+ int], at most max_version_parts."""
    if type(value) is not tuple:
        _fail("version ([+ int])", value, path)
    if not value:
        raise DecodeError("a version needs at least one integer", path=path)
    if len(value) > limits.max_version_parts:
        raise LimitError(f"{len(value)} integers in a version exceed the limit of {limits.max_version_parts}",
                         path=path)
    for v in value:
        if type(v) is not int:
            _fail("version integer", v, path)
    return tuple(int(v) for v in value if type(v) is int)


def decode_version_match(data: bytes, limits: Limits, path: str) -> VersionMatch:
    """parameter-version: bstr .cbor [comparison type 1..5, [+ int]] (UM section 4.4)."""
    value = loads(data, limits, path=path)
    if type(value) is not tuple or len(value) != 2:
        _fail("[comparison type, version]", value, path)
    kind = value[0]
    if type(kind) is not int or not 1 <= kind <= 5:
        raise DecodeError(f"version comparison type must be 1..5, found {kind!r}", path=path)
    return VersionMatch(kind, decode_version_value(value[1], limits, path))


def decode_wait_info(data: bytes, limits: Limits, path: str, *, strict: bool = False) -> tuple[tuple[int, CBORValue], ...]:
    """parameter-wait-info: bstr .cbor {+ event => value} (UM section 4.5).

    The processor (``strict`` False) checks the two events it implements, authorization
    and power (int), and refuses every other event as unsupported; the strict decoder
    (inspect) also checks the types of the events the draft defines, to show them."""
    value = loads(data, limits, path=path)
    if type(value) is not FrozenMap or len(value) == 0:
        _fail("non-empty map of wait events", value, path)
    out: list[tuple[int, CBORValue]] = []
    for key, v in value.items():
        if type(key) is not int or key < 0:
            _fail("wait event (uint)", key, path)
        if key in SUPPORTED_WAIT_EVENTS or (strict and key == WaitEvent.NETWORK):
            if type(v) is not int:
                _fail("int", v, f"{path}.{name_of(WaitEvent, key)}")
        elif not strict or key not in _WAIT_EVENT_CODES:
            raise UnsupportedError(f"wait event {name_of(WaitEvent, key)} is not supported", path=path)
        elif key == WaitEvent.OTHER_DEVICE_VERSION:
            if type(v) is not tuple or len(v) != 2 or type(v[0]) is not bytes or type(v[1]) is not tuple or not v[1]:
                _fail("[other-device, [+ version match]]", v, f"{path}.{name_of(WaitEvent, key)}")
        elif type(v) is not int or v < 0:
            _fail("uint", v, f"{path}.{name_of(WaitEvent, key)}")
        out.append((key, v))
    return tuple(out)


_WAIT_EVENT_CODES: Final = frozenset(int(e) for e in WaitEvent)

#: SUIT_Component_Metadata keys (UM section 4.6): default permissions, user / group / role
#: permission maps, file type, modification and creation time, creator.
_META_NAMES: Final[dict[int, str]] = {
    1: "default-permissions", 2: "user-permissions", 3: "group-permissions", 4: "role-permissions",
    5: "file-type", 6: "modification-time", 7: "creation-time", 8: "creator",
}


def _meta_actor(v: CBORValue, path: str) -> None:
    """SUIT_meta_actor_id = UUID_Tagged (#6.37(bstr)) / bstr / tstr / int."""
    if type(v) is Tag:
        if v.tag != 37 or type(v.value) is not bytes:
            _fail("UUID (tag 37, bstr)", v, path)
    elif type(v) not in (bytes, str, int):
        _fail("actor id (UUID, bstr, tstr or int)", v, path)


def decode_component_metadata(data: bytes, limits: Limits, path: str) -> tuple[tuple[int, CBORValue], ...]:
    """parameter-component-metadata: bstr .cbor SUIT_Component_Metadata, each known member
    of its type; other (extension) members are carried as decoded."""
    value = loads(data, limits, path=path)
    if type(value) is not FrozenMap:
        _fail("SUIT_Component_Metadata map", value, path)
    out: list[tuple[int, CBORValue]] = []
    for key, v in value.items():
        if type(key) is not int:
            _fail("component metadata key (int)", key, path)
        here = f"{path}.{_META_NAMES.get(key, str(key))}"
        if key == 1 and (type(v) is not int or v < 0):
            _fail("permissions (uint)", v, here)
        elif key in (2, 3, 4):
            if type(v) is not FrozenMap or len(v) == 0:
                _fail("map of actor to permissions", v, here)
            for actor, perms in v.items():
                _meta_actor(actor, here)
                if type(perms) is not int or perms < 0:
                    _fail("permissions (uint)", perms, here)
        elif key == 5 and (type(v) is not int or not 1 <= v <= 3):
            raise DecodeError(f"file type must be 1 (regular), 2 (directory) or 3 (symlink), found {v!r}", path=here)
        elif key in (6, 7) and not (type(v) is Tag and v.tag == 1 and type(v.value) is int and v.value >= 0):
            _fail("epoch time (tag 1, uint)", v, here)
        elif key == 8:
            _meta_actor(v, here)
        out.append((key, v))
    return tuple(out)


def _check_index(index: int, ctx: _Ctx, path: str) -> None:
    if index >= ctx.n_components:
        raise DecodeError(
            f"component index {index} out of range (manifest has {ctx.n_components})", path=path
        )


# -- command sequences ---------------------------------------------------------------


def _sequence_items(data: bytes, ctx: _Ctx, path: str, depth: int, max_depth: int) -> tuple[CBORValue, ...]:
    """A command sequence's CBOR and shape: [+ (label, argument)] within the limits."""
    if depth > max_depth:
        raise LimitError(f"command sequences nested deeper than {ctx.limits.max_sequence_depth}", path=path)
    value = loads(data, ctx.limits, path=path)
    if type(value) is not tuple:
        _fail("command sequence array", value, path)
    n = len(value)
    if n == 0:
        # SUIT_Command_Sequence = [ + ... ]: at least one command (docs/processing-model.md section 8).
        raise DecodeError("command sequence is empty (at least one command is required)", path=path)
    if n % 2:
        raise DecodeError("command sequence has an odd number of elements", path=path)
    if n // 2 > ctx.limits.max_commands:
        raise LimitError(f"{n // 2} commands exceed the limit of {ctx.limits.max_commands}", path=path)
    return value


def decode_sequence(data: bytes, ctx: _Ctx, path: str, depth: int = 0) -> CommandSequence:
    if ctx.lazy:
        return _lazy_sequence(data, ctx, path, depth)
    value = _sequence_items(data, ctx, path, depth, ctx.limits.max_sequence_depth)
    n = len(value)
    cmds: list[Cmd] = []
    for i in range(0, n, 2):
        label, arg = value[i], value[i + 1]
        if type(label) is not int:
            raise DecodeError(f"command label must be an int, found {_type_name(label)}", path=f"{path}[{i}]")
        if label in _REP_POLICY_COMMANDS:
            # The common case inline: a condition or directive with a reporting policy.
            if type(arg) is not int or arg < 0:
                _fail("reporting policy (uint)", arg, f"{path}[{i}]({_COMMAND_NAMES[label]})")
            cmds.append(Cmd(label, arg))
        else:
            cmds.append(Cmd(label, _decode_command_arg(label, arg, ctx, f"{path}[{i}]", depth)))
    return CommandSequence(tuple(cmds))


def _decode_command_arg(label: int, arg: CBORValue, ctx: _Ctx, path: str, depth: int) -> CommandArg:
    if label < 0:
        # Custom commands (negative labels) carry a bstr, tstr, int or nil argument.
        _expect(
            arg is None or isinstance(arg, (bytes, str)) or _is_int(arg),
            "custom command argument (bstr, tstr, int or nil)",
            arg,
            path,
        )
        return arg
    cmd = _COMMANDS.get(label)
    if cmd is None:
        raise UnsupportedError(f"unknown command {label}", path=path)
    p = f"{path}({_COMMAND_NAMES[label]})"
    if label == _SET_COMPONENT_INDEX:
        if arg is True:
            return True
        if _is_uint(arg):
            assert isinstance(arg, int)
            _check_index(arg, ctx, p)
            return arg
        if isinstance(arg, tuple) and arg and all(_is_uint(a) for a in arg):
            for a in arg:
                assert isinstance(a, int)
                _check_index(a, ctx, p)
            return tuple(int(a) for a in arg if isinstance(a, int))
        raise DecodeError(
            f"expected component index (uint, true or [+ uint]), found {_type_name(arg)}", path=p
        )
    if label in (_OVERRIDE_PARAMETERS, _SET_PARAMETERS):
        return _decode_parameters(arg, ctx, p)
    if cmd == Command.DIRECTIVE_TRY_EACH:
        _expect(isinstance(arg, tuple), "try-each array", arg, p)
        assert isinstance(arg, tuple)
        nil_fallback = bool(arg) and arg[-1] is None
        seqs = arg[:-1] if nil_fallback else arg
        if len(seqs) < 2:
            raise DecodeError("try-each needs at least two alternatives", path=p)
        alts: list[CommandSequence] = []
        for j, s in enumerate(seqs):
            _expect(isinstance(s, bytes), "bstr-wrapped command sequence", s, f"{p}[{j}]")
            assert isinstance(s, bytes)
            alts.append(decode_sequence(s, ctx, f"{p}[{j}]", depth + 1))
        return TryEach(tuple(alts), nil_fallback)
    if cmd == Command.DIRECTIVE_RUN_SEQUENCE:
        _expect(isinstance(arg, bytes), "bstr-wrapped command sequence", arg, p)
        assert isinstance(arg, bytes)
        return decode_sequence(arg, ctx, p, depth + 1)
    if cmd == Command.DIRECTIVE_OVERRIDE_MULTIPLE:
        _expect(isinstance(arg, FrozenMap) and len(arg) > 0, "map of component index to parameters", arg, p)
        assert isinstance(arg, FrozenMap)
        entries: list[tuple[CBORValue, Parameters | Broken]] = []
        for k, v in arg.items():
            _expect(_is_uint(k), "component index (uint)", k, p)
            assert isinstance(k, int)
            _check_index(k, ctx, p)
            entries.append((k, _decode_parameters(v, ctx, f"{p}{{{k}}}")))
        return ParamsByComponent(tuple(entries))
    if cmd == Command.DIRECTIVE_COPY_PARAMS:
        _expect(isinstance(arg, FrozenMap) and len(arg) > 0, "map of component index to parameter list", arg, p)
        assert isinstance(arg, FrozenMap)
        for k, v in arg.items():
            _expect(_is_uint(k), "component index (uint)", k, p)
            assert isinstance(k, int)
            _check_index(k, ctx, p)
            _expect(isinstance(v, tuple) and len(v) > 0 and all(_is_int(x) for x in v),
                    "array of parameter labels ([+ int])", v, f"{p}{{{k}}}")
        return arg
    raise UnsupportedError(f"command {display(cmd)} is not supported", path=p)  # pragma: no cover


# -- lenient sequences (verification) ------------------------------------------------
#
# docs/processing-model.md section 2: a device judges a command sequence's CBOR before the
# sequence runs, and what each command means (its code, its argument, its parameters)
# when the command is reached; a try-each option that never runs is only checked to be a
# bstr. Verification decodes sequences the same way: an error is kept in the command as
# :class:`Broken` and raised by the processor when it gets there.

#: Parameters the processor implements (model section 7), in the order a device checks an
#: override-parameters entry: label, then type.
PROCESSOR_PARAMETERS: Final = frozenset(int(p) for p in (
    Parameter.VENDOR_IDENTIFIER, Parameter.CLASS_IDENTIFIER, Parameter.IMAGE_DIGEST, Parameter.COMPONENT_SLOT,
    Parameter.STRICT_ORDER, Parameter.SOFT_FAILURE, Parameter.IMAGE_SIZE, Parameter.CONTENT,
    Parameter.ENCRYPTION_INFO, Parameter.URI, Parameter.SOURCE_COMPONENT, Parameter.DEVICE_IDENTIFIER,
    # update management (docs/processing-model.md section 14.2)
    Parameter.USE_BEFORE, Parameter.MINIMUM_BATTERY, Parameter.UPDATE_PRIORITY, Parameter.VERSION,
    Parameter.WAIT_INFO,
    # delta updates (docs/processing-model.md section 15)
    FWSIGN_DELTA_INFO))
_TRY_EACH: Final = int(Command.DIRECTIVE_TRY_EACH)
_IMAGE_DIGEST: Final = int(Parameter.IMAGE_DIGEST)
_RUN_SEQUENCE: Final = int(Command.DIRECTIVE_RUN_SEQUENCE)


def _broken(exc: FwsignError, option: bool = False) -> CommandSequence:
    return CommandSequence((Cmd(0, Broken(exc, option)),))


def _lazy_sequence(data: bytes, ctx: _Ctx, path: str, depth: int) -> CommandSequence:
    try:
        # deeper than the processor ever runs (it refuses at the limit): not decoded
        value = _sequence_items(data, ctx, path, depth, ctx.limits.max_sequence_depth + 2)
    except (DecodeError, LimitError) as exc:
        return _broken(exc)
    n = len(value)
    cmds: list[Cmd] = []
    for i in range(0, n, 2):
        label, arg = value[i], value[i + 1]
        here = f"{path}[{i}]"
        try:
            if type(label) is not int:
                raise DecodeError(f"command label must be an int, found {_type_name(label)}", path=here)
            cmds.append(Cmd(label, _lazy_arg(label, arg, ctx, here, depth)))
        except DecodeError as exc:
            cmds.append(Cmd(label if type(label) is int else 0, Broken(exc)))
    return CommandSequence(tuple(cmds))


def _lazy_arg(label: int, arg: CBORValue, ctx: _Ctx, path: str, depth: int) -> CommandArg:
    if label in _REP_POLICY_COMMANDS:
        if type(arg) is not int or arg < 0:
            _fail("reporting policy (uint)", arg, f"{path}({_COMMAND_NAMES[label]})")
        return arg
    if label == _TRY_EACH:
        p = f"{path}(directive-try-each)"
        _expect(isinstance(arg, tuple), "try-each array", arg, p)
        assert isinstance(arg, tuple)
        if len(arg) < 2:
            options = tuple(_lazy_sequence(s, ctx, f"{p}[{j}]", depth + 1) for j, s in enumerate(arg)
                            if type(s) is bytes)
            return Broken(DecodeError("try-each needs at least two alternatives", path=p),
                          partial=TryEach(options, False))
        nil_fallback = arg[-1] is None
        seqs = arg[:-1] if nil_fallback else arg
        alts: list[CommandSequence] = []
        for j, s in enumerate(seqs):
            if type(s) is bytes:
                alts.append(_lazy_sequence(s, ctx, f"{p}[{j}]", depth + 1))
            else:
                alts.append(_broken(DecodeError(f"expected bstr-wrapped command sequence, found {_type_name(s)}",
                                                path=f"{p}[{j}]"), option=True))
        if len(seqs) < 2:
            # [seq, nil]: the second alternative the CDDL requires is missing; a device
            # finds out when it reaches the nil
            alts.append(_broken(DecodeError("try-each needs at least two alternatives", path=p), option=True))
            nil_fallback = False
        return TryEach(tuple(alts), nil_fallback)
    if label == _RUN_SEQUENCE:
        p = f"{path}(directive-run-sequence)"
        _expect(type(arg) is bytes, "bstr-wrapped command sequence", arg, p)
        assert isinstance(arg, bytes)
        return _lazy_sequence(arg, ctx, p, depth + 1)
    if label in (_OVERRIDE_PARAMETERS, _SET_PARAMETERS):
        return _lenient_parameters(arg, f"{path}({_COMMAND_NAMES[label]})", ctx)
    if label == _OVERRIDE_MULTIPLE:
        # each entry's parameters as a device sets them; index type and range are judged
        # when the entry is reached (docs/processing-model.md section 14.4)
        p = f"{path}(directive-override-multiple)"
        if type(arg) is not FrozenMap:
            _fail("map of component index to parameters", arg, p)
        entries: list[tuple[CBORValue, Parameters | Broken]] = []
        for k, v in arg.items():
            try:
                entries.append((k, _lenient_parameters(v, f"{p}{{{k!r}}}", ctx)))
            except DecodeError as exc:  # not a map: refused when the entry is reached
                entries.append((k, Broken(exc)))
        return ParamsByComponent(tuple(entries))
    if label == _COPY_PARAMS:
        p = f"{path}(directive-copy-params)"
        if type(arg) is not FrozenMap:
            _fail("map of component index to parameter list", arg, p)
        return arg  # entries judged in order when the directive runs
    if label >= 0 and label not in _COMMANDS:
        raise UnsupportedError(f"unknown command {label}", path=path)
    return _decode_command_arg(label, arg, ctx, path, depth)


#: CBOR checks a device makes on a parameter value when it is set (the major type only:
#: identifier lengths, digests and component ranges are judged where they are used).
_LENIENT_TYPES: Final[dict[int, tuple[type, ...]]] = {
    int(Parameter.VENDOR_IDENTIFIER): (bytes,), int(Parameter.CLASS_IDENTIFIER): (bytes,),
    int(Parameter.DEVICE_IDENTIFIER): (bytes,), int(Parameter.IMAGE_DIGEST): (bytes,),
    int(Parameter.CONTENT): (bytes,), int(Parameter.ENCRYPTION_INFO): (bytes,),
    int(Parameter.COMPONENT_SLOT): (int,), int(Parameter.IMAGE_SIZE): (int,), int(Parameter.SOURCE_COMPONENT): (int,),
    int(Parameter.STRICT_ORDER): (bool,), int(Parameter.SOFT_FAILURE): (bool,), int(Parameter.URI): (str,),
    FWSIGN_DELTA_INFO: (bytes,),
    int(Parameter.USE_BEFORE): (int,), int(Parameter.MINIMUM_BATTERY): (int,),
    int(Parameter.VERSION): (bytes,), int(Parameter.WAIT_INFO): (bytes,),
}
#: update-priority is an int of either sign (UM section 4.3).
_UPDATE_PRIORITY: Final = int(Parameter.UPDATE_PRIORITY)
_OVERRIDE_MULTIPLE: Final = int(Command.DIRECTIVE_OVERRIDE_MULTIPLE)
_COPY_PARAMS: Final = int(Command.DIRECTIVE_COPY_PARAMS)


#: The label under which a lenient parameters map keeps the entry it could not accept.
BROKEN_PARAMETER: Final = -(1 << 63)


def _lenient_parameters(value: CBORValue, path: str, ctx: _Ctx) -> Parameters:
    """A parameters map as a device sets it: entry by entry, in order. The first entry a
    device would refuse is kept as :class:`Broken` (under BROKEN_PARAMETER) and ends the
    map: the processor sets the entries before it, then raises."""
    if type(value) is not FrozenMap:
        _fail("SUIT_Parameters map", value, path)
    items: list[tuple[int, ParamValue]] = []
    broken = False
    seen = ctx.seen
    for key, v in value.items():
        if broken:
            # never set (the processor stops at the broken entry), but still there for
            # whoever asks which uris the manifest names
            if type(key) is int:
                items.append((key, v))
                if seen is not None and key in seen:
                    seen[key].append(v)
            continue
        try:
            if type(key) is not int:
                raise DecodeError(f"parameter key must be an int, found {_type_name(key)}", path=path)
            if key not in PROCESSOR_PARAMETERS:
                raise UnsupportedError(f"parameter {key} is not supported by the processor", path=path)
            if key == _UPDATE_PRIORITY:
                if type(v) is not int:
                    _fail("int", v, _param_path(path, key))
                items.append((key, v))
                continue
            kinds = _LENIENT_TYPES[key]
            if type(v) not in kinds or (kinds == (int,) and v < 0):  # type: ignore[operator]
                _fail("bstr" if kinds == (bytes,) else "uint" if kinds == (int,) else
                      "bool" if kinds == (bool,) else "tstr", v, _param_path(path, key))
        except DecodeError as exc:
            items.append((BROKEN_PARAMETER, Broken(exc)))
            broken = True
            continue
        value_: ParamValue = v
        if key == _IMAGE_DIGEST:
            # parsed now where it parses (the same answer the processor would get where the
            # digest is used); kept as the bytes where it does not, for the processor to refuse
            assert isinstance(v, bytes)
            with contextlib.suppress(DecodeError):
                value_ = decode_digest(v, ctx.limits, "")  # an error is raised again, with its path, where used
        items.append((key, value_))
        if seen is not None and key in seen:
            seen[key].append(value_)
    return Parameters(tuple(items))


# -- text ----------------------------------------------------------------------------


def decode_text(data: bytes, ctx: _Ctx, path: str) -> TextMap:
    value = loads(data, ctx.limits, path=path)
    _expect(isinstance(value, FrozenMap) and len(value) > 0, "text map", value, path)
    assert isinstance(value, FrozenMap)
    langs: list[tuple[str, LanguageText]] = []
    for lang, lmap in value.items():
        _expect(isinstance(lang, str), "language tag (tstr)", lang, path)
        assert isinstance(lang, str)
        lp = f"{path}[{lang!r}]"
        _expect(isinstance(lmap, FrozenMap), "text map for one language", lmap, lp)
        assert isinstance(lmap, FrozenMap)
        manifest_texts: list[tuple[int, str]] = []
        comps: list[tuple[ComponentId, tuple[tuple[int, str], ...]]] = []
        for k, v in lmap.items():
            if _is_int(k):
                assert isinstance(k, int)
                _expect(isinstance(v, str), "tstr", v, f"{lp}.{k}")
                assert isinstance(v, str)
                manifest_texts.append((k, v))
            elif isinstance(k, tuple):
                cid = _component_id(k, f"{lp}.component")
                _expect(isinstance(v, FrozenMap), "component text map", v, f"{lp}.component")
                assert isinstance(v, FrozenMap)
                entries: list[tuple[int, str]] = []
                for ck, cv in v.items():
                    _expect(_is_int(ck), "text key (int)", ck, f"{lp}.component")
                    _expect(isinstance(cv, str), "tstr", cv, f"{lp}.component.{ck!r}")
                    assert isinstance(ck, int) and isinstance(cv, str)
                    entries.append((ck, cv))
                comps.append((cid, tuple(entries)))
            else:
                raise DecodeError(f"unexpected text key {k!r}", path=lp)
        langs.append((lang, LanguageText(tuple(manifest_texts), tuple(comps))))
    return TextMap(tuple(langs))


# -- manifest ------------------------------------------------------------------------


def _component_id(value: CBORValue, path: str) -> ComponentId:
    if type(value) is not tuple:
        _fail("component identifier ([* bstr])", value, path)
    for j, part in enumerate(value):
        if type(part) is not bytes:
            _fail("bstr", part, f"{path}[{j}]")
    return value  # type: ignore[return-value]  # every element checked to be bytes


def _decode_common(data: bytes, ctx: _Ctx, path: str) -> Common:
    value = loads(data, ctx.limits, path=path)
    if type(value) is not FrozenMap:
        _fail("SUIT_Common map", value, path)
    for key in value:
        if key != _COMPONENTS and key != _SHARED_SEQUENCE:
            if key == CommonKey.DEPENDENCIES:
                raise UnsupportedError(
                    "dependencies (trust domains) are not supported", path=f"{path}.dependencies"
                )
            raise UnsupportedError(f"unknown common member {key!r}", path=path)
    comps = value.get(_COMPONENTS)
    if comps is None:
        raise DecodeError("common has no components", path=f"{path}.components")
    if type(comps) is not tuple or not comps:
        _fail("non-empty components array", comps, f"{path}.components")
    if len(comps) > ctx.limits.max_components:
        raise LimitError(
            f"{len(comps)} components exceed the limit of {ctx.limits.max_components}", path=f"{path}.components"
        )
    for i, c in enumerate(comps):
        if type(c) is not tuple or not all(type(part) is bytes for part in c):
            _component_id(c, f"{path}.components[{i}]")  # raises, naming the element
    components: tuple[ComponentId, ...] = comps  # type: ignore[assignment]  # checked above
    if len(set(components)) != len(components):
        raise DecodeError("duplicate component identifier", path=f"{path}.components")
    ctx.n_components = len(components)
    shared = value.get(_SHARED_SEQUENCE)
    seq = None
    if shared is not None:
        sp = f"{path}.shared-sequence"
        if type(shared) is not bytes:
            _fail("bstr-wrapped command sequence", shared, sp)
        seq = decode_sequence(shared, ctx, sp)
    return Common(components, seq)


def _severable(value: CBORValue, ctx: _Ctx, path: str) -> Severable:
    if isinstance(value, tuple):
        return decode_digest_value(value, path)
    _expect(isinstance(value, bytes), "bstr-wrapped command sequence or SUIT_Digest", value, path)
    assert isinstance(value, bytes)
    return decode_sequence(value, ctx, path)


#: Manifest members whose value is a bstr-wrapped command sequence, never severed.
_SEQUENCE_MEMBERS = (ManifestKey.VALIDATE, ManifestKey.LOAD, ManifestKey.INVOKE)
_MANIFEST_PATHS: dict[int, str] = {int(m): f"manifest.{display(m)}" for m in ManifestKey}


def decode_manifest(data: bytes, limits: Limits = DEFAULT_LIMITS, path: str = "manifest", *,
                    lazy: bool = False, seen: dict[int, list[ParamValue]] | None = None) -> Manifest:
    """Decode the content of the envelope's manifest bstr.

    ``lazy``: decode the command sequences as a device runs them (errors kept as
    :class:`Broken` commands for the processor to raise when it reaches them) and leave the
    text map undecoded; verification uses this, tools use the strict form. ``seen`` (lazy
    only) collects the values of the parameter keys it holds, from the shared sequence and
    the five command sequences.
    """
    ctx = _Ctx(limits, lazy, seen if lazy else None)
    value = loads(data, limits, path=path)
    if type(value) is not FrozenMap:
        _fail("SUIT_Manifest map", value, path)
    for key in value:
        if type(key) is not int:
            raise DecodeError(f"manifest key must be an int, found {key!r}", path=path)
        if key not in _MANIFEST_KEYS:
            raise UnsupportedError(f"unknown manifest member {key}", path=path)

    if path == "manifest":
        paths = _MANIFEST_PATHS
    else:
        paths = {int(m): f"{path}.{display(m)}" for m in ManifestKey}

    version = value.get(ManifestKey.ENCODING_VERSION)
    if version != MANIFEST_VERSION or type(version) is not int:
        raise DecodeError(
            f"manifest version must be {MANIFEST_VERSION}, found {version!r}",
            path=paths[ManifestKey.ENCODING_VERSION],
        )
    seqnum = value.get(ManifestKey.SEQUENCE_NUMBER)
    if type(seqnum) is not int or seqnum < 0:
        _fail("sequence number (uint)", seqnum, paths[ManifestKey.SEQUENCE_NUMBER])
    common_raw = value.get(ManifestKey.COMMON)
    if type(common_raw) is not bytes:
        _fail("bstr-wrapped SUIT_Common", common_raw, paths[ManifestKey.COMMON])
    common = _decode_common(common_raw, ctx, paths[ManifestKey.COMMON])

    ref = value.get(ManifestKey.REFERENCE_URI)
    if ref is not None and type(ref) is not str:
        _fail("reference URI (tstr)", ref, paths[ManifestKey.REFERENCE_URI])

    sequences: dict[int, CommandSequence] = {}
    for key in _SEQUENCE_MEMBERS:
        raw = value.get(key)
        if raw is not None:
            if type(raw) is not bytes:
                _fail("bstr-wrapped command sequence", raw, paths[key])
            sequences[key] = decode_sequence(raw, ctx, paths[key])
    fetch_raw = value.get(ManifestKey.PAYLOAD_FETCH)
    install_raw = value.get(ManifestKey.INSTALL)
    payload_fetch = None if fetch_raw is None else _severable(fetch_raw, ctx, paths[ManifestKey.PAYLOAD_FETCH])
    install = None if install_raw is None else _severable(install_raw, ctx, paths[ManifestKey.INSTALL])

    text_raw = value.get(ManifestKey.TEXT)
    text: TextMap | Digest | None = None
    if isinstance(text_raw, tuple):
        text = decode_digest_value(text_raw, paths[ManifestKey.TEXT])
    elif text_raw is not None:
        if type(text_raw) is not bytes:
            _fail("bstr-wrapped text map or SUIT_Digest", text_raw, paths[ManifestKey.TEXT])
        if not lazy:
            text = decode_text(text_raw, ctx, paths[ManifestKey.TEXT])

    extensions: list[tuple[int, CBORValue]] = []
    ctx.seen = None  # extension members are not among the sequences a verifier runs
    for key, raw in value.items():
        if key not in _EXTENSION_MEMBERS:
            continue
        assert isinstance(key, int)
        mk = _MANIFEST_KEYS[key]
        if mk == ManifestKey.MANIFEST_COMPONENT_ID:
            _component_id(raw, paths[mk])
        elif mk == ManifestKey.UNINSTALL:
            # Trust-domains sequences: checked for well-formedness, kept as decoded.
            _expect(isinstance(raw, bytes), "bstr-wrapped command sequence", raw, paths[mk])
            assert isinstance(raw, bytes)
            decode_sequence(raw, ctx, paths[mk])
        elif mk in (ManifestKey.DEPENDENCY_RESOLUTION, ManifestKey.CANDIDATE_VERIFICATION):
            _severable(raw, ctx, paths[mk])
        elif mk == ManifestKey.SET_VERSION:
            _expect(type(raw) is bytes, "bstr-wrapped version ([+ int])", raw, paths[mk])
            assert isinstance(raw, bytes)
            decode_version_value(loads(raw, limits, path=paths[mk]), limits, paths[mk])
        elif isinstance(raw, tuple):  # COSWID as a digest
            decode_digest_value(raw, paths[mk])
        else:
            _expect(isinstance(raw, bytes), "bstr-wrapped CoSWID or SUIT_Digest", raw, paths[mk])
        extensions.append((key, raw))

    return Manifest(
        sequence_number=seqnum,
        common=common,
        reference_uri=ref,
        validate=sequences.get(ManifestKey.VALIDATE),
        load=sequences.get(ManifestKey.LOAD),
        invoke=sequences.get(ManifestKey.INVOKE),
        payload_fetch=payload_fetch,
        install=install,
        text=text,
        extensions=tuple(extensions),
        version=MANIFEST_VERSION,
    )


_EXTENSION_MEMBERS = frozenset({
    ManifestKey.MANIFEST_COMPONENT_ID, ManifestKey.DEPENDENCY_RESOLUTION, ManifestKey.CANDIDATE_VERIFICATION,
    ManifestKey.UNINSTALL, ManifestKey.COSWID, ManifestKey.SET_VERSION,
})


# -- envelope ------------------------------------------------------------------------


def decode_auth_wrapper(data: bytes, limits: Limits, path: str = "authentication-wrapper") -> AuthWrapper:
    value = loads(data, limits, path=path)
    _expect(isinstance(value, tuple) and len(value) >= 1, "authentication wrapper array", value, path)
    assert isinstance(value, tuple)
    if len(value) - 1 > limits.max_auth_blocks:
        raise LimitError(
            f"{len(value) - 1} authentication blocks exceed the limit of {limits.max_auth_blocks}", path=path
        )
    first = value[0]
    _expect(isinstance(first, bytes), "bstr-wrapped SUIT_Digest", first, f"{path}[0]")
    assert isinstance(first, bytes)
    digest = decode_digest(first, limits, f"{path}[0]")
    blocks: list[AuthBlock] = []
    for i, b in enumerate(value[1:], start=1):
        _expect(isinstance(b, bytes), "bstr-wrapped COSE message", b, f"{path}[{i}]")
        assert isinstance(b, bytes)
        blocks.append(AuthBlock(decode_cose(b, limits, f"{path}[{i}]"), b))
    return AuthWrapper(digest, tuple(blocks))


def decode_envelope(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Envelope:
    """Decode a SUIT_Envelope (tagged 107 or untagged) from untrusted bytes, strictly and whole."""
    parts = decode_envelope_parts(data, limits)
    manifest = decode_manifest(parts.manifest_bytes, limits)
    # Severed members are checked for shape here and for their digest in verification.
    ctx = _Ctx(limits)
    ctx.n_components = len(manifest.common.components)
    for key, raw in parts.severed:
        p = _ENVELOPE_NAMES[key]
        if key == EnvelopeKey.TEXT:
            decode_text(raw, ctx, p)
        elif key in (EnvelopeKey.PAYLOAD_FETCH, EnvelopeKey.INSTALL,
                     EnvelopeKey.DEPENDENCY_RESOLUTION, EnvelopeKey.CANDIDATE_VERIFICATION):
            decode_sequence(raw, ctx, p)
    return parts.with_manifest(manifest)


def decode_envelope_parts(data: bytes, limits: Limits = DEFAULT_LIMITS) -> EnvelopeParts:
    """The envelope map and the authentication wrapper, without decoding the manifest."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("envelope must be bytes")
    data = bytes(data)
    if len(data) > limits.max_envelope_bytes:
        raise LimitError(
            f"envelope of {len(data)} bytes exceeds the limit of {limits.max_envelope_bytes}",
            path="envelope",
        )
    if not data:
        raise DecodeError("empty input", path="envelope")
    top = loads(data, limits, path="envelope",
                string_limit=max(limits.max_string_bytes, limits.max_integrated_payload_bytes))
    tagged = False
    if isinstance(top, Tag):
        if top.tag != TAG_ENVELOPE:
            raise DecodeError(f"unexpected tag {top.tag}; a SUIT envelope has tag {TAG_ENVELOPE}", path="envelope")
        tagged, top = True, top.value
    _expect(isinstance(top, FrozenMap), "SUIT_Envelope map", top, "envelope")
    assert isinstance(top, FrozenMap)

    keys = list(top)
    auth_raw = top.get(EnvelopeKey.AUTHENTICATION_WRAPPER)
    if auth_raw is None:
        raise DecodeError("envelope has no authentication wrapper", path="authentication-wrapper")
    # The wrapper must come first so a streaming device can hash the manifest as it
    # arrives (draft section 8.3); only the delegation chain may precede it.
    allowed_first = [EnvelopeKey.AUTHENTICATION_WRAPPER]
    if keys[0] == EnvelopeKey.DELEGATION:
        allowed_first = [EnvelopeKey.DELEGATION, EnvelopeKey.AUTHENTICATION_WRAPPER]
    if keys[: len(allowed_first)] != allowed_first:
        raise DecodeError("authentication wrapper is not the first member", path="envelope")

    severed: list[tuple[int, bytes]] = []
    payloads: list[tuple[str, bytes]] = []
    manifest_bytes: bytes | None = None
    delegation: CBORValue | None = None
    for key, value in top.items():
        if isinstance(key, str):
            _expect(isinstance(value, bytes), "integrated payload (bstr)", value, f"envelope[{key!r}]")
            assert isinstance(value, bytes)
            payloads.append((key, value))
            continue
        if not _is_int(key):
            raise DecodeError(f"envelope key must be an int or tstr, found {_type_name(key)}", path="envelope")
        assert isinstance(key, int)
        p = _ENVELOPE_NAMES.get(key)
        if p is None:
            raise UnsupportedError(f"unknown envelope member {key}", path="envelope")
        if key == _DELEGATION:
            # suit-delegation => bstr .cbor SUIT_Delegation (draft-ietf-suit-trust-domains);
            # the chains inside are interpreted by fwsign.delegation.
            if type(value) is not bytes:
                _fail("bstr-wrapped SUIT_Delegation", value, p)
            delegation = loads(value, limits, path=p)
            if type(delegation) is not tuple:
                _fail("SUIT_Delegation array of chains", delegation, p)
            continue
        if type(value) is not bytes:
            _fail("bstr", value, p)
        if key == _MANIFEST:
            manifest_bytes = value
        elif key != _AUTHENTICATION_WRAPPER:
            severed.append((key, value))

    if manifest_bytes is None:
        raise DecodeError("envelope has no manifest", path="manifest")
    assert isinstance(auth_raw, bytes) or auth_raw is not None
    _expect(isinstance(auth_raw, bytes), "bstr-wrapped authentication wrapper", auth_raw, "authentication-wrapper")
    assert isinstance(auth_raw, bytes)
    auth = decode_auth_wrapper(auth_raw, limits)
    return EnvelopeParts(
        auth=auth,
        manifest_bytes=manifest_bytes,
        severed=tuple(severed),
        payloads=tuple(payloads),
        delegation=delegation,
        tagged=tagged,
        raw=data,
    )


def decode_severed_sequence(env: Envelope, key: int, limits: Limits = DEFAULT_LIMITS, *,
                            lazy: bool = False, seen: dict[int, list[ParamValue]] | None = None,
                            ) -> CommandSequence | None:
    """The severed command sequence at ``key`` from the envelope, decoded, if present."""
    raw = env.severed_member(key)
    if raw is None:
        return None
    ctx = _Ctx(limits, lazy, seen if lazy else None)
    ctx.n_components = len(env.manifest.common.components)
    return decode_sequence(raw, ctx, _ENVELOPE_NAMES[key])


def decode_severed_text(env: Envelope, limits: Limits = DEFAULT_LIMITS) -> TextMap | None:
    raw = env.severed_member(EnvelopeKey.TEXT)
    if raw is None:
        return None
    ctx = _Ctx(limits)
    return decode_text(raw, ctx, "text")
