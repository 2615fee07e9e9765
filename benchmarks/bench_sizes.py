"""Envelope sizes: what fwsign puts on the wire, next to the spec examples and imgtool.

Bytes are what a constrained device pays for over a slow radio link, so every signed
single-image envelope is measured exactly as ``fwsign sign`` writes it, split into its
authentication wrapper and manifest, next to the six signed examples of
draft-ietf-suit-manifest-34 appendix B and the bytes MCUboot's imgtool adds to an image
(header + TLV trailer).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import cbor2
from common import CLASS_ID, KIB, VENDOR_ID, WORK, log, random_file, tool

SPEC_VECTORS = Path("/work/shared/vectors/suit-spec")
URI = "https://fw.example.com/board/v1.bin"
IMAGE_SIZE = 64 * KIB

#: What each appendix B example shows (draft-ietf-suit-manifest-34).
SPEC_EXAMPLES = {
    0: "secure boot",
    1: "download and install",
    2: "install + secure boot, severable members present",
    3: "A/B images (try-each)",
    4: "load from external storage",
    5: "two images",
}


def _parts(data: bytes) -> dict[str, int]:
    """Envelope size split into the authentication wrapper and manifest bstr contents."""
    top = cbor2.loads(data)
    body = top.value if isinstance(top, cbor2.CBORTag) else top
    auth, manifest = body.get(2, b""), body.get(3, b"")
    return {
        "envelope_bytes": len(data),
        "authentication_wrapper_bytes": len(auth),
        "manifest_bytes": len(manifest),
        "other_bytes": len(data) - len(auth) - len(manifest),
    }


def _fwsign_variants(d: Path, image: Path) -> list[dict[str, Any]]:
    fwsign = tool("fwsign")
    rows = []
    for alg, kind in (("Ed25519", "ed25519"), ("ESP256", "p256")):
        base = d / f"size-{kind}"
        for suffix in (".pem", ".pub.pem", ".cose"):
            Path(str(base) + suffix).unlink(missing_ok=True)
        subprocess.run([fwsign, "keygen", "--alg", kind, "-o", str(base)], check=True, stdout=subprocess.DEVNULL)
        for uri in (None, URI):
            for kid in (True, False):
                out = d / f"size-{kind}-{'uri' if uri else 'nouri'}-{'kid' if kid else 'nokid'}.suit"
                argv = [fwsign, "sign", str(image), "-k", str(base) + ".pem", "-o", str(out), "--sequence", "1",
                        "--vendor-id", VENDOR_ID, "--class-id", CLASS_ID]
                if uri:
                    argv += ["--uri", uri]
                if not kid:
                    argv.append("--no-kid")
                subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
                label = f"fwsign {alg}{' +uri' if uri else ''}{'' if kid else ' no-kid'}"
                rows.append({"label": label, "algorithm": alg, "kid": kid, "uri": uri, **_parts(out.read_bytes())})
    return rows


def _spec_examples() -> list[dict[str, Any]]:
    rows = []
    for n, what in SPEC_EXAMPLES.items():
        path = SPEC_VECTORS / f"example{n}.signed.hex"
        if not path.exists():
            log(f"  sizes: {path} missing, skipped")
            continue
        data = bytes.fromhex(path.read_text().strip())
        rows.append({"label": f"spec example {n}", "shows": what, "algorithm": "ES256", **_parts(data)})
    return rows


def _imgtool(d: Path, image: Path) -> list[dict[str, Any]]:
    imgtool = tool("imgtool")
    rows = []
    for alg in ("ed25519", "ecdsa-p256"):
        key = d / f"size-imgtool-{alg}.pem"
        key.unlink(missing_ok=True)
        subprocess.run([imgtool, "keygen", "-k", str(key), "-t", alg], check=True, stdout=subprocess.DEVNULL)
        # 0x200 is the header size the CLI benchmark (and many boards) use; 0x20 is the
        # 32-byte header itself, so the difference is padding, not information.
        for header in (0x200, 0x20):
            out = d / f"size-imgtool-{alg}-{header:#x}.bin"
            subprocess.run([imgtool, "sign", "--key", str(key), "--header-size", hex(header), "--align", "4",
                            "--version", "1.0.0", "--slot-size", hex(4 * IMAGE_SIZE), "--pad-header",
                            str(image), str(out)], check=True, stdout=subprocess.DEVNULL)
            overhead = out.stat().st_size - image.stat().st_size
            rows.append({
                "label": f"imgtool {alg} (header {header:#x})",
                "algorithm": alg,
                "header_size": header,
                "overhead_bytes": overhead,
                "tlv_bytes": overhead - header,
            })
    return rows


def run(quick: bool = False) -> dict[str, Any]:
    d = WORK / "sizes"
    d.mkdir(parents=True, exist_ok=True)
    image = random_file(WORK / f"image-{IMAGE_SIZE}.bin", IMAGE_SIZE)
    fw, spec, img = _fwsign_variants(d, image), _spec_examples(), _imgtool(d, image)
    for r in fw + spec:
        log(f"  size {r['label']:34}: {r['envelope_bytes']:4} B (auth {r['authentication_wrapper_bytes']}, "
            f"manifest {r['manifest_bytes']})")
    for r in img:
        log(f"  size {r['label']:34}: {r['overhead_bytes']:4} B added to the image (TLV {r['tlv_bytes']})")
    return {
        "description": "signed single-image envelope sizes vs the spec examples and imgtool's per-image overhead",
        "units": {"*_bytes": "bytes"},
        "identity": {"vendor_id": VENDOR_ID, "class_id": CLASS_ID, "uri": URI, "sequence": 1},
        "fwsign": fw,
        "spec_examples": spec,
        "imgtool": img,
    }
