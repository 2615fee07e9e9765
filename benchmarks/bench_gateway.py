"""Gateway throughput: small envelopes verified per second on one core, in-process.

A gateway or back end checks many envelopes without their images (the image is checked
by the device, or later). The figure is envelopes per second for one Python process,
next to the rate of the bare signature verification (the floor), plus a breakdown of
where one verification spends its time so a regression points at its stage.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
from typing import Any

import cbor2
import floors
from common import KIB, WORK, log, random_file, stats, time_interleaved
from envelopes import ALGORITHMS, new_key, sign_image

from fwsign.suit.decode import decode_envelope
from fwsign.suit.processor import observe as analyze
from fwsign.verify import Policy, TrustedKey, check_manifest_digest, verify_envelope


def _profile(fn: Any, calls: int, top: int = 12) -> list[dict[str, Any]]:
    """The functions with the most own time over ``calls`` verifications (profiler-inflated)."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    st = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append({
            "function": f"{filename.split('/site-packages/')[-1].replace(str(WORK.parent.parent) + '/', '')}:{line}({func})",
            "calls_per_verify": ncalls / calls,
            "own_us_per_verify": tottime / calls * 1e6,
            "cumulative_us_per_verify": cumtime / calls * 1e6,
        })
    rows.sort(key=lambda r: r["own_us_per_verify"], reverse=True)
    return rows[:top]


def run(quick: bool = False) -> dict[str, Any]:
    image = random_file(WORK / "gateway-image.bin", 1 * KIB)
    repeat = 3 if quick else 7
    rows: list[dict[str, Any]] = []
    profile: list[dict[str, Any]] = []
    for alg, kind in ALGORITHMS.items():
        signed = sign_image(new_key(kind), image)
        data = signed.envelope
        policy = Policy(keys=(TrustedKey.of(signed.public),))
        sig_name, sig_fn, _ = floors.fastest(signed.public, signed.to_be_signed, signed.signature)
        env = decode_envelope(data)

        def verify(data: bytes = data, policy: Policy = policy) -> None:
            if not verify_envelope(data, policy).valid:
                raise AssertionError("benchmark envelope rejected")

        fns = {
            "fwsign_verify": verify,
            "signature_floor": sig_fn,
            # Stages of one verification, to show where the time above the floor goes.
            "stage_decode_envelope": lambda data=data: decode_envelope(data),
            "stage_manifest_digest": lambda env=env: check_manifest_digest(env),
            "stage_analyze": lambda env=env: analyze(env.manifest, {}),
            # A general-purpose C decoder over the same bytes: what parsing alone can cost.
            "reference_cbor2_loads": lambda data=data: cbor2.loads(data),
        }
        samples = time_interleaved(fns, repeat, 0.25)
        med = {k: statistics.median(v) for k, v in samples.items()}
        row = {
            "algorithm": alg,
            "envelope_bytes": len(data),
            "signature_floor_library": sig_name,
            "envelopes_per_s": 1 / med["fwsign_verify"],
            "floor_verifies_per_s": 1 / med["signature_floor"],
            "ratio": med["fwsign_verify"] / med["signature_floor"],
            "ratio_of_mins": min(samples["fwsign_verify"]) / min(samples["signature_floor"]),
            "per_call_us": {k: {s: (v * 1e6 if s != "n" else v) for s, v in stats(vals).items()} for k, vals in samples.items()},
        }
        rows.append(row)
        log(f"  gateway {alg:8}: {row['envelopes_per_s']:8.0f} envelopes/s  floor {row['floor_verifies_per_s']:8.0f}/s  "
            f"ratio {row['ratio']:.2f}  decode {med['stage_decode_envelope'] * 1e6:.0f} us "
            f"(cbor2 {med['reference_cbor2_loads'] * 1e6:.0f} us)")
        if alg == "Ed25519":
            profile = _profile(verify, 300 if quick else 2000)
    return {
        "description": "verify_envelope of a small envelope (no image) per second on one core, vs the bare signature verify",
        "units": {"envelopes_per_s": "verifications per CPU second", "floor_verifies_per_s": "signature verifications per second",
                  "ratio": "median fwsign time / median floor time", "per_call_us": "CPU microseconds per call (min/median/max)",
                  "profile": "cProfile over Ed25519 verifications; absolute figures are inflated by the profiler"},
        "results": rows,
        "profile_ed25519_top_own_time": profile,
    }
