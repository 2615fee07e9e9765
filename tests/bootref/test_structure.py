"""Strict parsing and manifest semantics: what the verifier refuses, and why."""

from __future__ import annotations

import cbor2
import pytest

from ._suit import envelope, envelope_map, example, image_params, make_manifest, signed

EX0 = example("example0.signed")
EX0_MAP = envelope_map(EX0)
AUTH, MANIFEST = EX0_MAP[2], EX0_MAP[3]


def raw_env(*members: tuple[int | str, bytes], head: bytes | None = None, tag: bool = True) -> bytes:
    """Hand-built envelope map, so that order, duplicates and heads are exactly as given."""
    body = b"".join(cbor2.dumps(k) + cbor2.dumps(v) for k, v in members)
    h = head if head is not None else bytes([0xA0 + len(members)])
    return (b"\xd8\x6b" if tag else b"") + h + body


# --- strict CBOR (RFC 8949 s4.2.1, s3.2; duplicate keys s5.6) -------------------------

def test_untagged_envelope_accepted(bootref, write):
    assert bootref(write("e", raw_env((2, AUTH), (3, MANIFEST), tag=False))).code == 0


def test_duplicate_envelope_key_rejected(bootref, write):
    r = bootref(write("e", raw_env((2, AUTH), (3, MANIFEST), (3, MANIFEST))))
    assert (r.code, r.reason) == (1, "malformed")
    assert "BOOTREF_E_CBOR_DUP_KEY" in r.verdict


def test_non_shortest_map_head_rejected(bootref, write):
    r = bootref(write("e", raw_env((2, AUTH), (3, MANIFEST), head=b"\xb8\x02")))
    assert (r.code, r.reason) == (1, "malformed")
    assert "NON_SHORTEST" in r.verdict


def test_indefinite_length_map_rejected(bootref, write):
    r = bootref(write("e", raw_env((2, AUTH), (3, MANIFEST), head=b"\xbf") + b"\xff"))
    assert (r.code, r.reason) == (1, "malformed")
    assert "INDEFINITE" in r.verdict


def test_trailing_bytes_rejected(bootref, write):
    r = bootref(write("e", EX0 + b"\x00"))
    assert (r.code, r.reason) == (1, "malformed")
    assert "TRAILING" in r.verdict


def test_float_rejected(bootref, write):
    # half-precision 1.0 as the value of an extra member: floats are outside SUIT's subset
    env = b"\xd8\x6b\xa3" + cbor2.dumps(2) + cbor2.dumps(AUTH) + cbor2.dumps(3) + cbor2.dumps(MANIFEST)
    r = bootref(write("e", env + b"\x04\xf9\x3c\x00"))
    assert (r.code, r.reason) == (1, "malformed")


def test_deeply_nested_cbor_rejected_as_limit(bootref, write):
    deep = b"\x81" * 40 + b"\x00"
    r = bootref(write("e", b"\xd8\x6b\xa1\x02" + deep))
    assert (r.code, r.reason) == (1, "limit-exceeded")


def test_oversized_envelope_rejected_as_limit(bootref, write):
    r = bootref(write("e", raw_env((2, AUTH), (3, MANIFEST), ("#firmware", b"\x00" * 5000))))
    assert (r.code, r.reason) == (1, "limit-exceeded")


def test_length_beyond_buffer_rejected(bootref, write):
    r = bootref(write("e", b"\xd8\x6b\xa1\x02\x5a\xff\xff\xff\xff"))
    assert (r.code, r.reason) == (1, "truncated")


# --- envelope rules (draft-34 section 8) --------------------------------------------

def test_wrong_envelope_tag_rejected(bootref, write):
    r = bootref(write("e", b"\xd8\x6c" + EX0[2:]))
    assert (r.code, r.reason) == (1, "malformed")


def test_authentication_wrapper_not_first_rejected(bootref, write):
    r = bootref(write("e", raw_env((3, MANIFEST), (2, AUTH))))
    assert (r.code, r.reason) == (1, "malformed")


def test_unknown_envelope_key_rejected(bootref, write):
    r = bootref(write("e", raw_env((2, AUTH), (3, MANIFEST), (99, b""))))
    assert (r.code, r.reason) == (1, "malformed")


def test_integrated_payload_member_decodes_and_must_be_named(bootref, write):
    # the member is well-formed (the envelope authenticates); the example manifest names
    # no "#firmware", so the host refuses the payload nothing authenticates (model section 9)
    r = bootref(write("e", raw_env((2, AUTH), (3, MANIFEST), ("#firmware", b"\x01\x02"))))
    assert (r.code, r.reason) == (1, "malformed")
    assert "[BOOTREF_E_STRUCTURE]" in r.verdict and "named by no uri" in r.verdict
    assert "ok           authentication" in r.out


def test_missing_manifest_rejected(bootref, write):
    r = bootref(write("e", raw_env((2, AUTH))))
    assert (r.code, r.reason) == (1, "malformed")


def test_unknown_manifest_key_rejected_even_when_signed(bootref, write):
    r = bootref(write("e", signed(make_manifest(validate=[], extra={99: 1}))))
    assert (r.code, r.reason) == (1, "malformed")


def test_manifest_version_2_rejected(bootref, write):
    m = cbor2.loads(make_manifest(validate=[]))
    m = dict(m)
    m[1] = 2
    r = bootref(write("e", signed(cbor2.dumps(m))))
    assert (r.code, r.reason) == (1, "malformed")
    assert "manifest-version" in r.verdict


# --- severable members (draft-34 section 8.4.5) -------------------------------------

EX2 = envelope_map(example("example2.signed"))


