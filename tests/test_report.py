"""SUIT reports in Python (fwsign.report, fwsign report show|verify): codec, strict decoding,
authentication, freshness, and the CLI's bad-input paths.

Reports here are built by fwsign itself; the device's (C) reports are tested in
tests/bootref/test_report.py. Attack tests are named after the threat (RFC 9124
REQ.SEC.REPORTING: reports must not be modified or spoofed).
"""

from __future__ import annotations

import hashlib
import os
import random
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwsign import _tables, cbor
from fwsign.cli.main import run
from fwsign.errors import DecodeError, FwsignError, LimitError, ReportReplayed, SignatureInvalid, UnsupportedError
from fwsign.keys import generate, key_id, make_signer, private_pem, public_of, public_pem
from fwsign.report import (
    DEVICE_CAPABILITIES,
    MAX_NONCE_BYTES,
    MAX_RECORDS,
    MAX_REPORT_BYTES,
    Capabilities,
    Record,
    Report,
    SystemProperties,
    build_report,
    check_reference,
    decode_report,
    decode_signed,
    encode_report,
    failure_for,
    replay_key,
    sign_report,
    verify_report,
)

KEY = generate("p256")
PUB = public_of(KEY)
NONCE = b"collector-challenge-1"


def _report(**kw: object) -> Report:
    args: dict[str, object] = {"record": Record(20, 12, 0), "nonce": NONCE}
    args.update(kw)
    return build_report(b"an envelope", str(args.pop("reason", "image-mismatch")), **args)  # type: ignore[arg-type]


def _signed(report: Report | None = None, key: object = KEY) -> bytes:
    return sign_report(report or _report(), make_signer(key))  # type: ignore[arg-type]


# -- codec ------------------------------------------------------------------------------

records = st.builds(Record, st.sampled_from([0, 3, 7, 8, 9, 16, 20]), st.integers(0, 4096), st.integers(0, 15),
                    st.lists(st.integers(0, 5), max_size=3).map(tuple),
                    st.lists(st.tuples(st.integers(-5, 30), st.binary(max_size=40)), max_size=3,
                             unique_by=lambda p: p[0]).map(lambda ps: tuple(sorted(ps, key=lambda p: cbor.dumps(p[0])))))


@settings(max_examples=200, derandomize=True, database=None)
@given(reason=st.sampled_from(["ok", *_tables.REPORT_REASONS]), recs=st.lists(records, max_size=6),
       nonce=st.none() | st.binary(max_size=MAX_NONCE_BYTES), uri=st.text(max_size=60),
       caps=st.booleans())
def test_encode_decode_round_trip(reason: str, recs: list[Record], nonce: bytes | None, uri: str, caps: bool) -> None:
    manifest = cbor.dumps({1: 1, 2: 5, 4: uri})
    r = build_report(b"env", reason, manifest=manifest, record=Record(7, 3, 0), records=recs, nonce=nonce,
                     capabilities=DEVICE_CAPABILITIES if caps else None)
    data = encode_report(r)
    back = decode_report(data)
    assert back == r
    assert encode_report(back) == data  # deterministic
    assert back.reason == reason and back.uri == uri


def test_system_property_claims_round_trip() -> None:
    claim = SystemProperties((b"\x00",), ((3, b"digest"), (14, 200)))
    r = _report(records=(Record(3, 5, 0), claim))
    assert decode_report(encode_report(r)).records == r.records


def test_every_reason_maps_onto_a_draft_reason() -> None:
    for reason, (code, draft) in _tables.REPORT_REASONS.items():
        f = failure_for(reason)
        assert (f.code, f.draft_reason, f.fwsign_reason) == (code, draft, reason)
        assert reason in _tables.REASONS
    with pytest.raises(FwsignError):
        failure_for("tuf-expired")  # not a reason a device reports


def test_reference_names_the_bstr_wrapped_manifest() -> None:
    manifest = cbor.dumps({1: 1, 2: 1, 4: "https://example.com/m.suit"})
    r = build_report(b"whatever", manifest=manifest)
    assert r.digest == hashlib.sha256(cbor.bstr(manifest)).digest()
    assert r.uri == "https://example.com/m.suit"
    assert build_report(b"refused envelope", "malformed").digest == hashlib.sha256(b"refused envelope").digest()


