"""The boot-flow fuzz harness (fuzz/fuzz_boot.c), replayed under gcc's ASan+UBSan: envelopes
in a RAM flash with every combination of trailer flags, power cut at each of the first
operations, and seeded mutations. The harness's flash aborts on any rule a real part would
break (misaligned access, a location written twice without an erase), so this also checks
the boot flow's flash discipline."""

from __future__ import annotations

import os
import random
import subprocess

from fwsign.device import sample
from fwsign.suit.decode import decode_envelope

from ..conftest import KEYS
from ._suit import BUILD, example
from .conftest import SAN_ENV

SPEC_VENDOR = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")
SPEC_CLASS = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")
PAYLOAD = bytes([7, 7, 7]) + bytes(697)  # the harness's fixed payload


def frame(flags: int, cut: int, env: bytes) -> bytes:
    try:
        seq = decode_envelope(env).manifest.sequence_number
    except Exception:  # a mutated envelope: any sequence
        seq = 1
    return bytes([flags, cut]) + seq.to_bytes(8, "little") + env


def test_boot_flow_harness_replay_clean(built, tmp_path):
    signer = [KEYS["p256"].signer()]
    seeds = [example(f"example{i}.signed") for i in range(6)]
    seeds += [sample.envelope(PAYLOAD, s, signer, SPEC_VENDOR, SPEC_CLASS, uri=u)
              for s, u in ((1, None), (2, "https://fw.example.com/a.bin"), (3, None))]
    inputs = []
    for env in seeds:
        for flags in (0, 1, 2, 3, 4, 5, 9, 0x80, 0x81 | 0x20, 0x80 | 0x40 | 6):
            for cut in (0, 1, 2, 3, 5, 8, 13, 21, 34):
                inputs.append(frame(flags, cut, env))
    rng = random.Random(4711)
    for _ in range(1500):
        env = bytearray(rng.choice(seeds))
        for _op in range(rng.randint(1, 3)):
            pos = rng.randrange(len(env))
            env[pos] = rng.randrange(256) if rng.random() < 0.5 else env[pos] ^ (1 << rng.randrange(8))
        inputs.append(frame(rng.randrange(256), rng.randrange(40), bytes(env)))
    paths = []
    for i, data in enumerate(inputs):
        p = tmp_path / f"in{i}"
        p.write_bytes(data)
        paths.append(str(p))
    env = dict(os.environ, **SAN_ENV)
    env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace("detect_leaks=1", "detect_leaks=0")
    proc = subprocess.run([str(BUILD / "asan" / "fuzz-boot-replay"), *paths], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"replayed {len(paths)} inputs" in proc.stdout
    booted = int(proc.stdout.split(",")[1].split()[0])
    assert booted > 200  # the valid seeds get all the way through install and boot
