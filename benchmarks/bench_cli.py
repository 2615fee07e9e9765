"""The fwsign command line against MCUboot's imgtool, as a user runs them.

Wall time of whole processes (interpreter start-up, imports, key loading, hashing,
signing, writing) for signing and verifying the same 1 MiB image, with Ed25519 and
ECDSA P-256. The two tools run alternately, so both see the same machine state. Also
recorded: ``fwsign --help`` start-up next to the bare interpreter and ``imgtool
--help``, and the slowest imports of ``fwsign verify`` from ``python -X importtime``,
so a start-up regression shows up as a named module.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import CLASS_ID, MIB, VENDOR_ID, WORK, log, random_file, stats, tool

IMAGE_SIZE = 1 * MIB
PYCACHE = WORK / "pycache"
#: imgtool needs a slot size; 2 MiB holds the 1 MiB image, its header and trailer.
SLOT_SIZE = hex(2 * MIB)
#: Pairs of (fwsign keygen --alg, imgtool keygen -t) for the same algorithm.
ALGS = {"Ed25519": ("ed25519", "ed25519"), "ECDSA P-256": ("p256", "ecdsa-p256")}


def _env() -> dict[str, str]:
    """Environment for the timed processes: byte-code caching on, in a private cache.

    With PYTHONDONTWRITEBYTECODE set (common in containers and CI) a package whose
    cached byte code is missing or stale is compiled from source on every start,
    which would time the compiler rather than the tool. A private PYTHONPYCACHEPREFIX
    lets both tools cache their byte code after the warm-up run, as an installed tool
    would, without writing into the source tree.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _run(argv: list[str]) -> float:
    env = _env()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:  # a failing command is fast and meaningless: stop
        raise SystemExit(f"benchmarks: {' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def _time_pair(cmds: dict[str, list[str]], repeat: int) -> dict[str, list[float]]:
    for argv in cmds.values():  # warm-up: byte-compile caches, page cache
        _run(argv)
    samples: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, argv in cmds.items():
            samples[name].append(_run(argv))
    return samples


def _keys(d: Path, fw_alg: str, img_alg: str) -> tuple[Path, Path, Path]:
    """fwsign private + public key and imgtool key, generated once per run."""
    base = d / f"fwsign-{fw_alg}"
    for suffix in (".pem", ".pub.pem", ".cose"):
        Path(str(base) + suffix).unlink(missing_ok=True)
    subprocess.run([tool("fwsign"), "keygen", "--alg", fw_alg, "-o", str(base)], check=True, stdout=subprocess.DEVNULL)
    img_key = d / f"imgtool-{img_alg}.pem"
    img_key.unlink(missing_ok=True)
    subprocess.run([tool("imgtool"), "keygen", "-k", str(img_key), "-t", img_alg], check=True, stdout=subprocess.DEVNULL)
    return Path(str(base) + ".pem"), Path(str(base) + ".pub.pem"), img_key


def _importtime(argv: list[str], top: int = 15) -> dict[str, Any]:
    """Parse ``python -X importtime`` for a CLI run: slowest imports by cumulative and own time."""
    _run(argv)  # fill the byte-code cache, so compilation is not counted as import time
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, env=_env(), check=False)
    rows = []
    for line in proc.stderr.decode().splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append({"module": name.strip(), "depth": depth, "self_us": int(self_us), "cumulative_us": int(cum_us)})
    # Top-level imports (depth 0) partition the total; a name there is what to blame.
    top_level = sorted((r for r in rows if r["depth"] == 0), key=lambda r: r["cumulative_us"], reverse=True)
    by_self = sorted(rows, key=lambda r: r["self_us"], reverse=True)
    return {
        "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv)),
        "modules_imported": len(rows),
        "total_import_us": sum(r["self_us"] for r in rows),
        "top_level_by_cumulative": top_level[:top],
        "by_self": by_self[:top],
    }


def run(quick: bool = False) -> dict[str, Any]:
    repeat = 3 if quick else 9
    d = WORK / "cli"
    d.mkdir(parents=True, exist_ok=True)
    image = random_file(WORK / f"image-{IMAGE_SIZE}.bin", IMAGE_SIZE)
    fwsign, imgtool = tool("fwsign"), tool("imgtool")
    rows: list[dict[str, Any]] = []
    verify_argv: list[str] = []
    for label, (fw_alg, img_alg) in ALGS.items():
        priv, pub, img_key = _keys(d, fw_alg, img_alg)
        envelope = d / f"image-{fw_alg}.suit"
        signed_img = d / f"image-{img_alg}.signed.bin"
        fw_sign = [fwsign, "sign", str(image), "-k", str(priv), "-o", str(envelope), "--sequence", "1",
                   "--vendor-id", VENDOR_ID, "--class-id", CLASS_ID]
        img_sign = [imgtool, "sign", "--key", str(img_key), "--header-size", "0x200", "--align", "4",
                    "--version", "1.0.0", "--slot-size", SLOT_SIZE, "--pad-header", str(image), str(signed_img)]
        fw_verify = [fwsign, "verify", str(envelope), "-k", str(pub), "--image", str(image)]
        img_verify = [imgtool, "verify", "--key", str(img_key), str(signed_img)]
        verify_argv = fw_verify
        for op, fw_cmd, img_cmd in (("sign", fw_sign, img_sign), ("verify", fw_verify, img_verify)):
            s = _time_pair({"fwsign": fw_cmd, "imgtool": img_cmd}, repeat)
            fw, im = statistics.median(s["fwsign"]), statistics.median(s["imgtool"])
            rows.append({
                "operation": op, "algorithm": label,
                "fwsign_s": stats(s["fwsign"]), "imgtool_s": stats(s["imgtool"]),
                "ratio": fw / im,
                "ratio_of_mins": min(s["fwsign"]) / min(s["imgtool"]),
            })
            log(f"  cli {op:6} {label:11}: fwsign {fw * 1e3:6.0f} ms  imgtool {im * 1e3:6.0f} ms  ratio {fw / im:.2f}")

    startup_cmds = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "fwsign --help": [fwsign, "--help"],
        "imgtool --help": [imgtool, "--help"],
        # The libraries both tools need on this path, to tell their own cost from fwsign's.
        "python -c 'import cryptography.x509'": [sys.executable, "-c", "import cryptography.x509"],
    }
    st = _time_pair(startup_cmds, repeat)
    startup = {name: stats(v) for name, v in st.items()}
    for name, v in st.items():
        log(f"  start-up {name:26}: {statistics.median(v) * 1e3:6.0f} ms")
    return {
        "description": "wall time of CLI processes on the same 1 MiB image: fwsign vs MCUboot imgtool",
        "units": {"*_s": "seconds of wall time per process", "ratio": "median fwsign / median imgtool",
                  "ratio_of_mins": "fastest fwsign / fastest imgtool"},
        "image_bytes": IMAGE_SIZE,
        "environment": "PYTHONDONTWRITEBYTECODE unset, PYTHONPYCACHEPREFIX=benchmarks/work/pycache; one warm-up run per command",
        "imgtool_options": "--header-size 0x200 --align 4 --version 1.0.0 --slot-size " + SLOT_SIZE + " --pad-header",
        "results": rows,
        "startup_s": startup,
        "importtime_fwsign_verify": _importtime(verify_argv),
    }