def test_check_reference_refuses_another_manifest(tmp_path: Path) -> None:
    from tests.gen.build import IMAGES, encode
    from tests.gen.device import BASELINE

    envelope = encode(BASELINE)
    from fwsign.suit.decode import decode_envelope_parts

    manifest = decode_envelope_parts(envelope).manifest_bytes
    check_reference(build_report(envelope, manifest=manifest), envelope)
    check_reference(build_report(envelope, "signature-invalid"), envelope)
    with pytest.raises(FwsignError) as err:
        check_reference(build_report(IMAGES["image"], "signature-invalid"), envelope)
    assert err.value.reason == "report-mismatch"


# -- strict decoding ----------------------------------------------------------------------


def _raw(value: object) -> bytes:
    return cbor.dumps(value)


GOOD = {99: ["", [-16, bytes(32)]], 3: [], 4: True}


@pytest.mark.parametrize("value,reason", [
    ([1], "malformed"),
    ({**GOOD, 42: 1}, "unsupported"),
    ({3: [], 4: True}, "malformed"),
    ({**GOOD, 99: ["", [-16, bytes(31)]]}, "unsupported"),
    ({**GOOD, 99: [1, [-16, bytes(32)]]}, "malformed"),
    ({**GOOD, 2: "text"}, "malformed"),
    ({**GOOD, 2: bytes(MAX_NONCE_BYTES + 1)}, "limit-exceeded"),
    ({**GOOD, 3: [[[], 7, 0, 0]]}, "malformed"),
    ({**GOOD, 3: [[[], 7, -1, 0, {}]]}, "malformed"),
    ({**GOOD, 3: [{0: [b"\x00"]}]}, "malformed"),
    ({**GOOD, 4: False}, "malformed"),
    ({**GOOD, 4: {5: 1, 6: [[], 7, 0, 0, {}]}}, "malformed"),
    ({**GOOD, 4: {5: 1, 6: [[], 7, 0, 0, {}], 7: 99}}, "unsupported"),
    ({**GOOD, 8: {1: [[True, b"x"]], 2: [1], 3: [1], 4: [-7]}}, "malformed"),
    ({**GOOD, 8: {1: [[True]], 2: [], 3: [1], 4: [-7]}}, "malformed"),
    ({**GOOD, 8: {1: [[True]], 2: [1], 3: [1], 4: [-7], 77: [1]}}, "unsupported"),
    ({**GOOD, 3: [[[], 7, 0, 0, {}]] * (MAX_RECORDS + 1)}, "limit-exceeded"),
])
def test_decoder_refuses_bad_reports(value: object, reason: str) -> None:
    with pytest.raises(FwsignError) as err:
        decode_report(_raw(value))
    assert err.value.reason == reason, err.value


def test_decoder_refuses_non_canonical_trailing_and_oversized() -> None:
    good = _raw(GOOD)
    assert decode_report(good).ok
    with pytest.raises(DecodeError):
        decode_report(good + b"\x00")
    non_canonical = b"\xa3\x18\x63" + _raw(["", [-16, bytes(32)]]) + b"\x03\x80\x04\xf5"  # 99 before 3
    with pytest.raises(DecodeError):
        decode_report(non_canonical)
    with pytest.raises(LimitError):
        decode_report(b"\x00" * (MAX_REPORT_BYTES + 1))
    with pytest.raises(LimitError):
        decode_signed(b"\x00" * (MAX_REPORT_BYTES + 1))


def test_every_truncation_is_refused() -> None:
    """THREAT: a report cut short in transit never decodes as a shorter valid one."""
    data = _signed()
    for n in range(len(data)):
        with pytest.raises(FwsignError):
            decode_signed(data[:n])


