"""Delegation of signing keys (draft-ietf-suit-trust-domains, envelope member 1).

An offline trust-anchor key, the one provisioned into devices, issues a CWT (RFC 8392) that
binds an online signing key and limits it in time and scope; the envelope carries the chain
and the verifier accepts a signature by the delegated key only when every link verifies back
to a trusted anchor. Teams can then rotate signing keys without touching devices.

Encoding (all deterministic CBOR):

* envelope member 1 ``suit-delegation``: ``bstr .cbor [ + [ + bstr .cbor CWT ] ]`` -- one
  or more chains, each ordered from the anchor's delegation to the signing key's;
* each CWT is a tagged COSE_Sign1 (tag 18) with an attached payload, the claims map, and
  ``alg`` and ``kid`` (the issuer's key id) in the protected header; it is built and its
  Sig_structure formed by :mod:`fwsign.cose.sign` (the payload takes the place the
  detached SUIT_Digest has in an authentication block), and its signature is checked
  with the issuer's key by :func:`fwsign.keys.verify_raw`;
* claims: ``iss`` (1, the issuer's key id as lower-case hex), ``sub`` (2, the subject key's
  id as hex), ``exp`` (4), ``nbf`` (5), ``iat`` (6) as NumericDate, ``cnf`` (8) holding
  ``{1: COSE_Key}`` (RFC 8747 section 3.2) of the delegated key, and the scope claim
  ``-65537`` (private use, RFC 8392 section 9.1) ``{1: vendor-id, 2: [+ class-id]}``: either
  member may be left out (no restriction of that kind).

Verification rules (each failure rejects the envelope): the first link is signed by a
trusted key and names it as ``iss``; each later link is signed by the key the previous link
confirmed; every link is within ``nbf``..``exp`` at the verifier's time; a link's scope may
only narrow its issuer's; at most ``max_chain`` links; and the manifest's vendor and class
identifiers must lie inside the final scope of every delegated key whose signature counted.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import cbor
from .cbor import FrozenMap, Tag
from .cose.algs import SUPPORTED_ALGS
from .cose.headers import CoseHeader, protected_header
from .cose.messages import TAG_COSE_SIGN1
from .cose.sign import assemble, to_be_signed
from .errors import DelegationError, FwsignError
from .keys import PublicKey, Signer, cose_key_map, decode_cose_key, key_id, key_kind, verify_raw

CLAIM_ISS, CLAIM_SUB, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CNF = 1, 2, 4, 5, 6, 8
CNF_COSE_KEY = 1
#: Private-use CWT claim for the SUIT scope a delegation grants.
CLAIM_SCOPE = -65537
SCOPE_VENDOR, SCOPE_CLASSES = 1, 2

DEFAULT_MAX_CHAIN = 3
MAX_CHAINS = 4
MAX_CWT_BYTES = 2048
MAX_CLASSES = 64


@dataclass(frozen=True)
class Scope:
    """Vendor and classes a delegated key may sign for; None means unrestricted."""

    vendor_id: bytes | None = None
    class_ids: frozenset[bytes] | None = None

    def narrows(self, parent: Scope) -> bool:
        if parent.vendor_id is not None and self.vendor_id != parent.vendor_id:
            return False
        return parent.class_ids is None or (self.class_ids is not None and self.class_ids <= parent.class_ids)

    def describe(self) -> str:
        v = self.vendor_id.hex() if self.vendor_id else "any vendor"
        c = ", ".join(sorted(x.hex() for x in self.class_ids)) if self.class_ids is not None else "any class"
        return f"{v}; {c}"


@dataclass(frozen=True)
class Delegate:
    """A key the chain delegates to, with its effective scope and the anchor it descends from."""

    key: PublicKey = field(repr=False)
    kid: bytes
    scope: Scope
    anchor_label: str
    depth: int


# -- issuing ----------------------------------------------------------------------------------


def issue(issuer: Signer, issuer_public: PublicKey, subject: PublicKey, *, expires: int, not_before: int | None = None,
          issued_at: int | None = None, scope: Scope = Scope()) -> bytes:
    """A CWT delegating ``subject`` (see the module docstring for the claims)."""
    if key_kind(subject) == "hmac":
        raise DelegationError("a delegation binds a public signing key, not a symmetric key")
    if issuer.kid is None:
        raise DelegationError("the issuer's signer must carry its key id")
    claims: dict[int, object] = {
        CLAIM_ISS: key_id(issuer_public).hex(),
        CLAIM_SUB: key_id(subject).hex(),
        CLAIM_EXP: expires,
        CLAIM_CNF: {CNF_COSE_KEY: cose_key_map(subject)},
    }
    if not_before is not None:
        claims[CLAIM_NBF] = not_before
    if issued_at is not None:
        claims[CLAIM_IAT] = issued_at
    sc: dict[int, object] = {}
    if scope.vendor_id is not None:
        sc[SCOPE_VENDOR] = scope.vendor_id
    if scope.class_ids is not None:
        sc[SCOPE_CLASSES] = sorted(scope.class_ids)
    if sc:
        claims[CLAIM_SCOPE] = sc
    payload = cbor.dumps(claims)
    protected = protected_header(issuer.alg, issuer.kid)
    signature = issuer.sign(to_be_signed(TAG_COSE_SIGN1, protected, payload))
    return assemble(TAG_COSE_SIGN1, protected, signature, payload=payload)


def delegation_member(chains: Sequence[Sequence[bytes]]) -> tuple[tuple[bytes, ...], ...]:
    """The value of envelope member 1 for these chains."""
    if not chains or len(chains) > MAX_CHAINS or any(not c for c in chains):
        raise DelegationError(f"give between 1 and {MAX_CHAINS} non-empty delegation chains")
    return tuple(tuple(c) for c in chains)


def attach(envelope: bytes, chains: Sequence[Sequence[bytes]]) -> bytes:
    """Re-encode ``envelope`` with its delegation member set (signed bytes unchanged)."""
    from dataclasses import replace

    from .suit.decode import decode_envelope
    from .suit.encode import encode_envelope

    env = decode_envelope(envelope)
    return encode_envelope(replace(env, delegation=delegation_member(chains)))


# -- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cwt:
    issuer_kid: bytes
    alg: int
    protected: bytes
    payload: bytes
    signature: bytes
    iss: str
    exp: int
    nbf: int | None
    subject: PublicKey = field(repr=False)
    scope: Scope


def parse_cwt(data: object, where: str) -> Cwt:
    """Strictly parse one CWT (bytes of a tagged COSE_Sign1 with the claims as payload)."""
    if not isinstance(data, bytes) or len(data) > MAX_CWT_BYTES:
        raise DelegationError(f"{where}: a delegation must be a bstr-wrapped CWT of at most {MAX_CWT_BYTES} bytes")
    try:
        value = cbor.loads(data)
    except FwsignError as exc:
        raise DelegationError(f"{where}: not CBOR: {exc.message}") from None
    if not isinstance(value, Tag) or value.tag != TAG_COSE_SIGN1 or not isinstance(value.value, tuple) or len(value.value) != 4:
        raise DelegationError(f"{where}: a CWT here is a tagged COSE_Sign1")
    protected, unprotected, payload, signature = value.value
    if not isinstance(protected, bytes) or not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise DelegationError(f"{where}: COSE_Sign1 members have the wrong types")
    if not isinstance(unprotected, FrozenMap) or len(unprotected):
        raise DelegationError(f"{where}: the unprotected header must be empty")
    try:
        pmap = cbor.loads(protected)
        claims = cbor.loads(payload)
    except FwsignError as exc:
        raise DelegationError(f"{where}: {exc.message}") from None
    if not isinstance(pmap, FrozenMap) or set(pmap) - {CoseHeader.ALG, CoseHeader.KID}:
        raise DelegationError(f"{where}: the protected header may hold only alg and kid")
    alg, kid = pmap.get(CoseHeader.ALG), pmap.get(CoseHeader.KID)
    if not isinstance(alg, int) or isinstance(alg, bool) or alg not in SUPPORTED_ALGS or not isinstance(kid, bytes):
        raise DelegationError(f"{where}: the protected header needs a supported alg and the issuer's kid")
    if not isinstance(claims, FrozenMap):
        raise DelegationError(f"{where}: the claims are not a map")
    unknown = set(claims) - {CLAIM_ISS, CLAIM_SUB, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CNF, CLAIM_SCOPE}
    if unknown:
        raise DelegationError(f"{where}: unknown claim(s) {sorted(map(str, unknown))}")
    iss, exp, nbf, cnf = claims.get(CLAIM_ISS), claims.get(CLAIM_EXP), claims.get(CLAIM_NBF), claims.get(CLAIM_CNF)
    if not isinstance(iss, str):
        raise DelegationError(f"{where}: iss claim missing")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise DelegationError(f"{where}: exp claim missing (delegations must expire)")
    if nbf is not None and (not isinstance(nbf, int) or isinstance(nbf, bool)):
        raise DelegationError(f"{where}: nbf claim must be a NumericDate")
    if not isinstance(cnf, FrozenMap) or set(cnf) != {CNF_COSE_KEY}:
        raise DelegationError(f"{where}: cnf claim must hold exactly a COSE_Key")
    try:
        subject = decode_cose_key(cbor.dumps(cnf[CNF_COSE_KEY]))
    except FwsignError as exc:
        raise DelegationError(f"{where}: cnf key: {exc.message}") from None
    if key_kind(subject) == "hmac":
        raise DelegationError(f"{where}: cnf must confirm a public key")
    return Cwt(kid, alg, protected, payload, signature, iss, exp, nbf, subject, _scope(claims.get(CLAIM_SCOPE), where))


def _scope(value: object, where: str) -> Scope:
    if value is None:
        return Scope()
    if not isinstance(value, FrozenMap) or set(value) - {SCOPE_VENDOR, SCOPE_CLASSES}:
        raise DelegationError(f"{where}: malformed scope claim")
    vendor, classes = value.get(SCOPE_VENDOR), value.get(SCOPE_CLASSES)
    if vendor is not None and (not isinstance(vendor, bytes) or len(vendor) != 16):
        raise DelegationError(f"{where}: scope vendor-id must be a 16-byte UUID")
    if classes is not None and (not isinstance(classes, tuple) or not classes or len(classes) > MAX_CLASSES
            or not all(isinstance(c, bytes) and len(c) == 16 for c in classes)):
        raise DelegationError(f"{where}: scope class-ids must be 1 to {MAX_CLASSES} 16-byte UUIDs")
    return Scope(vendor, frozenset(classes) if classes is not None else None)  # type: ignore[arg-type]


def resolve(delegation: Any, anchors: Sequence[Any], *, now: int | None = None, max_chain: int = DEFAULT_MAX_CHAIN) -> list[Delegate]:
    """Verify every chain back to one of ``anchors`` (TrustedKey-like: key, kid, label); the delegated keys.

    ``now`` is the verifier's time in seconds since the epoch (default: the system clock).
    """
    t = int(time.time()) if now is None else now
    if not isinstance(delegation, tuple) or not 1 <= len(delegation) <= MAX_CHAINS:
        raise DelegationError(f"the delegation member must be an array of 1 to {MAX_CHAINS} chains", path="delegation")
    out: list[Delegate] = []
    for c, chain in enumerate(delegation):
        if not isinstance(chain, tuple) or not chain:
            raise DelegationError("a delegation chain must be a non-empty array of CWTs", path=f"delegation[{c}]")
        if len(chain) > max_chain:
            raise DelegationError(f"delegation chain has {len(chain)} links; at most {max_chain} are accepted",
                                  path=f"delegation[{c}]")
        issuer_key: PublicKey | None = None
        issuer_kid = b""
        scope = Scope()
        label = ""
        for i, raw in enumerate(chain):
            where = f"delegation[{c}][{i}]"
            cwt = parse_cwt(raw, where)
            if i == 0:
                anchor = next((a for a in anchors if a.kid == cwt.issuer_kid), None)
                if anchor is None:
                    raise DelegationError(f"issued by key {cwt.issuer_kid.hex()}, which is not a trusted anchor", path=where)
                issuer_key, issuer_kid, label = anchor.key, anchor.kid, anchor.label
            elif cwt.issuer_kid != issuer_kid:
                raise DelegationError(f"issued by key {cwt.issuer_kid.hex()}, not by the key the previous link "
                                      f"delegated ({issuer_kid.hex()})", path=where)
            assert issuer_key is not None
            if cwt.iss != issuer_kid.hex():
                raise DelegationError(f"iss claim {cwt.iss!r} does not name the signing issuer {issuer_kid.hex()}", path=where)
            tbs = to_be_signed(TAG_COSE_SIGN1, cwt.protected, cwt.payload)
            if not verify_raw(issuer_key, cwt.alg, tbs, cwt.signature):
                raise DelegationError("the delegation's signature does not verify with its issuer's key", path=where)
            if t >= cwt.exp:
                raise DelegationError(f"delegation expired at {_when(cwt.exp)}", path=where, reason="delegation-expired")
            if cwt.nbf is not None and t < cwt.nbf:
                raise DelegationError(f"delegation not valid before {_when(cwt.nbf)}", path=where, reason="delegation-expired")
            if not cwt.scope.narrows(scope):
                raise DelegationError(f"scope ({cwt.scope.describe()}) widens its issuer's ({scope.describe()})",
                                      path=where, reason="delegation-scope")
            scope = Scope(cwt.scope.vendor_id if cwt.scope.vendor_id is not None else scope.vendor_id,
                          cwt.scope.class_ids if cwt.scope.class_ids is not None else scope.class_ids)
            issuer_key, issuer_kid = cwt.subject, key_id(cwt.subject)
            out.append(Delegate(cwt.subject, issuer_kid, scope, label, i + 1))
    return out


def check_scope(scope: Scope, vendor_ids: Sequence[object], class_ids: Sequence[object], who: str) -> None:
    """The manifest's identifiers must lie within ``scope`` (absent ones fail a restricted scope)."""
    if scope.vendor_id is not None and (not vendor_ids or any(v != scope.vendor_id for v in vendor_ids)):
        raise DelegationError(f"{who} may sign only for vendor {scope.vendor_id.hex()}", reason="delegation-scope")
    if scope.class_ids is not None and (not class_ids or any(c not in scope.class_ids for c in class_ids)):
        raise DelegationError(f"{who} may sign only for class(es) {', '.join(sorted(c.hex() for c in scope.class_ids))}",
                              reason="delegation-scope")


def _when(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
