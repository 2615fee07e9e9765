"""Post-quantum signatures next to ESP256 and Ed25519, in one run.

For each HSS-LMS parameter set fwsign offers, ML-DSA-44 (and -65/-87 for sizes), ESP256
and Ed25519, one release envelope (a 256 KiB image fetched by uri) is signed and measured:

- signature and envelope bytes (exact);
- key generation, and sign time (CPU, median): HSS-LMS both with a durable reservation
  per signature (what ``fwsign sign`` does: fsync of the key file and its directory) and
  within a reserved block (a signing service);
- host verify time (``fwsign.verify.verify_envelope``, CPU, median of interleaved
  batches) as a ratio to Ed25519 measured in the same run;
- Cortex-M4 verification of the envelope (parse, manifest digest, signature) under the
  emulator of ``make bench-device`` (benchmarks/emu): HSS-LMS (src/hsslms.c) and ML-DSA
  (ports/soft/mldsa.c) are emulated whole; P-256 and Ed25519 signatures, which the soft
  port does not implement, add the cited cycles of the nRF52840 profile; instructions x
  CPI 1.25 (estimate, see docs/energy.md);
- the energy of one 256 KiB update of an nRF52840 over BLE 1M with that envelope and
  that verification (fwsign.energy, SUIT envelope mode, one boot).

Absolute times are this machine's; ratios and counts are what to quote.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import KIB, REPO, log, machine_info, time_interleaved

sys.path.append(str(REPO / "benchmarks" / "emu"))  # after benchmarks/: its report.py is not emu/report.py

IMAGE_BYTES = 256 * KIB
URI = "https://fw.example.com/board/v1.bin"
VENDOR = uuid.UUID("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe").bytes
CLASS = uuid.UUID("1492af14-2569-5e48-bf42-9b2d51f2ab45").bytes
CPI_M4 = 1.25  # benchmarks/emu/run.py's CPI model for the Cortex-M4 (estimate)
PQM4_MLDSA44_VERIFY = 1_421_623  # REFERENCE s5: pqm4 m4f, for comparison with our portable C
#: bootloader-ref's key types (include/bootref_port.h)
KEY_TYPES = {"hss-lms": 4, "ml-dsa-44": 5, "ml-dsa-65": 6, "ml-dsa-87": 7}


@dataclass(frozen=True)
class Alg:
    label: str
    kind: str  # "ed25519", "p256", "ml-dsa-44", ..., "hss-lms"
    heights: tuple[int, ...] = ()
    w: int = 0
    device: bool = True  # emulated / in the table

    @property
    def hss(self) -> bool:
        return self.kind == "hss-lms"


ALGS = (
    Alg("Ed25519", "ed25519"),
    Alg("ESP256", "p256"),
    Alg("ML-DSA-44", "ml-dsa-44"),
    Alg("ML-DSA-65", "ml-dsa-65", device=False),
    Alg("ML-DSA-87", "ml-dsa-87", device=False),
    Alg("HSS-LMS H10 W8", "hss-lms", (10,), 8),
    Alg("HSS-LMS H10 W4", "hss-lms", (10,), 4),
    Alg("HSS-LMS H15 W4", "hss-lms", (15,), 4),
    Alg("HSS-LMS H10+H10 W8", "hss-lms", (10, 10), 8),
    Alg("HSS-LMS H10+H10 W4", "hss-lms", (10, 10), 4),
)


def _manifest() -> tuple[bytes, dict[int, bytes]]:
    from fwsign.suit import builder

    digest, n = builder.hash_stream([bytes(IMAGE_BYTES)])
    comp = builder.ComponentSpec(component_id=(b"\x00",), images=(builder.ImageSpec(digest, n, None, URI),),
                                 vendor_id=VENDOR, class_id=CLASS)
    return builder.build_manifest(builder.ManifestSpec(1, (comp,)))


def _cpu(fn: Any, n: int) -> float:
    """Median CPU seconds of ``n`` single calls."""
    samples = []
    for _ in range(n):
        c0 = time.process_time()
        fn()
        samples.append(time.process_time() - c0)
    return statistics.median(samples)


def _keys(alg: Alg, d: Path) -> dict[str, Any]:
    """Generate the key; for HSS-LMS through the key file and its signer (timed)."""
    from fwsign import keys as K
    from fwsign.keys import HssLmsPublicKey
    from fwsign.stateful import HssParams, HssSigner, keygen_files

    if alg.hss:
        base = d / alg.label.replace(" ", "_").replace("+", "p")
        c0 = time.process_time()
        keygen_files(base, HssParams.of(alg.heights, alg.w))
        keygen_s = time.process_time() - c0
        signer = HssSigner(f"{base}.hss", block=64, warn=lambda m: None)
        c0 = time.process_time()
        signer.sign(b"first")  # a two-level key builds its first bottom tree here
        first_s = time.process_time() - c0
        durable = HssSigner(f"{base}.hss", block=1, warn=lambda m: None)
        return {"signer": signer, "durable": durable, "public": HssLmsPublicKey(signer.public_key),
                "keygen_s": keygen_s, "first_sign_s": first_s, "capacity": signer.params.capacity}
    c0 = time.process_time()
    key = K.generate(alg.kind)
    keygen_s = time.process_time() - c0
    return {"signer": K.make_signer(key), "public": K.public_of(key), "keygen_s": keygen_s}


def run(quick: bool = False) -> dict[str, Any]:
    from fwsign import cose
    from fwsign.suit import builder
    from fwsign.suit.decode import decode_envelope
    from fwsign.verify import Policy, TrustedKey, verify_envelope

    algs = [a for a in ALGS if not (quick and a.heights in ((15,), (10, 10)) and a.w == 4)]
    manifest, severed = _manifest()
    rows: dict[str, dict[str, Any]] = {}
    verifiers: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="fwsign-bench-pq-") as td:
        d = Path(td)
        for alg in algs:
            log(f"   {alg.label}: keys and signing")
            k = _keys(alg, d)
            env = builder.assemble_envelope(manifest, [k["signer"]], severed=severed)
            sig = decode_envelope(env).auth.blocks[0].message.tag
            tbs = cose.to_be_signed(18, cose.protected_header(k["signer"].alg, k["signer"].kid), b"x" * 40)
            n = 5 if quick else 25
            row: dict[str, Any] = {
                "kind": alg.kind, "signature_bytes": len(sig), "envelope_bytes": len(env),
                "keygen_s": round(k["keygen_s"], 4), "sign_s": _cpu(lambda s=k["signer"], m=tbs: s.sign(m), n),
            }
            if alg.hss:
                row |= {"heights": list(alg.heights), "w": alg.w, "capacity": k["capacity"],
                        "first_sign_s": round(k["first_sign_s"], 4),
                        "sign_durable_wall_s": _wall(lambda s=k["durable"], m=tbs: s.sign(m), n),
                        "sign_block_wall_s": _wall(lambda s=k["signer"], m=tbs: s.sign(m), n)}
            rows[alg.label] = row
            policy = Policy(keys=(TrustedKey.of(k["public"], alg.label),))
            verifiers[alg.label] = (lambda e=env, p=policy: _must_verify(verify_envelope(e, p)))
            row["_env"] = env
            row["_pub"] = k["public"]
    log("   host verify, interleaved")
    samples = time_interleaved(verifiers, repeat=3 if quick else 7, target_s=0.05 if quick else 0.2)
    base = statistics.median(samples["Ed25519"])
    for label, s in samples.items():
        rows[label]["verify_s"] = statistics.median(s)
        rows[label]["verify_ratio_to_ed25519"] = round(statistics.median(s) / base, 2)
    device = _device(algs, rows)
    energy = _energy(rows, device)
    for label, row in rows.items():
        row.pop("_env")
        row.pop("_pub")
        row |= device.get(label, {}) | energy.get(label, {})
    return {"benchmark": "pq", "image_bytes": IMAGE_BYTES, "machine": machine_info(), "rows": rows,
            "notes": {
                "sign_s": "CPU seconds of one signature (in-process signer; HSS-LMS within a reserved block)",
                "sign_durable_wall_s": "HSS-LMS wall seconds of one signature with its own durable reservation "
                                       "(fsync of the key file and its directory), as fwsign sign does",
                "keygen_s": "CPU seconds; HSS-LMS: the top tree (the public key); a two-level key builds each "
                            "bottom tree when its first leaf is used (first_sign_s), then every 2^H signatures",
                "m4_verify_cycles": "envelope verification on a Cortex-M4: emulated instructions x CPI 1.25 "
                                    "(estimate); P-256 / Ed25519 signature cycles cited from the nRF52840 profile",
                "pqm4_mldsa44_verify_cycles": PQM4_MLDSA44_VERIFY,
                "ble_energy_mj": "one 256 KiB update of an nRF52840 over BLE 1M (fwsign.energy, SUIT mode, one boot)",
            }}


def _wall(fn: Any, n: int) -> float:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _must_verify(report: Any) -> None:
    if not report.valid:
        raise RuntimeError(f"benchmark envelope did not verify: {report.error}")


def _device(algs: list[Alg], rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Cortex-M4 verification of each envelope under the emulator (benchmarks/emu)."""
    import emu

    from fwsign.energy import load_catalog
    from fwsign.keys import public_raw

    if emu.arm_gcc() is None:
        log("   arm-none-eabi-gcc missing: no device figures")
        return {}
    log("   emulating the Cortex-M4 verification")
    b = emu.build("cortex-m4", pq=True)
    nrf = next(dv for dv in load_catalog().devices if dv.name == "nrf52840")
    out: dict[str, dict[str, Any]] = {}
    for alg in algs:
        if not alg.device:
            continue
        row = rows[alg.label]
        pq = alg.kind in KEY_TYPES
        key = (KEY_TYPES[alg.kind], public_raw(row["_pub"])) if pq else None
        r = emu.emulate(b, row["_env"], vendor=VENDOR, klass=CLASS, flags=emu.ALLOW_SKIP, sequences=emu.SEQ_VALIDATE,
                        pq_key=key)
        if r.verify_result != 0:
            raise RuntimeError(f"{alg.label}: the emulated verifier returned {r.verify_result}")
        cited = 0.0 if pq else nrf.sig_impl(alg.kind, None).cycles.value
        out[alg.label] = {"m4_verify_instr": r.verify_total, "m4_signature_instr": r.verify_sig,
                          "m4_verify_cycles": round(r.verify_total * CPI_M4 + cited),
                          "m4_signature_source": "emulated" if pq else f"cited: {nrf.sig_impl(alg.kind, None).library}"}
    return out