def test_tampered_severed_text_rejected(bootref, write):
    text = dict(cbor2.loads(EX2[23]))
    text["en-US"] = {1: "malicious description"}
    env = dict(EX2)
    env[23] = cbor2.dumps(text)
    r = bootref(write("e", cbor2.dumps(cbor2.CBORTag(107, env))))
    assert (r.code, r.reason) == (1, "severed-digest-mismatch")


def test_tampered_severed_install_sequence_rejected(bootref, write):
    env = dict(EX2)
    env[20] = cbor2.dumps([20, {21: "http://attacker.example/evil.bin"}, 21, 2, 3, 15])
    r = bootref(write("e", cbor2.dumps(cbor2.CBORTag(107, env))))
    assert (r.code, r.reason) == (1, "severed-digest-mismatch")


def test_severed_member_without_digest_in_manifest_rejected(bootref, write):
    # not covered by the signature: the same reason as fwsign gives it
    r = bootref(write("e", raw_env((2, AUTH), (3, MANIFEST), (20, cbor2.dumps([23, 2])))))
    assert (r.code, r.reason) == (1, "severed-digest-mismatch")


# --- command sequences (draft-34 section 8.4.6 - 8.4.10) -----------------------------

def seq_bytes(cmds: list[object]) -> bytes:
    return cbor2.dumps(cmds)


# The checks every validate sequence must make (docs/processing-model.md section 6, R1
# and R3): vendor, class and image-match of component 0 (skipped by the CLI without
# --vendor-id/--class-id/IMAGE, which counts as made in host mode).
CHECKS = [20, image_params(b"image"), 1, 15, 2, 15, 3, 15]


def run_validate(bootref, write, validate, **kw):
    """The commands after the required checks, as the validate sequence."""
    return bootref(write("e", signed(make_manifest(validate=CHECKS + validate, **kw))))


def test_unsupported_command_fails_closed(bootref, write):
    r = run_validate(bootref, write, [40, 15])  # a command no draft assigns
    assert (r.code, r.reason) == (1, "unsupported")


def test_custom_negative_command_fails_closed(bootref, write):
    r = run_validate(bootref, write, [-5, 0])
    assert (r.code, r.reason) == (1, "unsupported")


def test_unsupported_parameter_fails_closed(bootref, write):
    r = run_validate(bootref, write, [20, {23: b"\x00"}])  # invoke-args: not supported by this verifier
    assert (r.code, r.reason) == (1, "unsupported")


def test_abort_condition_rejects(bootref, write):
    r = run_validate(bootref, write, [14, 15])
    assert (r.code, r.reason) == (1, "abort")


def test_try_each_falls_through_to_next_option(bootref, write):
    # (an empty option is malformed: docs/processing-model.md section 8)
    assert run_validate(bootref, write, [15, [seq_bytes([14, 15]), seq_bytes([12, 0])]]).code == 0


def test_try_each_all_options_failing_rejects(bootref, write):
    r = run_validate(bootref, write, [15, [seq_bytes([14, 15]), seq_bytes([14, 15])]])
    assert (r.code, r.reason) == (1, "abort")


def test_try_each_trailing_nil_accepts_no_match(bootref, write):
    assert run_validate(bootref, write, [15, [seq_bytes([14, 15]), seq_bytes([14, 15]), None]]).code == 0


def test_try_each_does_not_swallow_unsupported_command(bootref, write):
    r = run_validate(bootref, write, [15, [seq_bytes([40, 15]), seq_bytes([])]])
    assert (r.code, r.reason) == (1, "unsupported")


def test_run_sequence_soft_failure_ends_sequence_without_error(bootref, write):
    assert run_validate(bootref, write, [32, seq_bytes([20, {13: True}, 14, 15])]).code == 0
    r = run_validate(bootref, write, [32, seq_bytes([14, 15])])
    assert (r.code, r.reason) == (1, "abort")


def test_nesting_beyond_limit_rejected(bootref, write):
    inner: list[object] = []
    for _ in range(6):
        inner = [32, seq_bytes(inner)]
    r = run_validate(bootref, write, inner)
    assert (r.code, r.reason) == (1, "limit-exceeded")


def test_component_index_out_of_range_rejected(bootref, write):
    r = run_validate(bootref, write, [12, 1, 14, 15])
    assert (r.code, r.reason) == (1, "malformed")


def test_component_index_list_selects_each_component(bootref, write):
    r = run_validate(bootref, write, [12, [0, 1], 20, {5: 0}, 5, 15], components=2)
    assert r.code == 0
    assert "condition component-slot (component 1)" in r.out


def test_odd_length_command_sequence_rejected(bootref, write):
    r = run_validate(bootref, write, [14])
    assert (r.code, r.reason) == (1, "malformed")


def test_too_many_components_rejected_as_limit(bootref, write):
    r = run_validate(bootref, write, [], components=5)
    assert (r.code, r.reason) == (1, "limit-exceeded")


def test_fetch_without_uri_rejected(bootref, write):
    r = run_validate(bootref, write, [21, 2])
    assert (r.code, r.reason) == (1, "malformed")


@pytest.mark.parametrize("param,value", [(1, "text"), (14, b"\x01"), (22, -1), (12, None)])
def test_parameter_of_wrong_type_rejected(bootref, write, param, value):
    r = run_validate(bootref, write, [20, {param: value}])
    assert (r.code, r.reason) == (1, "malformed")


def test_digest_only_wrapper_with_bad_digest_rejected_as_digest_mismatch(bootref, write):
    env = envelope(MANIFEST, [], digest=cbor2.dumps([-16, b"\x00" * 32]))
    r = bootref(write("e", env))
    assert (r.code, r.reason) == (1, "digest-mismatch")
