"""SUIT reports of the C boot flow (bootloader-ref/src/report.c) through the simulated device.

The device's reports are checked with the Python decoder and verifier (fwsign.report):
every install and boot attempt emits one, signed with the device's own key; the report
of an install carries the same result, result code and draft reason as the Python
report built from the processor's verdict in device mode for the same install
(tests/gen/device.py), on the differential generator's envelopes; records point at
commands whose reporting policy asks for them; tampered reports are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from fwsign import cbor
from fwsign.cbor import FrozenMap
from fwsign.device import Device, DeviceConfig, new_device
from fwsign.device.flash import Counter
from fwsign.errors import FwsignError, SignatureInvalid, UsageError
from fwsign.keys import generate, key_id, private_pem, public_of, write_atomic
from fwsign.report import (
    DEVICE_CAPABILITIES,
    Record,
    SignedReport,
    build_report,
    check_reference,
    decode_signed,
    verify_report,
)
from fwsign.suit.decode import decode_envelope_parts
from tests.gen.build import CLASS, DEVICE, IMAGES, TRUSTED, VENDOR, Block, Case, Params, Seq, encode, key_file, public_key
from tests.gen.build import sha256 as digest_of
from tests.gen.device import GEOMETRY, device_inputs, device_verdict
from tests.gen.strategies import cases

NONCE = bytes.fromhex("6e6f6e63652d666f722d7465737473")  # "nonce-for-tests"


class ReportingDevice:
    """Factory-fresh simulated devices with the generator's identity and trust anchors and a
    report key of ``kind``."""

    def __init__(self, kind: str = "p256") -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="fwsign-report-"))
        trust = self.tmp / "trust"
        trust.mkdir()
        names: list[str] = []
        for name in TRUSTED:
            file, data = key_file(name)
            write_atomic(trust / file, data, mode=0o600)
            names.append(file)
        (self.tmp / "report").mkdir()
        self.key = generate(kind)
        if kind == "hmac":
            write_atomic(self.tmp / "report" / "device-key.hmac", self.key.secret, mode=0o600)  # type: ignore[union-attr]
            file = "device-key.hmac"
        else:
            write_atomic(self.tmp / "report" / "device-key.pem", private_pem(self.key), mode=0o600)
            file = "device-key.pem"
        self.public = public_of(self.key)
        self.config = DeviceConfig(VENDOR, CLASS, DEVICE, GEOMETRY, tuple(names), (), file)
        from fwsign.verify import TrustedKey

        self.trusted = tuple(TrustedKey.of(public_key(n), n) for n in TRUSTED)

    def fresh(self, counter: int = 0) -> Device:
        dev = new_device(self.config, self.tmp / "trust")
        dev.counter = Counter(counter)
        dev.nonce = NONCE
        return dev

    def verified(self, dev: Device) -> list[tuple[str, SignedReport]]:
        out = [(kind, verify_report(data, self.public, nonce=NONCE)) for kind, data in dev.reports]
        dev.reports.clear()
        return out


@pytest.fixture(scope="module")
def reporting() -> ReportingDevice:
    return ReportingDevice()


def _manifest(envelope: bytes) -> bytes:
    manifest = decode_envelope_parts(envelope).manifest_bytes
    assert manifest is not None
    return manifest


def _case(shared_checks: int = 1, image: str = "image", sequence: int = 3, vendor: bytes = VENDOR) -> Case:
    from tests.gen.build import SHA256, Digest

    img = IMAGES[image]
    cmds: list[tuple[int, object]] = [
        (20, Params(((1, vendor), (2, CLASS), (3, Digest(SHA256, digest_of(IMAGES["image"]))), (14, len(img))))),
    ]
    cmds += [(1, 15)] * shared_checks
    cmds.append((2, 15))
    return Case(components=((b"\x00",),), shared=Seq(tuple(cmds)),
                members=((7, Seq(((3, 15),))), (9, Seq(((23, 2),)))),
                blocks=(Block("p256", -7, "own"),), sequence_number=sequence, image=image)


# -- every attempt reports, signed by the device -------------------------------------


def test_install_and_boot_each_emit_a_signed_report(reporting: ReportingDevice) -> None:
    envelope = encode(_case())
    dev = reporting.fresh()
    dev.install(envelope, IMAGES["image"])
    (kind, signed), = reporting.verified(dev)
    assert kind == "install" and signed.report.ok and signed.report.failure is None
    assert signed.alg == -7 and signed.cose_tag == 18 and signed.kid == key_id(reporting.public)
    assert signed.report.nonce == NONCE
    # the reference names the manifest as the authentication wrapper does
    assert signed.report.digest == hashlib.sha256(cbor.bstr(_manifest(envelope))).digest()
    check_reference(signed.report, envelope)
    dev.boot()
    (kind, signed), = reporting.verified(dev)
    # the boot report is signed before the image starts: its invoke is pending (draft)
    assert kind == "boot" and signed.report.reason == "invoke-pending" and signed.report.ok
    assert signed.report.failure is not None and signed.report.failure.record.section == 9


def test_refused_install_reports_the_reason_and_names_the_envelope(reporting: ReportingDevice) -> None:
    envelope = encode(_case(image="other"))  # the digest in the manifest is of another image
    dev = reporting.fresh()
    with pytest.raises(FwsignError) as err:
        dev.install(envelope, IMAGES["other"])
    (kind, signed), = reporting.verified(dev)
    r = signed.report
    assert kind == "install" and not r.ok and r.reason == err.value.reason == "image-mismatch"
    assert r.failure is not None and r.failure.draft_reason == "condition-failed"
    assert r.failure.record.section == 7  # validate, where image-match failed
    # verified, then refused by a command: the reference is the manifest
    assert r.digest == hashlib.sha256(cbor.bstr(_manifest(envelope))).digest()


def test_unauthenticated_envelope_is_named_by_its_own_digest(reporting: ReportingDevice) -> None:
    case = _case()
    envelope = bytearray(encode(Case(components=case.components, shared=case.shared, members=case.members,
                                     blocks=(Block("p256", -7, "own", corrupt=True),), sequence_number=3)))
    dev = reporting.fresh()
    with pytest.raises(FwsignError):
        dev.install(bytes(envelope), IMAGES["image"])
    (_, signed), = reporting.verified(dev)
    assert signed.report.reason == "signature-invalid" and signed.report.uri == ""
    assert signed.report.digest == hashlib.sha256(bytes(envelope)).digest()
    assert signed.report.failure is not None and signed.report.failure.record == Record(0, 0, 0)
    check_reference(signed.report, bytes(envelope))


def test_boot_without_image_reports_no_bootable_image(reporting: ReportingDevice) -> None:
    dev = reporting.fresh()
    with pytest.raises(FwsignError):
        dev.boot()
    (kind, signed), = reporting.verified(dev)
    assert kind == "boot" and signed.report.reason == "no-bootable-image"
    assert signed.report.digest == hashlib.sha256(b"").digest()


def test_install_refused_during_a_trial_is_reported(reporting: ReportingDevice) -> None:
    dev = reporting.fresh()
    dev.install(encode(_case(sequence=3)), IMAGES["image"])
    dev.boot(confirm=False)  # on trial, not confirmed
    dev.reports.clear()
    with pytest.raises(UsageError):
        dev.install(encode(_case(sequence=4)), IMAGES["image"])
    (_, signed), = reporting.verified(dev)
    assert signed.report.reason == "usage"


# -- records ------------------------------------------------------------------------------


def _sequence_bytes(manifest: bytes, section: int) -> bytes:
    m = cbor.loads(manifest)
    assert isinstance(m, FrozenMap)
    if section == 3:
        common = cbor.loads(m[3])
        assert isinstance(common, FrozenMap)
        raw = common[4]
    else:
        raw = m[section]
    assert isinstance(raw, bytes)
    return raw


def _command_at(seq: bytes, offset: int) -> tuple[int, object]:
    """The (label, argument) whose label starts ``offset`` bytes into the sequence."""
    items = cbor.loads(seq)
    assert isinstance(items, tuple)
    pos = len(cbor.encode_head(4, len(items)))
    for i in range(0, len(items), 2):
        if pos == offset:
            return items[i], items[i + 1]  # type: ignore[return-value]
        pos += len(cbor.dumps(items[i])) + len(cbor.dumps(items[i + 1]))
    raise AssertionError(f"no command starts at offset {offset}")


def test_records_name_commands_whose_policy_asks_for_a_record(reporting: ReportingDevice) -> None:
    envelope = encode(_case(shared_checks=1))
    dev = reporting.fresh()
    dev.install(envelope, IMAGES["image"])
    (_, signed), = reporting.verified(dev)
    records = [r for r in signed.report.records if isinstance(r, Record)]
    assert records, "conditions with policy 15 (record-on-success) leave records"
    manifest = _manifest(envelope)
    for rec in records:
        label, policy = _command_at(_sequence_bytes(manifest, rec.section), rec.offset)
        assert isinstance(policy, int) and policy & 1, (rec, label, policy)
        assert label in (1, 2, 3), "only the conditions carry record-on-success here"


def test_records_are_bounded_and_the_result_still_names_the_failure(reporting: ReportingDevice) -> None:
    envelope = encode(_case(shared_checks=20, vendor=bytes(16)))  # 20 vendor checks; the device's vendor differs
    dev = reporting.fresh()
    with pytest.raises(FwsignError):
        dev.install(envelope, IMAGES["image"])
    (_, signed), = reporting.verified(dev)
    assert signed.report.reason == "vendor-mismatch"
    assert signed.report.failure is not None and signed.report.failure.record.section == 3
    envelope = encode(_case(shared_checks=20))
    dev = reporting.fresh()
    dev.install(envelope, IMAGES["image"])
    (_, signed), = reporting.verified(dev)
    assert len(signed.report.records) == 8  # BOOTREF_REPORT_MAX_RECORDS


# -- capabilities, keys, nonce ---------------------------------------------------------


def test_capability_report_is_fwsigns(reporting: ReportingDevice) -> None:
    dev = reporting.fresh()
    dev.capabilities = True
    dev.install(encode(_case()), IMAGES["image"])
    (_, signed), = reporting.verified(dev)
    assert signed.report.capabilities == DEVICE_CAPABILITIES


def test_unsupported_command_carries_the_capability_report(reporting: ReportingDevice) -> None:
    case = _case()
    assert case.shared is not None
    case = Case(components=case.components, shared=Seq((*case.shared.cmds, (99, 15))), members=case.members,
                blocks=case.blocks, sequence_number=3)
    dev = reporting.fresh()
    with pytest.raises(FwsignError):
        dev.install(encode(case), IMAGES["image"])
    (_, signed), = reporting.verified(dev)
    assert signed.report.reason == "unsupported" and signed.report.capabilities == DEVICE_CAPABILITIES


@pytest.mark.parametrize("kind,tag,alg", [("ed25519", 18, -8), ("hmac", 17, 5)])
def test_other_device_keys(kind: str, tag: int, alg: int) -> None:
    rd = ReportingDevice(kind)
    dev = rd.fresh()
    dev.install(encode(_case()), IMAGES["image"])
    (_, signed), = rd.verified(dev)
    assert (signed.cose_tag, signed.alg, signed.kid) == (tag, alg, key_id(rd.public))


def test_nonce_longer_than_the_device_keeps_is_refused(reporting: ReportingDevice) -> None:
    dev = reporting.fresh()
    dev.nonce = bytes(33)
    with pytest.raises(UsageError, match="nonce"):
        dev.install(encode(_case()), IMAGES["image"])


# -- attacks on reports ------------------------------------------------------------------


def _one_report(reporting: ReportingDevice) -> bytes:
    dev = reporting.fresh()
    dev.install(encode(_case()), IMAGES["image"])
    (_, data), = dev.reports
    return data


def test_tampered_device_report_is_refused(reporting: ReportingDevice) -> None:
    """THREAT: a report altered on its way to the collector (REQ.SEC.REPORTING)."""
    data = _one_report(reporting)
    signed = decode_signed(data)
    start = data.index(signed.payload)
    for i in range(start, len(data), 7):  # payload and signature bytes
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(FwsignError):
            verify_report(bytes(bad), reporting.public)


def test_device_report_from_another_device_is_refused(reporting: ReportingDevice) -> None:
    """THREAT: a report forged with another device's key (spoofing)."""
    with pytest.raises(SignatureInvalid):
        verify_report(_one_report(reporting), ReportingDevice().public)


