"""HSS-LMS (RFC 8554) against the RFC's own test vectors, plus the parser's bad-input paths.

Vectors: tests/vectors/rfc8554/ (RFC 8554 Appendix F, see PROVENANCE.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwsign.pq import hsslms as H

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc8554" / "vectors.json").read_text())["cases"]


def _hex(lines: list[str]) -> bytes:
    return bytes.fromhex("".join(lines))


CASES = {c["name"]: (_hex(c["public_key"]), _hex(c["message"]), _hex(c["signature"]), c) for c in VECTORS}


def test_parameter_tables_match_rfc8554_section_4_1() -> None:
    # (n, w, p, ls) of LMOTS_SHA256_N32_W1/W2/W4/W8 as RFC 8554 Table 1 prints them.
    assert [(t.n, t.w, t.p, t.ls) for t in H.LMOTS_TYPES.values()] == [(32, 1, 265, 7), (32, 2, 133, 6),
                                                                        (32, 4, 67, 4), (32, 8, 34, 0)]
    assert {c: t.h for c, t in H.LMS_TYPES.items()} == {5: 5, 6: 10, 7: 15, 8: 20, 9: 25}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rfc8554_vector_verifies(name: str) -> None:
    pub, msg, sig, _ = CASES[name]
    assert H.hss_verify(pub, msg, sig)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rfc8554_vector_fails_after_any_change(name: str) -> None:
    pub, msg, sig, _ = CASES[name]
    assert not H.hss_verify(pub, msg + b"\x00", sig)
    assert not H.hss_verify(pub, msg[:-1], sig)
    # A flipped bit in each region: Nspk, the first LMS signature (q, C, y, path), the
    # signed child key, and the final signature's path.
    for at in (3, 7, 20, 200, 1300, len(sig) // 2, len(sig) - 40, len(sig) - 1):
        bad = bytearray(sig)
        bad[at] ^= 0x01
        assert not H.hss_verify(pub, msg, bytes(bad)), at
    assert not H.hss_verify(pub, msg, sig[:-1])
    assert not H.hss_verify(pub, msg, sig + b"\x00")
    wrong_pub = bytearray(pub)
    wrong_pub[-1] ^= 0x80
    assert not H.hss_verify(bytes(wrong_pub), msg, sig)


def test_rfc8554_case2_final_level_reproduced_by_keygen_and_signing() -> None:
    _pub, msg, sig, case = CASES["test-case-2"]
    key = case["final_level_private"]
    tree = H.LmsTree(H.LMS_TYPES[key["lms_type"]], H.LMOTS_TYPES[key["lmots_type"]], bytes.fromhex(key["i"]),
                     bytes.fromhex(key["seed"]))
    assert tree.root == bytes.fromhex(key["public_t1"])
    final = tree.sign(key["q"], msg, bytes.fromhex(key["c"]))
    assert sig.endswith(final)
    assert H.lms_verify(tree.public_key, msg, final)


def test_signature_lengths_match_the_parameter_sets() -> None:
    # SHA-256 M32 sizes as published (REFERENCE.md section 5): L=1 / L=2.
    h10w4 = (H.LMS_BY_H[10], H.LMOTS_BY_W[4])
    h10w8 = (H.LMS_BY_H[10], H.LMOTS_BY_W[8])
    assert H.hss_signature_bytes([h10w4]) == 2512
    assert H.hss_signature_bytes([h10w4, h10w4]) == 5076
    assert H.hss_signature_bytes([h10w8]) == 1456
    assert H.hss_signature_bytes([h10w8, h10w8]) == 2964
    assert H.hss_signature_bytes([(H.LMS_BY_H[15], H.LMOTS_BY_W[4])]) == 2672
    assert H.hss_signature_bytes([(H.LMS_BY_H[20], H.LMOTS_BY_W[4])]) == 2832


def test_signing_round_trip_for_every_winternitz_parameter() -> None:
    seed, i_id = bytes(range(32)), bytes(range(16))
    for w in (1, 2, 4, 8):
        tree = H.LmsTree(H.LMS_BY_H[5], H.LMOTS_BY_W[w], i_id, seed)
        sig = tree.sign(31, b"firmware")
        assert len(sig) == H.lms_sig_bytes(tree.lms, tree.ots)
        assert H.lms_verify(tree.public_key, b"firmware", sig)
        assert not H.lms_verify(tree.public_key, b"firmwarf", sig)
        # The same index and message give the same signature (derived randomizer).
        assert tree.sign(31, b"firmware") == sig


def test_leaf_outside_the_tree_is_refused() -> None:
    tree = H.LmsTree(H.LMS_BY_H[5], H.LMOTS_BY_W[8], bytes(16), bytes(32))
    with pytest.raises(ValueError):
        tree.sign(32, b"x")


def test_attack_signature_with_q_beyond_the_tree_is_refused() -> None:
    pub, msg, sig, _ = CASES["test-case-1"]
    bad = bytearray(sig)
    bad[4:8] = (32).to_bytes(4, "big")  # the first LMS signature's q, beyond H5's 32 leaves
    assert not H.hss_verify(pub, msg, bytes(bad))


def test_attack_level_count_mismatch_is_refused() -> None:
    pub, msg, sig, _ = CASES["test-case-1"]
    # Nspk says 0: a single-level signature against a two-level key.
    assert not H.hss_verify(pub, msg, (0).to_bytes(4, "big") + sig[4:])
    assert not H.hss_verify((9).to_bytes(4, "big") + pub[4:], msg, sig)


def test_attack_lmots_type_swapped_is_refused() -> None:
    pub, msg, sig, _ = CASES["test-case-1"]
    bad = bytearray(sig)
    bad[8:12] = (3).to_bytes(4, "big")  # claims W4 where the key uses W8
    assert not H.hss_verify(pub, msg, bytes(bad))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=200), st.binary(max_size=80))
def test_fuzz_arbitrary_bytes_never_verify_or_raise(sig: bytes, pub: bytes) -> None:
    vec_pub = CASES["test-case-1"][0]
    assert H.hss_verify(vec_pub, b"m", sig) is False
    assert H.hss_verify(pub, b"m", sig) is False


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=2643), st.integers(min_value=1, max_value=255))
def test_mutation_of_a_valid_signature_never_verifies(at: int, xor: int) -> None:
    pub, msg, sig, _ = CASES["test-case-1"]
    bad = bytearray(sig)
    bad[at] ^= xor
    assert not H.hss_verify(pub, msg, bytes(bad))


def test_signature_index_is_read_back_for_the_audit_log() -> None:
    _pub, _msg, sig, _ = CASES["test-case-2"]
    levels = [(H.LMS_BY_H[10], H.LMOTS_BY_W[4]), (H.LMS_BY_H[5], H.LMOTS_BY_W[8])]
    # q = 3 on top and q = 4 below (RFC 8554 Appendix F): index 3 * 32 + 4.
    assert H.hss_signature_index(levels, sig) == 3 * 32 + 4
    assert H.hss_signature_index(levels, sig[:-1]) is None
