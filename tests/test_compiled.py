"""The compiled verification path (scripts/compile.py) against the pure-Python modules.

Both are built from the same source; these tests check that a build in the tree matches
its sources, that FWSIGN_PURE=1 really imports the sources, and that the two give the
same report (checks, reason, path, detail) for the spec examples and for mutations of a
signed envelope, accepted and rejected alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import fwsign
from fwsign.keys import public_pem
from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest
from fwsign.suit.model import Digest
from fwsign.verify import Policy, TrustedKey, verify_envelope

from .conftest import KEYS

ROOT = Path(__file__).resolve().parent.parent
VECTORS = Path(__file__).resolve().parent / "vectors" / "suit-spec"

# Child process: verify every envelope in a JSON list of hex strings and print the reports.
_CHILD = """
import json, sys
import fwsign
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fwsign.verify import Policy, TrustedKey, verify_envelope
cases = json.load(sys.stdin)
out = {"compiled": fwsign.compiled(), "reports": []}
for case in cases:
    keys = tuple(TrustedKey.of(load_pem_public_key(p.encode())) for p in case["keys"])
    report = verify_envelope(bytes.fromhex(case["envelope"]), Policy(keys=keys, min_sequence=case["min_sequence"]))
    out["reports"].append(report.as_dict())
print(json.dumps(out))
"""


def _run_child(cases: list[dict[str, object]], pure: bool) -> dict[str, object]:
    env = {**os.environ}
    env.pop("FWSIGN_PURE", None)
    if pure:
        env["FWSIGN_PURE"] = "1"
    proc = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(cases), env=env,
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_fwsign_pure_imports_the_python_sources() -> None:
    code = "import fwsign, fwsign.cbor, fwsign.suit.decode; print(fwsign.compiled(), fwsign.cbor.__file__, fwsign.suit.decode.__file__)"
    env = {**os.environ, "FWSIGN_PURE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    compiled, cbor_file, decode_file = out.stdout.split()
    assert compiled == "False"
    assert cbor_file.endswith("cbor.py") and decode_file.endswith("decode.py")


@pytest.mark.skipif(not (ROOT / "fwsign" / "_native.json").exists(), reason="no compiled build in the tree (make compile)")
def test_compiled_build_matches_its_sources() -> None:
    # A build left over from older sources would shadow every edit since: refuse it.
    proc = subprocess.run([sys.executable, "scripts/compile.py", "--check"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert fwsign.compiled() or os.environ.get("FWSIGN_PURE")


def _cases() -> list[dict[str, object]]:
    spec_key = (VECTORS / "spec-test-key.public.pem").read_text()
    cases: list[dict[str, object]] = [
        {"envelope": p.read_text().strip(), "keys": [spec_key], "min_sequence": None}
        for p in sorted(VECTORS.glob("*.signed*.hex"))
    ]
    image = b"firmware image for the differential test" * 8
    comp = ComponentSpec((b"\x00",), (ImageSpec(Digest(-16, hashlib.sha256(image).digest()), len(image)),),
                         bytes(16), bytes(range(16)))
    manifest, severed = build_manifest(ManifestSpec(3, (comp,)))
    signed = assemble_envelope(manifest, [KEYS["p256"].signer()], severed=severed)
    pem = public_pem(KEYS["p256"].trusted.key).decode()
    cases.append({"envelope": signed.hex(), "keys": [pem], "min_sequence": 2})
    # Every byte replaced by a value of each CBOR major type (and 0xff), then random
    # multi-byte mutations and truncations.
    for i in range(len(signed)):
        for value in (0x00, 0x20, 0x40, 0x60, 0x80, 0xA0, 0xC0, 0xF5, 0xFF):
            if signed[i] != value:
                cases.append({"envelope": (signed[:i] + bytes([value]) + signed[i + 1:]).hex(), "keys": [pem],
                              "min_sequence": None})
    rng = random.Random(20261123)
    for _ in range(500):
        data = bytearray(signed)
        for _ in range(rng.choice((1, 1, 2, 3))):
            i = rng.randrange(len(data))
            data[i] = rng.randrange(256) if rng.random() < 0.8 else data[i] ^ (1 << rng.randrange(8))
        if rng.random() < 0.1:
            del data[rng.randrange(len(data)):]
        cases.append({"envelope": bytes(data).hex(), "keys": [pem], "min_sequence": None})
    return cases


def test_compiled_and_pure_python_give_the_same_reports() -> None:
    cases = _cases()
    compiled = _run_child(cases, pure=False)
    pure = _run_child(cases, pure=True)
    assert pure["compiled"] is False
    assert compiled["reports"] == pure["reports"]
    reports = pure["reports"]
    assert isinstance(reports, list)
    # The corpus exercises both outcomes and several reasons, or it proves little.
    assert any(r["valid"] for r in reports) and sum(not r["valid"] for r in reports) > 1000
    assert len({r.get("reason") for r in reports}) >= 4


def test_in_process_report_matches_the_child() -> None:
    # The child's verification is this process's verification (same build, same policy).
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    case = _cases()[0]
    key = TrustedKey.of(load_pem_public_key(str(case["keys"][0]).encode()))  # type: ignore[index, arg-type]
    here = verify_envelope(bytes.fromhex(str(case["envelope"])), Policy(keys=(key,))).as_dict()
    assert _run_child([case], pure=bool(os.environ.get("FWSIGN_PURE")))["reports"] == [here]


def test_a_changed_source_makes_the_build_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("fwsign_compile_script", ROOT / "scripts" / "compile.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    manifest = tmp_path / "_native.json"
    monkeypatch.setattr(script, "MANIFEST", manifest)
    assert script.stale() == []  # no build: nothing to be stale
    sources = {m: script._sha256(ROOT / m) for m in script.MODULES}
    manifest.write_text(json.dumps({"sources": sources}))
    assert script.stale() == []
    sources["fwsign/verify.py"] = "0" * 64  # as if verify.py had been edited after the build
    manifest.write_text(json.dumps({"sources": sources}))
    assert script.stale() == ["fwsign/verify.py"]
    monkeypatch.setattr(sys, "argv", ["compile.py", "--check"])
    assert script.main() == 1


def test_an_internal_error_ends_in_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # A bug anywhere under a command (here: inside the verify handler) must not print a
    # traceback or exit 0.
    import fwsign.cli.main as cli_main
    import fwsign.cli.verify as cli_verify

    def broken(_path: object) -> bytes:
        raise TypeError("bool object expected; got NotImplementedType")

    monkeypatch.setattr(cli_verify, "read_envelope", broken)
    assert cli_main.run(["verify", "x.suit", "--key", "k.pem"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (TypeError" in err and "Traceback" not in err
