"""Long-running mutation fuzzing of fwsign's parsers (``make fuzz``).

The unit tests run short, fixed-seed versions of these properties; this script runs them
for as long as ``FWSIGN_FUZZ_SECONDS`` says (default 120), from a random seed it prints so
that any finding can be replayed with ``FWSIGN_FUZZ_SEED``:

- decoding and verifying a mutated envelope raises nothing but fwsign's typed errors;
- a mutated envelope never verifies unless it decodes to the same manifest bytes and
  authentication wrapper as the original (i.e. only non-semantic parts changed);
- the strict CBOR fast path and the reference decoder agree on every input;
- a mutated signed SUIT report (fwsign.report) raises nothing but typed errors and never
  verifies with the device's key.

Seeds are the six SUIT specification examples and fwsign-signed envelopes of every
algorithm. Exit status 1 and the offending input in hex on the first finding.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fwsign.cbor import loads  # noqa: E402
from fwsign.errors import DecodeError, FwsignError  # noqa: E402
from fwsign.keys import generate, load_public, make_signer, public_of  # noqa: E402
from fwsign.report import DEVICE_CAPABILITIES, Record, build_report, decode_signed, sign_report, verify_report  # noqa: E402
from fwsign.suit import builder  # noqa: E402
from fwsign.suit.decode import decode_envelope  # noqa: E402
from fwsign.verify import Policy, TrustedKey, verify_envelope  # noqa: E402
from tests.cbor_reference import reference_loads  # noqa: E402

VECTORS = ROOT / "tests" / "vectors" / "suit-spec"


def _seeds() -> list[tuple[bytes, Policy]]:
    seeds: list[tuple[bytes, Policy]] = []
    spec_key = TrustedKey.of(load_public(VECTORS / "spec-test-key.public.pem"))
    for path in sorted(VECTORS.glob("*.signed*.hex")):
        seeds.append((bytes.fromhex(path.read_text()), Policy(keys=(spec_key,))))
    for kind in ("ed25519", "p256", "p384", "hmac"):
        key = generate(kind)
        digest, size = builder.hash_stream([b"fuzz image " * 100])
        spec = builder.ManifestSpec(
            7, (builder.ComponentSpec((b"\x00",), (builder.ImageSpec(digest, size, None, "https://x.example/fw"),),
                                      builder.vendor_uuid("example.com"), builder.class_uuid(
                                          builder.vendor_uuid("example.com"), "fuzz")),),
            description="fuzz", sever=True)
        manifest, severed = builder.build_manifest(spec)
        data = builder.assemble_envelope(manifest, [make_signer(key, None, kid=True)], severed=severed)
        seeds.append((data, Policy(keys=(TrustedKey.of(public_of(key)),))))
    return seeds


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        op = rng.randrange(5)
        at = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(at, len(buf) - 1)] = rng.randrange(256)
        elif op == 1 and buf:
            buf[min(at, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 2:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5)))
        elif op == 3 and buf:
            del buf[at:at + rng.randrange(1, 5)]
        else:
            cut = rng.randrange(len(buf) + 1)
            buf = buf[:cut]
    return bytes(buf)


def _report_seeds() -> list[tuple[bytes, object]]:
    """Signed reports of each kind of device key: refusals with records, an accepted one."""
    out: list[tuple[bytes, object]] = []
    for kind in ("p256", "ed25519", "hmac"):
        key = generate(kind)
        for report in (build_report(b"envelope", "image-mismatch", record=Record(7, 1, 0), nonce=b"n" * 16,
                                    records=(Record(3, 84, 0), Record(7, 1, 0))),
                       build_report(b"envelope", "unsupported", capabilities=DEVICE_CAPABILITIES),
                       build_report(b"envelope", manifest=b"\xa1\x04\x63uri")):
            out.append((sign_report(report, make_signer(key)), public_of(key)))
    return out


def _check_report(data: bytes, original: bytes, key: object) -> str:
    """'' or the finding for one mutated report."""
    try:
        decode_signed(data)
        if data != original:
            verify_report(data, key)  # type: ignore[arg-type]
            return f"a mutated report verified: {data.hex()}"
    except FwsignError:
        pass
    except Exception as exc:  # any other exception is the finding
        return f"untyped {type(exc).__name__} from the report decoder: {exc} on input {data.hex()}"
    return ""


def _outcome(decode: object, data: bytes) -> object:
    try:
        return ("value", decode(data))  # type: ignore[operator]
    except DecodeError as exc:
        return ("error", type(exc).__name__, exc.message, exc.path)


def _agree(data: bytes) -> bool:
    """The decoder and the reference oracle: the same value, or the same error and path."""
    return _outcome(loads, data) == _outcome(reference_loads, data)


def main() -> int:
    seconds = float(os.environ.get("FWSIGN_FUZZ_SECONDS", "120"))
    seed = int(os.environ.get("FWSIGN_FUZZ_SEED", str(random.SystemRandom().randrange(1 << 32))))
    print(f"fuzzing for {seconds:.0f} s with FWSIGN_FUZZ_SEED={seed}", flush=True)
    rng = random.Random(seed)
    seeds = _seeds()
    originals = {}
    for data, _policy in seeds:
        env = decode_envelope(data)
        originals[data] = (env.manifest_bytes, env.auth)
    reports = _report_seeds()
    deadline = time.monotonic() + seconds
    runs = 0
    while time.monotonic() < deadline:
        if runs % 4 == 3:
            original, key = rng.choice(reports)
            runs += 1
            finding = _check_report(_mutate(rng, original), original, key)
            if finding:
                print(finding)
                return 1
            continue
        data, policy = rng.choice(seeds)
        mutated = _mutate(rng, data)
        runs += 1
        try:
            if not _agree(mutated):
                print(f"the decoder and the reference oracle disagree on {mutated.hex()}")
                return 1
            report = verify_envelope(mutated, policy)
            if report.valid and mutated != data:
                env = decode_envelope(mutated)
                if (env.manifest_bytes, env.auth) != originals[data]:
                    print(f"a mutated envelope with a different manifest verified: {mutated.hex()}")
                    return 1
        except FwsignError:
            pass
        except Exception as exc:  # any other exception is the finding
            print(f"untyped {type(exc).__name__}: {exc} on input {mutated.hex()}")
            return 1
    print(f"{runs} mutated envelopes and reports, no findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
