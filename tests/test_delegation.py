"""Trust-domains delegation: CWT chains from a trusted anchor to an online signing key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from fwsign.delegation import Scope, attach, issue, parse_cwt
from fwsign.errors import DelegationError
from fwsign.keys import make_signer, private_pem, public_of, public_pem
from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest, hash_stream
from fwsign.suit.ids import class_uuid, vendor_uuid
from fwsign.verify import Policy, TrustedKey, verify_envelope

from .conftest import KEYS, Result

Run = Callable[..., Result]
VENDOR = vendor_uuid("example.com")
PUMP = class_uuid(VENDOR, "pump")
METER = class_uuid(VENDOR, "meter")
NOW = 1_900_000_000  # a fixed verifier time (2030-03-17)
DAY = 86400

ANCHOR = KEYS["ed25519"]  # provisioned into devices; kept offline
ONLINE = ec.derive_private_key(0xABCDEF0123456789, ec.SECP256R1())  # the CI signing key
SECOND = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ROGUE = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))


def _envelope(signer_key: object, class_id: bytes = PUMP) -> bytes:
    digest, size = hash_stream([b"firmware"])
    comp = ComponentSpec((b"\x00",), (ImageSpec(digest, size, uri="https://fw.example.com/1.bin"),), VENDOR, class_id)
    manifest, severed = build_manifest(ManifestSpec(5, (comp,)))
    return assemble_envelope(manifest, [make_signer(signer_key)], severed=severed)  # type: ignore[arg-type]


def _cwt(issuer: object, subject: object, *, exp: int = NOW + 30 * DAY, nbf: int | None = None,
         scope: Scope = Scope(VENDOR, frozenset({PUMP}))) -> bytes:
    return issue(make_signer(issuer), public_of(issuer), public_of(subject), expires=exp,  # type: ignore[arg-type]
                 not_before=nbf, scope=scope)


def _verify(data: bytes, *, now: int = NOW, max_chain: int = 3, threshold: int = 1, anchors: tuple[TrustedKey, ...] = ()) -> object:
    pol = Policy(keys=anchors or (ANCHOR.trusted,), threshold=threshold, now=now, max_delegation_chain=max_chain)
    return verify_envelope(data, pol)


def test_valid_chain_lets_a_delegated_key_sign() -> None:
    env = _envelope(ONLINE)
    assert _verify(env).reason == "no-trusted-key"  # type: ignore[attr-defined]
    report = _verify(attach(env, [[_cwt(ANCHOR.private, ONLINE)]]))
    assert report.valid, report.error  # type: ignore[attr-defined]
    names = [c.name for c in report.checks]  # type: ignore[attr-defined]
    assert "delegation" in names and "delegation-scope" in names
    # Two links: anchor -> SECOND (vendor-wide) -> ONLINE (pump only).
    chain = [_cwt(ANCHOR.private, SECOND, scope=Scope(VENDOR)), _cwt(SECOND, ONLINE)]
    assert _verify(attach(env, [chain])).valid  # type: ignore[attr-defined]


def test_expired_delegation_is_refused_with_an_injected_clock() -> None:
    env = attach(_envelope(ONLINE), [[_cwt(ANCHOR.private, ONLINE, exp=NOW + DAY, nbf=NOW - DAY)]])
    assert _verify(env, now=NOW).valid  # type: ignore[attr-defined]
    late = _verify(env, now=NOW + DAY)
    assert late.reason == "delegation-expired"  # type: ignore[attr-defined]
    assert "expired at" in late.error.message  # type: ignore[attr-defined]
    early = _verify(env, now=NOW - 2 * DAY)
    assert early.reason == "delegation-expired"  # type: ignore[attr-defined]


def test_wrong_issuer_is_refused() -> None:
    env = _envelope(ONLINE)
    rogue = _verify(attach(env, [[_cwt(ROGUE, ONLINE)]]))
    assert rogue.reason == "delegation-invalid" and "not a trusted anchor" in rogue.error.message  # type: ignore[attr-defined]
    # The second link must be issued by the key the first link confirmed.
    chain = [_cwt(ANCHOR.private, SECOND, scope=Scope(VENDOR)), _cwt(ROGUE, ONLINE)]
    broken = _verify(attach(env, [chain]))
    assert broken.reason == "delegation-invalid" and "previous link" in broken.error.message  # type: ignore[attr-defined]


def test_forged_delegation_signature_is_refused() -> None:
    cwt = bytearray(_cwt(ANCHOR.private, ONLINE))
    cwt[-1] ^= 1
    report = _verify(attach(_envelope(ONLINE), [[bytes(cwt)]]))
    assert report.reason == "delegation-invalid" and "does not verify" in report.error.message  # type: ignore[attr-defined]


def test_scope_violation_is_refused() -> None:
    meter = attach(_envelope(ONLINE, METER), [[_cwt(ANCHOR.private, ONLINE)]])
    report = _verify(meter)
    assert report.reason == "delegation-scope"  # type: ignore[attr-defined]
    assert "may sign only for class" in report.error.message  # type: ignore[attr-defined]
    # A link cannot widen its issuer's scope.
    chain = [_cwt(ANCHOR.private, SECOND), _cwt(SECOND, ONLINE, scope=Scope(VENDOR))]
    widened = _verify(attach(_envelope(ONLINE), [chain]))
    assert widened.reason == "delegation-scope" and "widens" in widened.error.message  # type: ignore[attr-defined]
    other_vendor = Scope(vendor_uuid("other.example"), frozenset({PUMP}))
    assert _verify(attach(_envelope(ONLINE), [[_cwt(ANCHOR.private, ONLINE, scope=other_vendor)]])).reason == "delegation-scope"  # type: ignore[attr-defined]


def test_chain_too_long_is_refused() -> None:
    keys = [ed25519.Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in range(3, 6)]
    chain, issuer = [], ANCHOR.private
    for k in [*keys, ONLINE]:
        chain.append(_cwt(issuer, k))
        issuer = k
    env = attach(_envelope(ONLINE), [chain])
    assert _verify(env, max_chain=4).valid  # type: ignore[attr-defined]
    report = _verify(env, max_chain=3)
    assert report.reason == "delegation-invalid" and "4 links; at most 3" in report.error.message  # type: ignore[attr-defined]
    assert _verify(env, max_chain=0).reason == "delegation-invalid"  # type: ignore[attr-defined]


def test_anchor_and_its_delegate_count_as_one_towards_a_threshold() -> None:
    env = _envelope(ONLINE)
    from fwsign import cose
    from fwsign.suit import builder
    from fwsign.suit.decode import decode_envelope
    from fwsign.suit.encode import encode_digest

    decoded = decode_envelope(env)
    both = builder.add_block(decoded, cose.build(ANCHOR.signer(), encode_digest(decoded.auth.digest)))
    both = attach(both, [[_cwt(ANCHOR.private, ONLINE)]])
    anchors = (ANCHOR.trusted, KEYS["p384"].trusted)
    report = _verify(both, threshold=2, anchors=anchors)
    assert report.reason == "no-trusted-key" and "distinct trust anchor" in report.error.message  # type: ignore[attr-defined]


@pytest.mark.parametrize("mutate", ["unknown-claim", "no-exp", "hmac-cnf", "not-cbor"])
def test_malformed_cwts_are_refused(mutate: str) -> None:
    from fwsign import cbor
    from fwsign.cbor import FrozenMap, Tag

    good = _cwt(ANCHOR.private, ONLINE)
    if mutate == "not-cbor":
        bad = b"\xff" + good
    else:
        tag = cbor.loads(good)
        assert isinstance(tag, Tag) and isinstance(tag.value, tuple)
        claims = dict(cbor.loads(tag.value[2]))  # type: ignore[arg-type]
        if mutate == "unknown-claim":
            claims[99] = 1
        elif mutate == "no-exp":
            del claims[4]
        else:
            claims[8] = {1: {1: 4, -1: b"k" * 32}}
        bad = cbor.dumps(Tag(18, (tag.value[0], FrozenMap({}), cbor.dumps(claims), tag.value[3])))  # type: ignore[arg-type]
    with pytest.raises(DelegationError):
        parse_cwt(bad, "x")


def test_cli_issue_sign_with_delegation_and_verify(cli: Run, tmp_path: Path) -> None:
    (tmp_path / "anchor.pem").write_bytes(private_pem(ANCHOR.private))  # type: ignore[arg-type]
    (tmp_path / "anchor.pub.pem").write_bytes(public_pem(ANCHOR.trusted.key))
    (tmp_path / "ci.pem").write_bytes(private_pem(ONLINE))
    (tmp_path / "ci.pub.pem").write_bytes(public_pem(public_of(ONLINE)))
    (tmp_path / "fw.bin").write_bytes(b"\x11" * 64)
    ident = ("--vendor-domain", "example.com", "--class-name", "pump")
    res = cli("delegate", "issue", "--anchor", "anchor.pem", "--subject", "ci.pub.pem", "--expires", "2099-01-01",
              *ident, "-o", "ci.cwt")
    assert res.code == 0, res.err
    res = cli("delegate", "show", "ci.cwt", "--json")
    assert res.code == 0 and json.loads(res.out)["expires"] == "2099-01-01T00:00:00Z"
    res = cli("sign", "fw.bin", "-k", "ci.pem", "--delegation", "ci.cwt", "-o", "fw.suit", "--sequence", "2", *ident)
    assert res.code == 0, res.err
    res = cli("verify", "fw.suit", "-k", "anchor.pub.pem", "--image", "fw.bin")
    assert res.code == 0, res.err + res.out
    assert "delegated key(s) verified back to trusted anchors" in res.out
    # The same chain does not let the key sign another class.
    res = cli("sign", "fw.bin", "-k", "ci.pem", "--delegation", "ci.cwt", "-o", "meter.suit", "--sequence", "2",
              "--vendor-domain", "example.com", "--class-name", "meter")
    assert res.code == 0
    res = cli("verify", "meter.suit", "-k", "anchor.pub.pem")
    assert res.code == 1 and "delegation-scope" in res.err
