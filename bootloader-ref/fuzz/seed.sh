#!/bin/sh
# Seed corpus for the fuzz target from the SUIT spec example vectors: each
# envelope in mode 0 (raw envelope) and its manifest in mode 1 (wrapped by
# the harness). Vectors: $FWSIGN_SUIT_VECTORS, ../tests/vectors/suit-spec,
# or /work/shared/vectors/suit-spec; without them the corpus starts empty.
set -eu
out=$1
here=$(cd "$(dirname "$0")/.." && pwd)
for d in "${FWSIGN_SUIT_VECTORS:-}" "$here/../tests/vectors/suit-spec" /work/shared/vectors/suit-spec; do
    if [ -n "$d" ] && [ -f "$d/example0.signed.hex" ]; then
        python3 - "$d" "$out" <<'PY'
import pathlib, sys
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in sorted(src.glob("*.hex")):
    env = bytes.fromhex(f.read_text().strip())
    (out / (f.stem + ".env")).write_bytes(b"\x00" + env)
    # the manifest bstr follows key 3 in these vectors: find it by decoding heads
    i = env.find(b"\x03\x58")
    if i > 0:
        n = env[i + 2]
        (out / (f.stem + ".man")).write_bytes(b"\x01" + env[i + 3:i + 3 + n])
PY
        exit 0
    fi
done
echo "seed.sh: no SUIT vectors found; starting from an empty corpus"