# -- the same install, in C and in Python ----------------------------------------------

PARITY_EXAMPLES = 300


def test_c_and_python_reports_of_the_same_install_agree(reporting: ReportingDevice) -> None:
    """Generated envelopes (fixed seed) installed on the device (C report) and run through
    the processor in device mode (Python report): same result, code and draft reason."""
    seen: set[str] = set()

    @settings(max_examples=PARITY_EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(cases())
    def run(case: Case) -> None:
        envelope = encode(case)
        counter, payload, payloads = device_inputs(case)
        stage, reason = device_verdict(envelope, reporting.trusted, counter, payload, payloads)
        dev = reporting.fresh(counter)
        with contextlib.suppress(FwsignError):
            dev.install(envelope, payload, payloads)
        (kind, signed), = reporting.verified(dev)
        assert kind == "install"
        c_report = signed.report
        accepted = stage == "boot"
        py_report = build_report(envelope, "ok" if accepted else reason,
                                 manifest=_manifest(envelope) if accepted else None)
        assert c_report.reason == py_report.reason, (reason, c_report.failure)
        assert (c_report.failure is None) == (py_report.failure is None)
        if c_report.failure is not None and py_report.failure is not None:
            assert (c_report.failure.code, c_report.failure.reason) == (py_report.failure.code,
                                                                        py_report.failure.reason)
        if accepted:
            assert (c_report.uri, c_report.digest) == (py_report.uri, py_report.digest)
        seen.add(c_report.reason)

    run()
    assert len(seen) >= 5, f"the generator reached too few outcomes: {sorted(seen)}"


def test_power_cut_install_sends_no_report_and_the_next_boot_does(reporting: ReportingDevice) -> None:
    """A device that loses power mid-install cannot send anything: no report of the cut
    install; the boot after it reports what it found."""
    dev = reporting.fresh()
    dev.flash.cut_after = dev.flash.ops + 3
    with pytest.raises(FwsignError) as err:
        dev.install(encode(_case()), IMAGES["image"])
    assert err.value.reason == "power-cut"
    assert dev.reports == []
    dev.flash.powered = True
    dev.flash.cut_after = None
    with pytest.raises(FwsignError):
        dev.boot()
    (kind, signed), = reporting.verified(dev)
    assert kind == "boot" and signed.report.reason == "no-bootable-image"
