"""COSE header maps and the rules fwsign applies to them (RFC 9052 section 3).

Two rule sets live here, one for each kind of COSE structure fwsign reads:

* **Authentication blocks** (COSE_Sign1 / COSE_Mac0 in the SUIT authentication wrapper):
  the protected bucket is canonical CBOR; labels are ints or tstrs; a label may sit in
  one bucket only; ``alg`` is an int and must be protected; ``crit`` may name only the
  labels this implementation understands; ``kid`` is a bstr in either bucket.
  :func:`check_header_map` and :func:`check_auth_headers` raise
  :class:`~fwsign.errors.DecodeError` (or ``unsupported`` for a critical label).
* **Explicitly allowed labels** (SUIT_Encryption_Info's COSE_Encrypt and its recipients):
  int labels only, each bucket with its own set of allowed labels, ``crit`` not
  supported, non-canonical CBOR accepted, an empty protected map encoded as a zero-length
  bstr. :func:`labelled_map`, :func:`decode_protected` and :func:`merge_buckets` take
  the caller's error constructor so each structure reports in its own terms.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Final

from .. import cbor
from ..cbor import FrozenMap, Tag
from ..errors import DecodeError, FwsignError, UnsupportedError
from ..limits import Limits


class CoseHeader(IntEnum):
    ALG = 1
    CRIT = 2
    CONTENT_TYPE = 3
    KID = 4
    IV = 5
    PARTIAL_IV = 6


_ALG: Final = 1
_CRIT: Final = 2
_KID: Final = 4

#: Labels an authentication block may list as critical: the ones this implementation understands.
UNDERSTOOD_CRITICAL: Final[frozenset[int]] = frozenset({1, 2, 3, 4})


def protected_header(alg: int, kid: bytes | None = None, *, kid_protected: bool = True) -> bytes:
    """Serialized protected header: alg (and kid, when protected)."""
    header: dict[int, object] = {CoseHeader.ALG: alg}
    if kid is not None and kid_protected:
        header[CoseHeader.KID] = kid
    return cbor.dumps(header)


# -- authentication blocks ----------------------------------------------------------


def type_name(v: object) -> str:
    """The CDDL name of a decoded value's type, for error messages."""
    return {
        bool: "bool",
        int: "int",
        bytes: "bstr",
        str: "tstr",
        tuple: "array",
        FrozenMap: "map",
        Tag: "tag",
        type(None): "nil",
    }.get(type(v), type(v).__name__)


def expected(what: str, value: object, path: str) -> DecodeError:
    """The decoder's error for a value of the wrong shape."""
    return DecodeError(f"expected {what}, found {type_name(value)}", path=path)


def check_header_map(value: object, path: str) -> FrozenMap:
    """A header bucket of an authentication block: a map with int or tstr labels."""
    if not isinstance(value, FrozenMap):
        raise expected("header map", value, path)
    for label in value:
        if not (type(label) is int or isinstance(label, str)):
            raise expected("header label (int or tstr)", label, path)
    return value


def check_auth_headers(pmap: FrozenMap, umap: FrozenMap, path: str) -> None:
    """The rules across the two buckets of an authentication block (see the module docstring)."""
    dup = set(pmap) & set(umap) if umap else None
    if dup:
        raise DecodeError(
            f"header label(s) {sorted(map(str, dup))} in both protected and unprotected buckets",
            path=path,
        )
    alg = pmap.get(_ALG)
    if _ALG in umap:
        raise DecodeError("algorithm must be in the protected header", path=f"{path}.unprotected")
    if type(alg) is not int:
        raise expected("algorithm id in the protected header", alg, f"{path}.protected.alg")
    crit = pmap.get(_CRIT)
    if crit is not None:
        if not (isinstance(crit, tuple) and len(crit) > 0):
            raise expected("non-empty crit array", crit, f"{path}.protected.crit")
        for label in crit:
            if label not in UNDERSTOOD_CRITICAL:
                raise UnsupportedError(f"critical header {label!r} is not understood", path=f"{path}.protected.crit")
    kid = pmap.get(_KID, umap.get(_KID))
    if kid is not None and type(kid) is not bytes:
        raise expected("kid (bstr)", kid, f"{path}.kid")


# -- explicitly allowed labels ------------------------------------------------------

#: Builds the caller's error from a message and a path.
Fail = Callable[[str, str], FwsignError]


def labelled_map(value: object, path: str, allowed: frozenset[int], fail: Fail) -> dict[int, object]:
    """A header bucket whose labels are ints from ``allowed``; ``crit`` is not supported."""
    if not isinstance(value, FrozenMap):
        raise fail("header must be a map", path)
    out: dict[int, object] = {}
    for k, v in value.items():
        if not isinstance(k, int) or isinstance(k, bool):
            raise fail(f"header label {k!r} is not an integer", path)
        if k == _CRIT:
            raise UnsupportedError("critical header parameters are not supported", path=path)
        if k not in allowed:
            raise UnsupportedError(f"header label {k} is not supported here", path=path)
        out[k] = v
    return out


def decode_protected(raw: object, path: str, allowed: frozenset[int], limits: Limits,
                     fail: Fail) -> tuple[bytes, dict[int, object]]:
    """The protected bucket: its bytes as received and its labels (an empty map is ``h''``)."""
    if not isinstance(raw, bytes):
        raise fail("protected header must be a byte string", path)
    if not raw:
        return raw, {}
    try:
        decoded = cbor.loads(raw, limits, path=path, require_canonical=False)
    except DecodeError as exc:
        raise fail(f"protected header is not well-formed CBOR: {exc.message}", path) from None
    headers = labelled_map(decoded, path, allowed, fail)
    if not headers:
        raise fail("an empty protected header must be encoded as a zero-length byte string", path)
    return raw, headers


def merge_buckets(prot: dict[int, object], unprot: dict[int, object], path: str, fail: Fail) -> dict[int, object]:
    """Both buckets as one map; a label in both is refused."""
    both = set(prot) & set(unprot)
    if both:
        raise fail(f"header label {min(both)} is in both the protected and the unprotected header", path)
    return {**prot, **unprot}


__all__ = [
    "UNDERSTOOD_CRITICAL",
    "CoseHeader",
    "Fail",
    "check_auth_headers",
    "check_header_map",
    "decode_protected",
    "expected",
    "labelled_map",
    "merge_buckets",
    "protected_header",
    "type_name",
]
