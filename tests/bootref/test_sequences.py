"""Command sequences are decoded as they run; the well-formedness walk decides only when
something fails or before the port acts. These cases show that the order of the answers is
the walk-first one: a malformed sequence is refused with its CBOR error (not a condition
failure that came first), and no directive ever reaches an acting port from a malformed
sequence, at any nesting level.

They go through the fuzz harness (fuzz/fuzz_envelope.c under ASan+UBSan), which wraps each
manifest with a correct digest and a signature its port accepts; mode 3 gives the port an
action hook that counts the directives it receives, mode 1 has none."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import cbor2
import pytest

from ._suit import BUILD, SPEC_CLASS, SPEC_VENDOR
from .conftest import SAN_ENV

TRUNCATED, DUP_KEY, UNSUPPORTED, TRAILING = 1, 4, 5, 6  # BOOTREF_E_CBOR_* (bootref.h)
TYPE = 7  # BOOTREF_E_TYPE
VENDOR_MISMATCH = 34
RESERVED = b"\x1c"  # a head with reserved additional information 28: never well-formed

FETCH = cbor2.dumps(20) + cbor2.dumps({21: "https://fw.example.com/app.bin"}) + cbor2.dumps(21) + cbor2.dumps(2)
VENDOR_OK = cbor2.dumps(1) + cbor2.dumps(15)
SHARED = cbor2.dumps([20, {1: SPEC_VENDOR.bytes, 2: SPEC_CLASS.bytes}, 1, 15, 2, 15])


def seq(n: int, body: bytes) -> bytes:
    """A command sequence array head for n items followed by their raw bytes (possibly malformed)."""
    assert n < 24
    return bytes([0x80 | n]) + body


# the harness's component 0 image (fuzz/fuzz_envelope.c): 1..8 then zeros, 100 bytes
HARNESS_IMAGE = bytes(range(1, 9)) + bytes(92)
# validate is required and must match what the run wrote (docs/processing-model.md R0, R3)
MATCH = cbor2.dumps([20, {3: cbor2.dumps([-16, hashlib.sha256(HARNESS_IMAGE).digest()]), 14: 100}, 3, 15])


def manifest(**members: bytes) -> bytes:
    """Manifest with the spec identity in the shared sequence; members by name: validate=, install=
    (validate defaults to an image-match of the harness's image)."""
    keys = {"validate": 7, "install": 20}
    members.setdefault("validate", MATCH)
    m: dict[int, object] = {1: 1, 2: 1, 3: cbor2.dumps({2: [[b"\x00"]], 4: SHARED})}
    for name in sorted(members, key=lambda n: keys[n]):  # canonical key order
        m[keys[name]] = members[name]
    return cbor2.dumps(m)


def run(tmp_path: Path, m: bytes, mode: int = 3) -> tuple[int, int, int, int, int]:
    """(verify, run, err_command, err_component, directives that reached the port)"""
    p = tmp_path / "in"
    p.write_bytes(bytes([mode]) + m)
    proc = subprocess.run([str(BUILD / "asan" / "fuzz-replay"), "-v", str(p)], capture_output=True, text=True,
                          env=dict(os.environ, **SAN_ENV), timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    words = proc.stdout.splitlines()[0].split()
    return int(words[2]), int(words[4]), int(words[6]), int(words[8]), int(words[10])


def test_well_formed_fetch_reaches_the_port(built, tmp_path):
    v, r, _, _, acted = run(tmp_path, manifest(install=seq(4, FETCH)))
    assert (v, r, acted) == (0, 0, 1)


@pytest.mark.parametrize("mode", [1, 3])
def test_threat_directive_before_malformed_bytes_never_executed(built, tmp_path, mode):
    # fetch is well-formed, but the sequence holding it is not: refused as the walk would
    # refuse it up front, with nothing acted on and the command/component of before it ran
    v, r, cmd, comp, acted = run(tmp_path, manifest(install=seq(6, FETCH + RESERVED + b"\x0f")), mode)
    assert (v, r, acted) == (0, UNSUPPORTED, 0)
    assert (cmd, comp) == (2, 0)  # the shared sequence's last command, as when the walk came first


def test_threat_directive_in_nested_option_of_malformed_sequence_never_executed(built, tmp_path):
    body = cbor2.dumps(15) + cbor2.dumps([seq(4, FETCH), seq(4, FETCH), None])  # try-each: the first option fetches
    _, r, _, _, acted = run(tmp_path, manifest(install=seq(2, body)))
    assert (r, acted) == (0, 1)
    # the same, followed by bytes that make the outer sequence malformed
    _, r, _, _, acted = run(tmp_path, manifest(install=seq(4, body + RESERVED + b"\x0f")))
    assert (r, acted) == (UNSUPPORTED, 0)
    # an outer sequence with a byte after its array
    _, r, _, _, acted = run(tmp_path, manifest(install=seq(2, body) + b"\x00"))
    assert (r, acted) == (TRAILING, 0)


def test_threat_malformed_option_of_try_each_is_a_hard_failure(built, tmp_path):
    bad_option = seq(6, FETCH + RESERVED + b"\x0f")  # malformed: not a condition failure to skip
    body = cbor2.dumps(15) + bytes([0x83]) + cbor2.dumps(bad_option) * 2 + b"\xf6"  # try-each [option, option, nil]
    _, r, _, _, acted = run(tmp_path, manifest(install=seq(2, body)))
    assert (r, acted) == (UNSUPPORTED, 0)


def test_try_each_with_one_option_and_nil_is_malformed(built, tmp_path):
    """[2* bstr, ?nil]: one option and a nil is not a try-each (processing model section 8)."""
    body = cbor2.dumps(15) + cbor2.dumps([seq(4, FETCH), None])
    _, r, _, _, _ = run(tmp_path, manifest(install=seq(2, body)))
    assert r == TYPE


def test_cbor_error_wins_over_an_earlier_condition_failure(built, tmp_path):
    other_vendor = cbor2.dumps(20) + cbor2.dumps({1: bytes(16)}) + VENDOR_OK
    assert run(tmp_path, manifest(validate=seq(4, other_vendor)))[1] == VENDOR_MISMATCH
    assert run(tmp_path, manifest(validate=seq(6, other_vendor + RESERVED + b"\x0f")))[1] == UNSUPPORTED
    assert run(tmp_path, manifest(validate=seq(6, other_vendor + b"\x41")))[1] == TRUNCATED


def test_repeated_override_label_is_a_duplicate_key(built, tmp_path):
    # {1: vendor, 1: vendor}: the interpreter could read it, but it is not well-formed CBOR
    dup = bytes([0xa2]) + (cbor2.dumps(1) + cbor2.dumps(SPEC_VENDOR.bytes)) * 2
    body = cbor2.dumps(20) + dup + VENDOR_OK + cbor2.dumps(21) + cbor2.dumps(2)
    v, r, _, _, acted = run(tmp_path, manifest(install=seq(6, body)))
    assert (v, r, acted) == (0, DUP_KEY, 0)