def test_container_rules() -> None:
    payload = encode_report(_report())
    signer = make_signer(KEY)
    from fwsign.cose import TAG_COSE_SIGN1, assemble, protected_header

    # detached payload, untagged, unprotected alg, multi-signer
    with pytest.raises(DecodeError):
        decode_signed(assemble(TAG_COSE_SIGN1, protected_header(signer.alg), b"s"))
    with pytest.raises(DecodeError):
        decode_signed(cbor.dumps([protected_header(-7), {}, payload, b"s"]))
    with pytest.raises(DecodeError):
        decode_signed(cbor.dumps_tagged(18, [b"", {1: -7}, payload, b"s"]))
    with pytest.raises(UnsupportedError):
        decode_signed(cbor.dumps_tagged(98, [protected_header(-7), {}, payload, []]))


# -- authentication and freshness -----------------------------------------------------


@pytest.mark.parametrize("kind,tag", [("p256", 18), ("ed25519", 18), ("hmac", 17)])
def test_sign_and_verify_each_key_kind(kind: str, tag: int) -> None:
    key = generate(kind)
    data = _signed(key=key)
    signed = verify_report(data, public_of(key), nonce=NONCE)
    assert signed.cose_tag == tag and signed.kid == key_id(key)
    assert signed.report == _report()


def test_tampered_report_is_refused() -> None:
    """THREAT: modification of a report between device and collector (REQ.SEC.REPORTING)."""
    data = _signed()
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x04
        with pytest.raises(FwsignError):
            verify_report(bytes(bad), PUB)


def test_report_signed_by_another_key_is_refused() -> None:
    """THREAT: a spoofed report, signed by a key that is not the device's."""
    with pytest.raises(SignatureInvalid):
        verify_report(_signed(key=generate("p256")), PUB)
    with pytest.raises(SignatureInvalid):
        verify_report(_signed(key=generate("hmac")), generate("hmac"))


