"""Robustness under the sanitizer build: no single-byte corruption or truncation of a signed
envelope is ever accepted, and none makes the verifier crash (RFC 9124 THREAT.MFST.MODIFICATION,
THREAT.MFST.OVERFLOW). Runs the CLI under AddressSanitizer + UBSan, once per input."""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._suit import example


def sweep(run, tmp_path: Path, variants: dict[str, bytes]) -> None:
    paths = {}
    for name, data in variants.items():
        p = tmp_path / f"{name}.suit"
        p.write_bytes(data)
        paths[name] = p
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = dict(zip(paths, pool.map(lambda p: run(p), paths.values()), strict=False))
    bad = {n: r for n, r in results.items()
           if r.code != 1 or not r.verdict.startswith("REJECTED: ") or "Sanitizer" in r.err
           or "runtime error" in r.err}
    assert not bad, "\n".join(f"{n}: exit {r.code}: {r.verdict}\n{r.err[-2000:]}" for n, r in list(bad.items())[:5])


def test_every_bit0_flip_of_signed_envelope_rejected_without_crash(bootref_sweep, tmp_path):
    env = example("example0.signed")
    variants = {}
    for i in range(len(env)):
        m = bytearray(env)
        m[i] ^= 0x01
        variants[f"xor{i}"] = bytes(m)
    sweep(bootref_sweep, tmp_path, variants)


def test_random_byte_replacements_rejected_without_crash(bootref_sweep, tmp_path):
    env = example("example0.signed")
    rng = random.Random(20240607)  # fixed seed: reproducible
    variants = {}
    for n in range(300):
        m = bytearray(env)
        pos = rng.randrange(len(env))
        m[pos] = (m[pos] + rng.randrange(1, 256)) % 256  # always a different byte
        variants[f"rand{n}_{pos}"] = bytes(m)
    sweep(bootref_sweep, tmp_path, variants)


def test_every_truncation_rejected_without_crash(bootref_sweep, tmp_path):
    env = example("example0.signed")
    sweep(bootref_sweep, tmp_path, {f"cut{n}": env[:n] for n in range(len(env))})


def test_severed_example_truncations_rejected_without_crash(bootref_sweep, tmp_path):
    env = example("example2.signed")
    sweep(bootref_sweep, tmp_path, {f"cut{n}": env[:n] for n in range(0, len(env), 7)})
