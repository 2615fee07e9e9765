"""Interoperability: the SUIT specification's example envelopes (Appendix B)."""

from __future__ import annotations

import pytest

from ._suit import SPEC_CLASS, SPEC_VENDOR, example

SIGNED = ["example0.signed", "example1.signed", "example2.signed", "example2.signed-severed",
          "example3.signed", "example4.signed", "example5.signed"]
UNSIGNED = [f"example{i}.unsigned" for i in range(6)]


@pytest.mark.parametrize("name", SIGNED)
def test_spec_signed_example_verifies_with_spec_key(bootref, write, name):
    r = bootref(write("env.suit", example(name)))
    assert (r.code, r.verdict) == (0, "OK"), r.out + r.err
    assert "manifest-digest: SHA-256 matches" in r.out
    assert "authentication (COSE alg -7" in r.out


@pytest.mark.parametrize("name", ["example0.signed", "example2.signed", "example5.signed"])
def test_release_build_agrees_with_sanitizer_build(bootref_release, write, name):
    r = bootref_release(write("env.suit", example(name)))
    assert (r.code, r.verdict) == (0, "OK"), r.out + r.err


@pytest.mark.parametrize("name", UNSIGNED)
def test_unsigned_digest_only_envelope_rejected_for_lack_of_signature(bootref, write, name):
    r = bootref(write("env.suit", example(name)))
    assert r.code == 1
    assert r.reason == "no-trusted-key"
    assert "not signed" in r.verdict


def test_spec_example_identity_conditions_pass_with_the_spec_identity(bootref, write):
    r = bootref("--vendor-id", str(SPEC_VENDOR), "--class-id", str(SPEC_CLASS), write("e", example("example0.signed")))
    assert (r.code, r.verdict) == (0, "OK")
    assert "ok           condition vendor-identifier (component 0): matches" in r.out
    assert "ok           condition class-identifier (component 0): matches" in r.out


def test_spec_example_skips_identity_conditions_when_no_identity_is_given(bootref, write):
    r = bootref(write("e", example("example0.signed")))
    assert "skipped      condition vendor-identifier (component 0): not given on the command line" in r.out


def test_severed_example_reports_absent_install_as_not_executed(bootref, write):
    r = bootref(write("e", example("example2.signed-severed")))
    assert r.code == 0
    assert "sequence install: severed and not supplied: not executed" in r.out


def test_two_component_example_checks_both_components(bootref, write):
    r = bootref(write("e", example("example5.signed")))
    assert r.code == 0
    assert "condition image-match (component 1)" in r.out