def _energy(rows: dict[str, dict[str, Any]], device: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    from fwsign.energy import Scenario, load_catalog, load_measured, update_cost

    if "Ed25519" not in device:
        return {}
    cat = load_catalog()
    dev = next(d for d in cat.devices if d.name == "nrf52840")
    link = next(lk for lk in cat.links if lk.name == "ble-1m")
    measured = load_measured()
    ed_instr = device["Ed25519"]["m4_verify_instr"]
    out: dict[str, dict[str, Any]] = {}
    for label, row in rows.items():
        dv = device.get(label)
        if dv is None:
            continue
        if row["kind"] in ("p256", "ed25519"):
            sc = Scenario(IMAGE_BYTES, alg=row["kind"], envelope_bytes=row["envelope_bytes"])
        else:
            # the parse and digest counts of the Ed25519 envelope; the post-quantum signature's
            # cycles are what its emulated verification adds to that envelope's
            extra = max(0, dv["m4_verify_instr"] - ed_instr) * CPI_M4
            sc = Scenario(IMAGE_BYTES, alg="ed25519", envelope_bytes=row["envelope_bytes"], signature_cycles=extra,
                          signature_label=f"{label} (emulated)")
        c = update_cost(dev, link, measured, sc)
        meta = sum(p.energy_j for p in c.phases if p.name in ("radio: update metadata", "cpu: signature"))
        out[label] = {"ble_energy_mj": round(c.total_j * 1e3, 3), "envelope_energy_mj": round(meta * 1e3, 4)}
    return out
