"""Device policy: anti-rollback and identity conditions (RFC 9124 THREAT.UPD.ROLLBACK,
THREAT.IMG.INCOMPATIBLE)."""

from __future__ import annotations

import uuid

from ._suit import SPEC_CLASS, SPEC_VENDOR, example, image_params, make_manifest, signed

EX5 = example("example5.signed")  # sequence number 5


def test_rollback_lower_sequence_rejected(bootref, write):
    r = bootref("--min-sequence", "6", write("e", EX5))
    assert (r.code, r.reason) == (1, "rollback")


def test_rollback_counter_far_above_rejected(bootref, write):
    r = bootref("--min-sequence", str(2**64 - 1), write("e", EX5))
    assert (r.code, r.reason) == (1, "rollback")


def test_newer_manifest_accepted_over_lower_counter(bootref, write):
    assert bootref("--min-sequence", "4", write("e", EX5)).code == 0


def test_same_sequence_accepted_for_reboot_reverification(bootref, write):
    assert bootref("--min-sequence", "5", write("e", EX5)).code == 0


def test_rollback_checked_only_after_authentication(bootref, write):
    # An unsigned envelope must not reveal anything about the policy: it fails on authentication first.
    r = bootref("--min-sequence", "99", write("e", example("example5.unsigned")))
    assert r.reason == "no-trusted-key"


def test_wrong_vendor_id_rejected(bootref, write):
    other = uuid.uuid5(uuid.NAMESPACE_DNS, "example.org")
    r = bootref("--vendor-id", str(other), "--class-id", str(SPEC_CLASS), write("e", example("example0.signed")))
    assert (r.code, r.reason) == (1, "vendor-mismatch")


def test_wrong_class_id_rejected(bootref, write):
    other = uuid.uuid5(SPEC_VENDOR, "another-model")
    r = bootref("--vendor-id", str(SPEC_VENDOR), "--class-id", str(other), write("e", example("example0.signed")))
    assert (r.code, r.reason) == (1, "class-mismatch")


def test_wrong_device_id_rejected(bootref, write):
    dev = uuid.uuid4()
    # with the vendor, class and image checks every manifest must make (docs/processing-model.md R1, R3)
    m = make_manifest(shared=[20, {**image_params(b"fw"), 24: dev.bytes}, 1, 15, 2, 15], validate=[24, 15, 3, 15])
    env = write("e", signed(m))
    assert bootref("--device-id", str(dev), env).code == 0
    r = bootref("--device-id", str(uuid.uuid4()), env)
    assert (r.code, r.reason) == (1, "device-mismatch")


def test_vendor_id_compared_for_every_selected_component(bootref, write):
    other = uuid.uuid5(uuid.NAMESPACE_DNS, "example.org")
    m = make_manifest(components=2, shared=[12, 0, 20, {1: SPEC_VENDOR.bytes}, 12, 1, 20, {1: other.bytes}],
                      validate=[12, True, 1, 15])
    r = bootref("--vendor-id", str(SPEC_VENDOR), write("e", signed(m)))
    assert (r.code, r.reason) == (1, "vendor-mismatch")
    assert "component 1)" in r.verdict
