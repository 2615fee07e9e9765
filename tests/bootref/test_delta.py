"""bootloader-ref's FWD1 applier (src/delta.c) against fwsign.delta: the same result for
every patch the Python reader accepts, a refusal for every patch it refuses, whatever
pieces the patch arrives in; under ASan/UBSan."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from fwsign.delta import PatchError, apply_patch, make_patch

from .conftest import SAN_ENV

PAIR = Path(__file__).resolve().parent.parent / "vectors" / "delta"


def _c_apply(built: Path, tmp: Path, source: bytes, patch: bytes, piece: int) -> bytes | None:
    (tmp / "s").write_bytes(source)
    (tmp / "p").write_bytes(patch)
    out = tmp / "o"
    out.unlink(missing_ok=True)
    proc = subprocess.run([str(built / "asan" / "bootref-delta-apply"), str(tmp / "s"), str(tmp / "p"), str(out),
                           str(piece)], capture_output=True, text=True, env=SAN_ENV, timeout=30)
    assert proc.returncode in (0, 1), proc.stderr
    if proc.returncode == 1:
        assert proc.stdout.split()[0] == "patch-invalid"
        assert not out.exists()
        return None
    return out.read_bytes()


def _py_apply(source: bytes, patch: bytes) -> bytes | None:
    try:
        return apply_patch(source, patch)
    except PatchError:
        return None


@pytest.mark.parametrize("piece", [1, 3, 64, 100000])
def test_real_firmware_pair_in_any_pieces(built: Path, tmp_path: Path, piece: int) -> None:
    old, new = (PAIR / "OLD.bin").read_bytes(), (PAIR / "NEW.bin").read_bytes()
    assert _c_apply(built, tmp_path, old, (PAIR / "OLD-to-NEW.fwd1").read_bytes(), piece) == new


def test_c_and_python_agree_on_mutated_and_generated_patches(built: Path, tmp_path: Path) -> None:
    rng = random.Random(19)
    old = (PAIR / "OLD.bin").read_bytes()
    base = (PAIR / "OLD-to-NEW.fwd1").read_bytes()
    cases: list[tuple[bytes, bytes]] = []
    for _ in range(60):  # mutated real patch
        p = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            p[rng.randrange(len(p))] = rng.randrange(256)
        cases.append((old, bytes(p)))
    for _ in range(20):  # generated pairs, truncated at random
        src = rng.randbytes(rng.randint(0, 600))
        tgt = bytearray(src)
        at = rng.randint(0, len(tgt))
        tgt[at:at + rng.randint(0, 30)] = rng.randbytes(rng.randint(0, 30))
        p = make_patch(src, bytes(tgt))
        cases.append((src, p))
        cases.append((src, p[: rng.randint(0, len(p))]))
    disagree = []
    for i, (src, p) in enumerate(cases):
        want = _py_apply(src, p)
        got = _c_apply(built, tmp_path, src, p, rng.choice([1, 2, 7, 4096]))
        if got != want:
            disagree.append(i)
    assert disagree == []


def test_fuzz_harness_replays_its_seeds_clean(built: Path, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent.parent
    corpus = tmp_path / "corpus"
    subprocess.run(["sh", str(root / "bootloader-ref" / "fuzz" / "seed_delta.sh"), str(corpus)], check=True)
    seeds = sorted(corpus.iterdir())
    assert seeds
    proc = subprocess.run([str(built / "asan" / "fuzz-delta-replay"), *map(str, seeds)], capture_output=True,
                          text=True, env=SAN_ENV, timeout=60)
    assert proc.returncode == 0, proc.stderr