def test_replayed_report_is_refused() -> None:
    """THREAT: an old report sent again (a device that failed replays the report of a success)."""
    data = _signed()
    first = verify_report(data, PUB, seen=set())
    with pytest.raises(ReportReplayed):
        verify_report(data, PUB, seen={replay_key(first.report)})
    with pytest.raises(ReportReplayed):
        verify_report(data, PUB, nonce=b"the collector's new challenge")
    with pytest.raises(ReportReplayed):
        verify_report(_signed(_report(nonce=None)), PUB, seen=set())
    # the same nonce about another manifest (one boot, two slots) is not a replay
    other = _signed(build_report(b"another envelope", "rollback", nonce=NONCE))
    verify_report(other, PUB, seen={replay_key(first.report)})


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 8))):
        op = rng.randrange(4)
        i = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(i, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf.insert(i, rng.randrange(256))
        elif op == 2 and buf:
            del buf[min(i, len(buf) - 1)]
        else:
            buf[i:i] = rng.choice((b"\x18\x63", b"\xf5", b"\x80", b"\xa0", b"\x5f", b"\x9f", b"\xff"))
    return bytes(buf)


def test_mutated_reports_raise_only_fwsign_errors_and_never_verify() -> None:
    """Fixed-seed mutation fuzzing of the report parser: any input ends in a value or a
    typed error, and a changed report never verifies."""
    rng = random.Random(0x5EED)
    seeds = [_signed(), _signed(_report(records=(Record(3, 1, 0),), capabilities=DEVICE_CAPABILITIES)),
             _signed(build_report(b"e", "ok", nonce=None), key=generate("hmac"))]
    hmac_key = generate("hmac")
    seeds.append(_signed(key=hmac_key))
    for n in range(4000):
        seed = seeds[n % len(seeds)]
        data = _mutate(rng, seed)
        try:
            decode_signed(data)
        except FwsignError:
            continue
        if data != seed:
            with pytest.raises(FwsignError):
                verify_report(data, PUB if seed is not seeds[-1] else hmac_key)


def test_capabilities_as_dict_names_optional_lists() -> None:
    caps = Capabilities(((b"\x00", True),), (1,), (1,), (-7,), ((5, (2, 3)),))
    assert decode_report(encode_report(_report(capabilities=caps))).capabilities == caps
    assert caps.as_dict()["envelope"] == [2, 3]


# -- CLI --------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "device.pub.pem").write_bytes(public_pem(PUB))
    (tmp_path / "other.pub.pem").write_bytes(public_pem(public_of(generate("p256"))))
    (tmp_path / "r.cose").write_bytes(_signed())
    return tmp_path


def test_cli_show_and_verify(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report", "show", str(files / "r.cose")]) == 0
    assert "NOT VERIFIED" in capsys.readouterr().out
    assert run(["report", "verify", str(files / "r.cose"), "--device-key", str(files / "device.pub.pem"),
                "--nonce", NONCE.hex()]) == 0
    out = capsys.readouterr().out
    assert out.startswith("verified: COSE_Sign1, ESP256") and "image-mismatch" in out and "condition-failed" in out
    assert run(["report", "verify", str(files / "r.cose"), "--device-key", str(files / "device.pub.pem"),
                "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["verified"] is True and data["result"]["reason"] == "image-mismatch"


def test_cli_bad_inputs(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, key = str(files / "r.cose"), str(files / "device.pub.pem")
    data = (files / "r.cose").read_bytes()
    (files / "truncated.cose").write_bytes(data[:-10])
    (files / "tampered.cose").write_bytes(data[:40] + bytes([data[40] ^ 1]) + data[41:])
    (files / "big.cose").write_bytes(b"\x00" * (MAX_REPORT_BYTES + 1))
    cases = [
        (["report", "verify", str(files / "truncated.cose"), "--device-key", key], 1, "truncated"),
        (["report", "verify", str(files / "tampered.cose"), "--device-key", key], 1, ""),
        (["report", "verify", report, "--device-key", str(files / "other.pub.pem")], 1, "signature-invalid"),
        (["report", "verify", str(files / "big.cose"), "--device-key", key], 1, "limit-exceeded"),
        (["report", "verify", report, "--device-key", key, "--nonce", "00"], 1, "report-replayed"),
        (["report", "verify", report, "--device-key", key, "--nonce", "zz"], 2, "--nonce"),
        (["report", "verify", str(files / "missing.cose"), "--device-key", key], 2, "cannot read"),
        (["report", "verify", report], 2, "usage"),
        (["report", "show", str(files / "truncated.cose")], 1, "truncated"),
    ]
    for argv, code, text in cases:
        assert run(argv) == code, argv
        assert text in capsys.readouterr().err, argv


def test_cli_replay_guard_and_registry(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = files / "registry"
    registry.mkdir()
    (registry / f"{key_id(PUB).hex()}.pem").write_bytes(public_pem(PUB))
    seen = files / "seen"
    argv = ["report", "verify", str(files / "r.cose"), "--key-registry", str(registry), "--seen", str(seen)]
    assert run(argv) == 0
    assert run(argv) == 1
    assert "report-replayed" in capsys.readouterr().err
    (files / "stranger.cose").write_bytes(_signed(key=generate("p256")))
    assert run(["report", "verify", str(files / "stranger.cose"), "--key-registry", str(registry)]) == 1
    assert "no-trusted-key" in capsys.readouterr().err


def test_cli_device_report_key_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    anchor = generate("ed25519")
    (tmp_path / "anchor.pub.pem").write_bytes(public_pem(public_of(anchor)))
    for kind in ("p256", "hmac"):
        d = tmp_path / f"dev-{kind}"
        assert run(["device", "create", str(d), "--trust", str(tmp_path / "anchor.pub.pem"), "--vendor-domain",
                    "example.com", "--class-name", "x", "--report-key", kind,
                    "--register-report-key", str(tmp_path / "reg")]) == 0
        private = d / "report" / ("device-key.hmac" if kind == "hmac" else "device-key.pem")
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
        out = capsys.readouterr().out
        assert private_pem(anchor).decode() not in out and "registered" in out
    registered = sorted((tmp_path / "reg").iterdir())
    assert len(registered) == 2
    assert any(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in registered)  # the HMAC secret
    assert run(["device", "create", str(tmp_path / "none"), "--trust", str(tmp_path / "anchor.pub.pem"),
                "--vendor-domain", "example.com", "--class-name", "x", "--report-key", "none"]) == 0
    assert run(["device", "report-key", str(tmp_path / "none")]) == 2
