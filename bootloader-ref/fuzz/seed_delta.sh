#!/bin/sh
# Seed corpus of fuzz_delta: small FWD1 patches against the harness's source
# pattern, made by fwsign's own encoder (piece size byte, source size, patch).
set -eu
mkdir -p "$1"
out=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
py=${PYTHON:-$root/.venv/bin/python}
"$py" - "$out" <<'PY'
import sys
from pathlib import Path

sys.path.insert(0, ".")
from fwsign.delta import make_patch
out = Path(sys.argv[1])
for n, (size, edit) in enumerate([(300, 5), (1000, 40), (64, 0), (4096, 300)]):
    src = bytes((i * 7 + 3) & 0xFF for i in range(size))
    new = bytearray(src)
    for k in range(0, len(new), 97):
        new[k] ^= edit & 0xFF
    new = bytes(new[: size // 2]) + bytes(range(edit % 50)) + bytes(new[size // 2 :])
    for piece in (0, 6, 255):
        (out / f"seed{n}-{piece}.bin").write_bytes(bytes([piece, size & 0xFF, size >> 8]) + make_patch(src, new))
PY
