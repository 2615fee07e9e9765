"""Signing TUF metadata: canonical bytes once per role, signatures over them, the file around them.

python-tuf signs ``Metadata.signed_bytes``: the role's ``signed`` object in the canonical
JSON form of securesystemslib (OLPC canonical JSON: keys sorted, no insignificant
whitespace, strings escaping only ``\\`` and ``"``, integers only). Its encoder is pure
Python and runs once per signature and once per check, which at a thousand hash bins of a
hundred entries each is most of a publish. Here the canonical bytes of a role are made
once, by the C JSON encoder where that provably gives the same bytes, and every signature,
every threshold check and the written file use those same bytes:

* :func:`canonical_bytes` takes the fast path only when its output has no backslash (so
  no string needed escaping, which is where the two encoders differ: JSON escapes control
  characters, canonical JSON keeps them raw) and no number that could be a float (canonical
  JSON has none); anything else goes through securesystemslib's encoder, which also
  refuses what canonical JSON cannot hold.
* :func:`metadata_file` writes ``{"signatures":[...],"signed":<canonical bytes>}``: the
  signed part of the file is exactly what was signed, so what a client parses and
  re-encodes is what was hashed and signed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from securesystemslib.signer import Key, Signature, Signer  # type: ignore[attr-defined]

from ..errors import RepoError

#: With no escapes in the output every string is exactly '"' [^"]* '"'; what is left
#: between them holds a float only as a digit followed by a fraction or an exponent.
_STRING = re.compile(rb'"[^"]*"')
_FLOAT = re.compile(rb"[0-9][.eE]")
_CONTROL = re.compile(rb"[\x00-\x1f]")


def canonical_bytes(signed: Mapping[str, Any]) -> bytes:
    """The canonical JSON (securesystemslib ``encode_canonical``) of ``signed``, UTF-8 encoded."""
    try:
        text = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RepoError(f"metadata cannot be encoded as canonical JSON: {exc}") from None
    data = text.encode("utf-8")
    if b"\\" not in data and _FLOAT.search(_STRING.sub(b"", data)) is None:
        return data
    return _slow_canonical(signed)


def _slow_canonical(signed: Mapping[str, Any]) -> bytes:
    from securesystemslib.formats import encode_canonical  # type: ignore[attr-defined]

    try:
        return str(encode_canonical(dict(signed))).encode("utf-8")
    except Exception as exc:  # securesystemslib's FormatError for floats and other non-canonical values
        raise RepoError(f"metadata cannot be encoded as canonical JSON: {exc}") from None


@dataclass(frozen=True)
class Sealed:
    """A role version ready to write: its canonical signed bytes, signatures and file bytes."""

    role: str
    version: int
    signed: bytes
    signatures: tuple[Signature, ...]
    data: bytes


def sign_bytes(payload: bytes, signers: Mapping[str, Signer], existing: Mapping[str, Signature]) -> dict[str, Signature]:
    """``existing`` plus one signature over ``payload`` by each of ``signers`` not already present."""
    out = dict(existing)
    for keyid, signer in signers.items():
        if keyid in out:
            continue
        try:
            sig = signer.sign(payload)
        except Exception as exc:  # a KMS, HSM or file signer failing in its own way
            raise RepoError(f"signing with key {keyid[:12]} failed: {type(exc).__name__}: {exc}") from None
        out[sig.keyid] = sig
    return out


def count_valid(payload: bytes, signatures: Mapping[str, Signature], keys: Mapping[str, Key]) -> int:
    """How many distinct keys of ``keys`` have a valid signature over ``payload`` in ``signatures``."""
    valid = 0
    for keyid, key in keys.items():
        sig = signatures.get(keyid)
        if sig is None:
            continue
        try:
            key.verify_signature(sig, payload)
        except Exception:  # securesystemslib's UnverifiedSignatureError and VerificationError
            continue
        valid += 1
    return valid


def metadata_file(signed: bytes, signatures: Mapping[str, Signature]) -> bytes:
    """The metadata file: the signatures, then ``signed`` verbatim (compact JSON, keys sorted).

    Canonical JSON keeps control characters in strings raw (a PEM public key's line
    breaks), which JSON does not allow; such a role is written as ordinary JSON of the
    same values instead (a client parses it and re-encodes the same canonical bytes).
    """
    sigs = json.dumps([s.to_dict() for s in signatures.values()], sort_keys=True, separators=(",", ":"))
    if _CONTROL.search(signed) is not None:
        value = json.loads(signed.decode("utf-8"), strict=False)
        signed = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return b'{"signatures":' + sigs.encode() + b',"signed":' + signed + b"}"


def seal(role: str, signed_dict: Mapping[str, Any], signers: Mapping[str, Signer],
         existing: Mapping[str, Signature] | None = None) -> Sealed:
    """Canonicalise ``signed_dict`` once, sign it with ``signers``, and build the file."""
    payload = canonical_bytes(signed_dict)
    sigs = sign_bytes(payload, signers, existing or {})
    version = signed_dict.get("version")
    if not isinstance(version, int):
        raise RepoError(f"{role} metadata has no integer version")
    return Sealed(role, version, payload, tuple(sigs.values()), metadata_file(payload, sigs))
