"""Run one envelope through the Python verifier and the C verifier (in process) with the
same trusted keys, identity, counter, image and limits, and keep disagreements as vectors.

The Python side runs with the device's limits (bootloader-ref/include/bootref_config.h),
the C side in host mode with skipping allowed (``F_ALLOW_SKIP``), as ``bootref verify``.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fwsign.device import lib
from fwsign.limits import DEVICE_LIMITS
from fwsign.verify import Policy, TrustedKey, verify_envelope

from .build import CLASS, DEVICE, IMAGES, TRUSTED, VENDOR, Case, describe, encode, key_file, public_key
from .oracle import must_refuse

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "generated"
#: Python's Policy has no device identifier yet; when it gains one the C side gets it too.
POLICY_HAS_DEVICE = "device_id" in {f.name for f in dataclasses.fields(Policy)}


@dataclass(frozen=True)
class Inputs:
    """Everything besides the envelope that both verifiers are given."""

    image: bytes | None
    identity: bool
    counter: int
    keys: tuple[str, ...] = TRUSTED

    @staticmethod
    def of(case: Case) -> Inputs:
        return Inputs(IMAGES[case.image] if case.image else None, case.identity, case.counter)


@dataclass(frozen=True)
class Outcome:
    python: str
    c: str
    c_error: str
    python_detail: str

    @property
    def agree(self) -> bool:
        return self.python == self.c

    @property
    def pair(self) -> tuple[str, str]:
        return self.python, self.c


class Differ:
    """Both verifiers, one C host port per (image, identity) kept for the whole run."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="fwsign-gen-"))
        self.trusted = {name: TrustedKey.of(public_key(name), name) for name in TRUSTED}
        self.key_files: dict[str, Path] = {}
        for name in TRUSTED:
            file, data = key_file(name)
            path = self.tmp / file
            path.write_bytes(data)
            self.key_files[name] = path
        self.images: dict[bytes, Path] = {}
        self.verifiers: dict[tuple[bytes | None, bool, tuple[str, ...]], lib.Verifier] = {}

    def _verifier(self, inputs: Inputs) -> lib.Verifier:
        key = (inputs.image, inputs.identity, inputs.keys)
        v = self.verifiers.get(key)
        if v is None:
            host = lib.HostPort()
            for name in inputs.keys:
                (host.add_hmac_file if name == "hmac" else host.add_key_file)(self.key_files[name])
            if inputs.identity:
                host.set_identity(VENDOR, CLASS, DEVICE if POLICY_HAS_DEVICE else None)
            if inputs.image is not None:
                path = self.images.get(inputs.image)
                if path is None:
                    path = self.tmp / f"image-{len(self.images)}.bin"
                    path.write_bytes(inputs.image)
                    self.images[inputs.image] = path
                host.set_image(path)
            v = self.verifiers[key] = lib.Verifier(host)
        return v

    def policy(self, inputs: Inputs) -> Policy:
        kw: dict[str, object] = {}
        if inputs.identity:
            kw.update(vendor_id=VENDOR, class_id=CLASS)
            if POLICY_HAS_DEVICE:
                kw["device_id"] = DEVICE
        return Policy(keys=tuple(self.trusted[n] for n in inputs.keys), min_sequence=inputs.counter,
                      limits=DEVICE_LIMITS, **kw)  # type: ignore[arg-type]

    def run(self, envelope: bytes, inputs: Inputs) -> Outcome:
        try:
            report = verify_envelope(envelope, self.policy(inputs), inputs.image)
            py = "ok" if report.valid else str(report.reason)
            detail = report.error.describe() if report.error is not None else ""
        except Exception as exc:  # a crash is a finding too
            py, detail = f"crash:{type(exc).__name__}", str(exc)
        v = self._verifier(inputs)
        v.host.set_counter(inputs.counter)
        code = v.check(envelope)
        c = "ok" if code == 0 else lib.reason(code)
        return Outcome(py, c, "" if code == 0 else lib.err_name(code), detail)


@dataclass(frozen=True)
class Result:
    case: Case
    envelope: bytes
    outcome: Outcome
    refuse: list[str]

    @property
    def oracle_violation(self) -> list[str]:
        """Which verifier accepted an envelope the model says to refuse."""
        if not self.refuse:
            return []
        return [side for side, r in (("python", self.outcome.python), ("c", self.outcome.c)) if r == "ok"]


def check(differ: Differ, case: Case) -> Result:
    env = encode(case)
    return Result(case, env, differ.run(env, Inputs.of(case)), must_refuse(case, len(env)))


def vector(result: Result, provenance: str, expected: str | None = None) -> dict[str, object]:
    inputs = Inputs.of(result.case)
    o = result.outcome
    return {
        "envelope": result.envelope.hex(),
        "image": inputs.image.hex() if inputs.image is not None else None,
        "identity": {"vendor": VENDOR.hex(), "class": CLASS.hex(),
                     "device": DEVICE.hex() if POLICY_HAS_DEVICE else None} if inputs.identity else None,
        "counter": inputs.counter,
        "keys": list(inputs.keys),
        "expected": expected,
        "observed": {"python": o.python, "c": o.c, "c_error": o.c_error, "python_detail": o.python_detail},
        "oracle": result.refuse,
        "structure": describe(result.case),
        "provenance": provenance,
    }


def save_vector(data: dict[str, object], directory: Path = VECTORS, name: str | None = None) -> Path:
    observed = data["observed"]
    assert isinstance(observed, dict)
    stem = name or f"py-{observed['python']}__c-{observed['c']}".replace(":", "-")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def replay(differ: Differ, data: dict[str, object]) -> Outcome:
    """Run a saved vector through both verifiers with the inputs it records."""
    image = data["image"]
    identity = data["identity"]
    counter = data["counter"]
    keys = data["keys"]
    assert isinstance(counter, int) and isinstance(keys, list)
    inputs = Inputs(bytes.fromhex(image) if isinstance(image, str) else None, identity is not None, counter,
                    tuple(str(k) for k in keys))
    envelope = data["envelope"]
    assert isinstance(envelope, str)
    return differ.run(bytes.fromhex(envelope), inputs)


def hexdump(data: bytes, limit: int = 256) -> str:
    lines = [f"{i:04x}  {data[i:i + 32].hex(' ')}" for i in range(0, min(len(data), limit), 32)]
    if len(data) > limit:
        lines.append(f"... ({len(data)} bytes)")
    return "\n".join(lines)
