"""Trust-domains delegation in the C verifier (src/delegation.c): CWT chains from a
provisioned anchor to the key that signed the envelope, checked under ASan + UBSan.

The CWTs and envelopes are built here with cbor2 + cryptography from RFC 8392 / RFC 9052
and docs/keys.md section 5 (no fwsign code), so the C side is checked against an
independent encoder; tests/test_differential.py holds it to fwsign's decisions.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._suit import SPEC_CLASS, SPEC_VENDOR, make_manifest, manifest_digest, suit_digest

NOW = 1_900_000_000
DAY = 86_400
OTHER_CLASS = bytes(range(16))

ANCHOR = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(40, 72)))
ONLINE = ec.derive_private_key(0xC0FFEE1234, ec.SECP256R1())
MIDDLE = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ROGUE = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))

Key = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def cose_key(key: Key) -> dict[int, Any]:
    """The RFC 9679 thumbprint members of the public key (RFC 9053 COSE_Key)."""
    pub = key.public_key()
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return {1: 1, -1: 6, -2: pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)}
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    n = pub.public_numbers()
    return {1: 2, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")}


def kid(key: Key) -> bytes:
    """RFC 9679 COSE Key Thumbprint (SHA-256 over the canonical required members), 8 bytes."""
    return hashlib.sha256(cbor2.dumps(cose_key(key), canonical=True)).digest()[:8]


def alg_of(key: Key) -> int:
    return -8 if isinstance(key, ed25519.Ed25519PrivateKey) else -7


def sign(key: Key, tbs: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(tbs)
    r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def claims(issuer: Key, subject: Key, *, exp: int = NOW + 30 * DAY, nbf: int | None = None,
           vendor: bytes | None = SPEC_VENDOR.bytes, classes: list[bytes] | None = None) -> dict[int, Any]:
    c: dict[int, Any] = {1: kid(issuer).hex(), 2: kid(subject).hex(), 4: exp, 8: {1: {**cose_key(subject), 2: kid(subject)}}}
    if nbf is not None:
        c[5] = nbf
    scope: dict[int, Any] = {}
    if vendor is not None:
        scope[1] = vendor
    if classes is not None:
        scope[2] = classes
    if scope:
        c[-65537] = scope
    return c


def cwt(issuer: Key, subject: Key | None = None, *, payload: dict[Any, Any] | None = None,
        protected: dict[int, Any] | None = None, **kw: Any) -> bytes:
    """A CWT: tagged COSE_Sign1 with the claims attached, signed by ``issuer``."""
    if payload is None:
        assert subject is not None
        kw.setdefault("classes", [SPEC_CLASS.bytes])
        payload = claims(issuer, subject, **kw)
    prot = cbor2.dumps(protected if protected is not None else {1: alg_of(issuer), 4: kid(issuer)}, canonical=True)
    body = cbor2.dumps(payload, canonical=True)
    sig = sign(issuer, cbor2.dumps(["Signature1", prot, b"", body]))
    return cbor2.dumps(cbor2.CBORTag(18, [prot, {}, body, sig]))


def manifest(class_id: bytes = SPEC_CLASS.bytes, *, vendor: bytes = SPEC_VENDOR.bytes, conditions: bool = True) -> bytes:
    params = {1: vendor, 2: class_id, 3: suit_digest(b"fw"), 14: 2}
    shared: list[Any] = [20, params] + ([1, 15, 2, 15] if conditions else [])
    return make_manifest(shared=shared, validate=[3, 15])


def delegated(signer: Key, chains: list[list[bytes]] | Any, man: bytes | None = None) -> bytes:
    """Envelope {1: bstr .cbor chains, 2: wrapper, 3: manifest}, signed by ``signer`` (kid in the header)."""
    man = man if man is not None else manifest()
    digest = manifest_digest(man)
    prot = cbor2.dumps({1: alg_of(signer), 4: kid(signer)}, canonical=True)
    block = cbor2.dumps(cbor2.CBORTag(18, [prot, {}, None, sign(signer, cbor2.dumps(["Signature1", prot, b"", digest]))]))
    auth = cbor2.dumps([digest, block])
    return cbor2.dumps(cbor2.CBORTag(107, {1: cbor2.dumps(chains), 2: auth, 3: man}))


@pytest.fixture(scope="module")
def anchor_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("anchor") / "anchor.pub.pem"
    p.write_bytes(ANCHOR.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return p


Check = Callable[..., Any]


@pytest.fixture
def check(bootref: Any, write: Callable[[str, bytes], Path], anchor_pem: Path) -> Check:
    """Verify an envelope with the anchor trusted, at NOW unless told; returns the Result."""
    def run(env: bytes, *extra: str, now: int | str = NOW, keys: list[Path] | None = None) -> Any:
        return bootref(write("env.suit", env), "--now", str(now), *extra, keys=keys if keys is not None else [anchor_pem])

    return run


def test_one_link_lets_the_delegated_key_sign(check: Check, anchor_pem: Path) -> None:
    env = delegated(ONLINE, [[cwt(ANCHOR, ONLINE)]])
    r = check(env)
    assert r.code == 0 and r.verdict == "OK", r.out + r.err
    assert "verified with a delegated key" in r.out
    # Without the chain the same signature has no trusted key.
    man = manifest()
    digest = manifest_digest(man)
    prot = cbor2.dumps({1: -7, 4: kid(ONLINE)})
    block = cbor2.dumps(cbor2.CBORTag(18, [prot, {}, None, sign(ONLINE, cbor2.dumps(["Signature1", prot, b"", digest]))]))
    plain = cbor2.dumps(cbor2.CBORTag(107, {2: cbor2.dumps([digest, block]), 3: man}))
    assert check(plain).reason == "no-trusted-key"


def test_two_links_anchor_vendor_wide_then_class(check: Check) -> None:
    chain = [cwt(ANCHOR, MIDDLE, classes=None), cwt(MIDDLE, ONLINE)]
    assert check(delegated(ONLINE, [chain])).code == 0
    # The intermediate key may sign too, with its own (vendor-wide) scope.
    assert check(delegated(MIDDLE, [chain], manifest(OTHER_CLASS))).code == 0
    # ... the class-scoped one may not sign another class.
    assert check(delegated(ONLINE, [chain], manifest(OTHER_CLASS))).reason == "delegation-scope"


def test_anchor_signing_directly_with_a_chain_present(check: Check) -> None:
    # Only anchors signed: the delegate's scope does not apply.
    assert check(delegated(ANCHOR, [[cwt(ANCHOR, ONLINE)]], manifest(OTHER_CLASS))).code == 0


def test_expired_and_not_yet_valid_delegations_are_refused(check: Check) -> None:
    env = delegated(ONLINE, [[cwt(ANCHOR, ONLINE, exp=NOW + DAY, nbf=NOW - DAY)]])
    assert check(env).code == 0
    assert check(env, now=NOW - DAY).code == 0  # nbf is inclusive
    late = check(env, now=NOW + DAY)  # exp is exclusive
    assert late.reason == "delegation-expired" and "expired" in late.verdict
    early = check(env, now=NOW - DAY - 1)
    assert early.reason == "delegation-expired" and "not yet valid" in early.verdict


def test_a_device_without_a_time_source_refuses_delegations(check: Check) -> None:
    r = check(delegated(ONLINE, [[cwt(ANCHOR, ONLINE)]]), now="none")
    assert r.reason == "delegation-expired" and "no time source" in r.verdict


def test_threat_delegation_by_an_untrusted_issuer(check: Check) -> None:
    assert check(delegated(ONLINE, [[cwt(ROGUE, ONLINE)]])).reason == "delegation-invalid"
    # A link issued by someone other than the previous delegate (a broken chain).
    broken = [cwt(ANCHOR, MIDDLE, classes=None), cwt(ROGUE, ONLINE)]
    r = check(delegated(ONLINE, [broken]))
    assert r.reason == "delegation-invalid" and "previous link" in r.verdict
    # The right kid but another key's signature.
    forged_kid = cwt(ROGUE, ONLINE, protected={1: -8, 4: kid(MIDDLE)},
                     payload=claims(MIDDLE, ONLINE, classes=[SPEC_CLASS.bytes]))
    assert check(delegated(ONLINE, [[cwt(ANCHOR, MIDDLE, classes=None), forged_kid]])).reason == "delegation-invalid"
    # iss must name the issuer.
    bad_iss = claims(ANCHOR, ONLINE, classes=[SPEC_CLASS.bytes])
    bad_iss[1] = kid(ROGUE).hex()
    assert check(delegated(ONLINE, [[cwt(ANCHOR, payload=bad_iss)]])).reason == "delegation-invalid"


def test_threat_forged_cwt_signature(check: Check) -> None:
    good = bytearray(cwt(ANCHOR, ONLINE))
    good[-1] ^= 1
    r = check(delegated(ONLINE, [[bytes(good)]]))
    assert r.reason == "delegation-invalid" and "trust anchor" in r.verdict
    # A claim changed after signing (a widened scope) breaks the signature too.
    tag = cbor2.loads(cwt(ANCHOR, ONLINE))
    body = claims(ANCHOR, ONLINE, classes=None)
    forged = cbor2.dumps(cbor2.CBORTag(18, [tag.value[0], {}, cbor2.dumps(body), tag.value[3]]))
    assert check(delegated(ONLINE, [[forged]], manifest(OTHER_CLASS))).reason == "delegation-invalid"


def test_threat_signing_outside_the_delegated_scope(check: Check) -> None:
    assert check(delegated(ONLINE, [[cwt(ANCHOR, ONLINE)]], manifest(OTHER_CLASS))).reason == "delegation-scope"
    other_vendor = bytes(16)
    r = check(delegated(ONLINE, [[cwt(ANCHOR, ONLINE)]], manifest(vendor=other_vendor)))
    assert r.reason == "delegation-scope"
    # A manifest that states no identity at all is refused whoever signs it: every
    # sequence run must make a vendor and a class check (docs/processing-model.md R1).
    assert check(delegated(ONLINE, [[cwt(ANCHOR, ONLINE)]], manifest(conditions=False))).reason == "missing-check"
    assert check(delegated(ONLINE, [[cwt(ANCHOR, ONLINE, vendor=None, classes=None)]],
                           manifest(conditions=False))).reason == "missing-check"


def test_threat_a_link_widening_its_issuers_scope(check: Check) -> None:
    widened = [cwt(ANCHOR, MIDDLE), cwt(MIDDLE, ONLINE, classes=None)]
    r = check(delegated(ONLINE, [widened]))
    assert r.reason == "delegation-scope" and "widens" in r.verdict
    other = [cwt(ANCHOR, MIDDLE), cwt(MIDDLE, ONLINE, classes=[SPEC_CLASS.bytes, OTHER_CLASS])]
    assert check(delegated(ONLINE, [other])).reason == "delegation-scope"
    no_vendor = [cwt(ANCHOR, MIDDLE), cwt(MIDDLE, ONLINE, vendor=None)]
    assert check(delegated(ONLINE, [no_vendor])).reason == "delegation-scope"
    narrower = [cwt(ANCHOR, MIDDLE, classes=[SPEC_CLASS.bytes, OTHER_CLASS]), cwt(MIDDLE, ONLINE)]
    assert check(delegated(ONLINE, [narrower])).code == 0


def test_chain_too_long_is_refused(check: Check) -> None:
    keys = [ed25519.Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in range(3, 6)]
    chain, issuer = [], ANCHOR
    for k in keys:
        chain.append(cwt(issuer, k))
        issuer = k
    assert check(delegated(keys[-1], [chain])).code == 0  # 3 links: the limit
    chain.append(cwt(issuer, ONLINE))
    r = check(delegated(ONLINE, [chain]))
    assert r.reason == "delegation-invalid" and "BOOTREF_DELEG_MAX_CHAIN" in r.verdict
    assert check(delegated(ONLINE, [[cwt(ANCHOR, ONLINE)]] * 5)).reason == "delegation-invalid"


MALFORMED: dict[str, Callable[[], Any]] = {
    "not-cbor": lambda: [b"\xff" + cwt(ANCHOR, ONLINE)],
    "untagged": lambda: [cbor2.dumps(cbor2.loads(cwt(ANCHOR, ONLINE)).value)],
    "not-bstr": lambda: [cbor2.loads(cwt(ANCHOR, ONLINE))],
    "empty-chain": lambda: [],
    "chain-not-array": lambda: cwt(ANCHOR, ONLINE),
    "unknown-claim": lambda: [cwt(ANCHOR, payload={**claims(ANCHOR, ONLINE), 99: 1})],
    "no-exp": lambda: [cwt(ANCHOR, payload={k: v for k, v in claims(ANCHOR, ONLINE).items() if k != 4})],
    "text-exp": lambda: [cwt(ANCHOR, payload={**claims(ANCHOR, ONLINE), 4: "2030"})],
    "no-iss": lambda: [cwt(ANCHOR, payload={k: v for k, v in claims(ANCHOR, ONLINE).items() if k != 1})],
    "hmac-cnf": lambda: [cwt(ANCHOR, payload={**claims(ANCHOR, ONLINE), 8: {1: {1: 4, -1: b"k" * 32}}})],
    "p384-cnf": lambda: [cwt(ANCHOR, payload={**claims(ANCHOR, ONLINE), 8: {1: {1: 2, -1: 2, -2: b"x" * 48, -3: b"y" * 48}}})],
    "cnf-extra": lambda: [cwt(ANCHOR, payload={**claims(ANCHOR, ONLINE), 8: {1: cose_key(ONLINE), 3: 1}})],
    "short-vendor": lambda: [cwt(ANCHOR, ONLINE, vendor=b"\x01" * 15)],
    "empty-classes": lambda: [cwt(ANCHOR, ONLINE, classes=[])],
    "scope-extra": lambda: [cwt(ANCHOR, payload={**claims(ANCHOR, ONLINE), -65537: {3: 1}})],
    "protected-extra": lambda: [cwt(ANCHOR, ONLINE, protected={1: -8, 4: kid(ANCHOR), 3: 0})],
    "no-kid": lambda: [cwt(ANCHOR, ONLINE, protected={1: -8})],
    "unsupported-alg": lambda: [cwt(ANCHOR, ONLINE, protected={1: -35, 4: kid(ANCHOR)})],
    "unprotected-kid": lambda: [cbor2.dumps(cbor2.CBORTag(18, [*cbor2.loads(cwt(ANCHOR, ONLINE)).value[:1], {4: b"x"},
                                                                 *cbor2.loads(cwt(ANCHOR, ONLINE)).value[2:]]))],
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_cwts_are_refused(check: Check, name: str) -> None:
    r = check(delegated(ONLINE, [MALFORMED[name]()]))
    assert r.reason == "delegation-invalid", r.out + r.err


def test_delegation_member_is_a_bstr_before_or_after_the_wrapper(check: Check) -> None:
    # suit-delegation => bstr .cbor SUIT_Delegation (draft-ietf-suit-trust-domains)
    man = manifest()
    good = delegated(ONLINE, [[cwt(ANCHOR, ONLINE)]], man)
    m = cbor2.loads(good).value
    assert check(good).code == 0
    # Envelope keys in canonical order (docs/processing-model.md section 3): the
    # delegation member (key 1) comes first; after or between the others is malformed.
    after = cbor2.dumps(cbor2.CBORTag(107, {2: m[2], 3: m[3], 1: m[1]}))
    assert check(after).reason == "malformed"
    between = cbor2.dumps(cbor2.CBORTag(107, {2: m[2], 1: m[1], 3: m[3]}))
    assert check(between).reason == "malformed"
    assert check(cbor2.dumps(cbor2.CBORTag(107, {1: b"x", 2: m[2], 3: m[3]}))).reason in ("malformed", "truncated")
    # The chains as a bare array (not wrapped in a bstr) are refused.
    assert check(cbor2.dumps(cbor2.CBORTag(107, {1: cbor2.loads(m[1]), 2: m[2], 3: m[3]}))).code == 1
    assert check(cbor2.dumps(cbor2.CBORTag(107, {3: m[3], 1: m[1], 2: m[2]}))).reason == "malformed"


def test_seeded_mutations_of_the_delegation_member_never_crash(bootref_sweep: Any, write: Callable[[str, bytes], Path],
                                                               anchor_pem: Path) -> None:
    """Byte mutations of member 1 (kept inside the envelope's well-formed frame where they
    land in the CWTs): every run ends with a verdict, none with a sanitizer report, and
    none is accepted unless the chain bytes are unchanged."""
    rng = random.Random(20261123)
    chain = [cwt(ANCHOR, MIDDLE, classes=None), cwt(MIDDLE, ONLINE)]
    base = delegated(ONLINE, [chain])
    start = base.index(chain[0]) - 2
    end = base.index(chain[1]) + len(chain[1])
    for _ in range(60):
        e = bytearray(base)
        for _ in range(rng.randrange(1, 4)):
            p = rng.randrange(start, end)
            if rng.random() < 0.7:
                e[p] ^= 1 << rng.randrange(8)
            else:
                e[p] = rng.randrange(256)
        r = bootref_sweep(write("m.suit", bytes(e)), "--now", str(NOW), keys=[anchor_pem])
        assert r.code in (0, 1), r.out + r.err
        if bytes(e) != base:
            assert r.code == 1, bytes(e).hex()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.recursive(
    st.one_of(st.binary(max_size=40), st.integers(-2**64, 2**64 - 1), st.text(max_size=5), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.integers(-70000, 10), inner, max_size=4),
                            inner.map(lambda v: cbor2.dumps(v))),
    max_leaves=12))
def test_arbitrary_delegation_members_never_crash(bootref_sweep: Any, write: Callable[[str, bytes], Path],
                                                  anchor_pem: Path, member: Any) -> None:
    env = delegated(ONLINE, member)
    r = bootref_sweep(write("h.suit", env), "--now", str(NOW), keys=[anchor_pem])
    assert r.code == 1, r.out + r.err


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        p = rng.randrange(len(b))
        op = rng.randrange(3)
        if op == 0:
            b[p] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[p] = rng.randrange(256)
        elif len(b) > 1:
            del b[p]
    return bytes(b)


def test_harness_mutations_reach_the_chain_rules_and_scope_walk(built: Path, tmp_path: Path) -> None:
    """The fuzz harness in delegation mode (its port accepts every signature, anchors carry
    kid "anchor01", the clock reads NOW) replays seeded mutations of CWT claims and of
    manifests with try-each / run-sequence, each with a correct digest and a block by a
    delegate's kid: the chain rules and the manifest walk run under ASan + UBSan."""
    import os
    import subprocess

    from .conftest import SAN_ENV

    rng = random.Random(4242)
    anchor_kid = b"anchor01"
    alt = [cbor2.dumps([1, 15]), cbor2.dumps([12, 0, 2, 15]), None]
    params = {1: SPEC_VENDOR.bytes, 2: SPEC_CLASS.bytes, 3: suit_digest(b"fw"), 14: 2}
    base_manifest = make_manifest(shared=[20, params, 15, alt, 1, 15, 2, 15, 32, cbor2.dumps([2, 15, 15, alt])],
                                  validate=[3, 15])

    def fake(issuer_kid: bytes, subject: Key, payload: bytes | None = None, **kw: Any) -> bytes:
        c = claims(ANCHOR, subject, **kw)
        c[1] = issuer_kid.hex()
        body = payload if payload is not None else cbor2.dumps(c, canonical=True)
        return cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -8, 4: issuer_kid}), {}, body, bytes(64)]))

    inputs = []
    for i in range(400):
        c0_claims = claims(ANCHOR, MIDDLE, classes=None)
        c0_claims[1] = anchor_kid.hex()
        c0_body = cbor2.dumps(c0_claims, canonical=True)
        c1 = claims(MIDDLE, ONLINE, classes=[SPEC_CLASS.bytes, OTHER_CLASS])
        c1_body = cbor2.dumps(c1, canonical=True)
        which = rng.randrange(4)
        if which == 1:
            c0_body = _mutate(rng, c0_body)
        elif which == 2:
            c1_body = _mutate(rng, c1_body)
        chain = [fake(anchor_kid, MIDDLE, c0_body), fake(kid(MIDDLE), ONLINE, c1_body)]
        man = base_manifest if which != 3 else _mutate(rng, base_manifest)
        signer = ONLINE if i % 3 else MIDDLE
        prot = cbor2.dumps({1: alg_of(signer), 4: kid(signer)}, canonical=True)
        block = cbor2.dumps(cbor2.CBORTag(18, [prot, {}, None, bytes(64)]))
        env = cbor2.dumps({1: cbor2.dumps([chain]), 2: cbor2.dumps([manifest_digest(man), block]), 3: man})
        inputs.append(bytes([8 | rng.choice([0, 2, 4, 6])]) + env)
    paths = []
    for i, data in enumerate(inputs):
        p = tmp_path / f"d{i}"
        p.write_bytes(data)
        paths.append(str(p))
    proc = subprocess.run([str(built / "asan" / "fuzz-replay"), *paths], capture_output=True, text=True,
                          env=dict(os.environ, **SAN_ENV), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"replayed {len(paths)} inputs" in proc.stdout
