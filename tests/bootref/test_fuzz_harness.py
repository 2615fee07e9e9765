"""The libFuzzer harness, replayed under gcc's ASan+UBSan: thousands of seeded mutations of the
spec manifests reach the manifest parser and command interpreter in one process (the harness
wraps each manifest with a correct digest and a signature its port accepts), so the interpreter
is exercised even where a mutated signature would normally stop processing early."""

from __future__ import annotations

import os
import random
import subprocess

from ._suit import BUILD, envelope_map, example
from .conftest import SAN_ENV

NAMES = ["example0.signed", "example1.signed", "example2.signed", "example3.signed", "example4.signed",
         "example5.signed"]


def test_mutated_manifests_through_interpreter_never_crash(built, tmp_path):
    rng = random.Random(1070)  # fixed seed: reproducible
    inputs = []
    for name in NAMES:
        env = example(name)
        manifest = envelope_map(env)[3]
        inputs.append(b"\x00" + env)
        for _ in range(250):
            m = bytearray(manifest)
            for _op in range(rng.randint(1, 3)):
                op = rng.randrange(3)
                pos = rng.randrange(len(m))
                if op == 0:
                    m[pos] ^= 1 << rng.randrange(8)
                elif op == 1:
                    m[pos] = rng.randrange(256)
                elif len(m) > 1:
                    del m[pos]
            mode = rng.choice([1, 3, 5, 7])  # manifest mode, with/without action hook and skip flag
            inputs.append(bytes([mode]) + bytes(m))
    paths = []
    for i, data in enumerate(inputs):
        p = tmp_path / f"in{i}"
        p.write_bytes(data)
        paths.append(str(p))
    env = dict(os.environ, **SAN_ENV)
    proc = subprocess.run([str(BUILD / "asan" / "fuzz-replay"), *paths], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"replayed {len(paths)} inputs" in proc.stdout
