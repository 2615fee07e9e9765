"""Shared pieces of the fleet collector tests: a fixture fleet of real device keys, signed
reports as fwsign's device emits them (install: ``true`` or a refusal; boot:
invoke-pending), and the collector started as its own process (``fwsign fleet serve``).

The releases are the SUIT specification's example envelopes (tests/vectors/suit-spec,
from draft-ietf-suit-manifest appendix B): real signed manifests whose digests reports name.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fwsign import cbor
from fwsign.fleet.db import Database
from fwsign.keys import generate, make_signer, public_of, public_pem
from fwsign.report import INVOKE_PENDING, Failure, Record, Report, build_report, encode_report, sign_report
from fwsign.suit.decode import decode_envelope_parts

from .conftest import vector

CLASS_A = "7f1d1b6c-7b1a-5a8e-9d1e-0c1f3a6b2a11"
CLASS_B = "0b3c8e2d-4f5a-5b6c-8d7e-9f0a1b2c3d4e"
ROOT = Path(__file__).resolve().parent.parent


def envelope(n: int) -> bytes:
    return vector(f"example{n}.signed.hex")


def manifest_of(env: bytes) -> bytes:
    return decode_envelope_parts(env).manifest_bytes


@dataclass
class Dev:
    device_id: str
    class_id: str
    key: Any

    def report(self, env: bytes, reason: str = "ok", *, nonce: bytes | None = None, key: Any = None) -> bytes:
        """An install report: ``ok`` or a refusal of ``env``."""
        man = None if reason in ("malformed", "signature-invalid", "truncated") else manifest_of(env)
        r = build_report(env, reason, manifest=man, record=Record(20, 4, 0) if reason != "ok" else None,
                         nonce=nonce or secrets.token_bytes(16))
        return sign_report(r, make_signer(key or self.key))

    def boot(self, env: bytes, *, nonce: bytes | None = None) -> bytes:
        """A boot report: the image of ``env`` verified and is about to start (invoke-pending)."""
        base = build_report(env, manifest=manifest_of(env), nonce=nonce or secrets.token_bytes(16))
        r = Report(base.uri, base.digest, (), Failure(0, Record(9, 0, 0), INVOKE_PENDING), base.nonce)
        return sign_report(encode_report(r), make_signer(self.key))


def make_devices(n: int, class_id: str, kind: str = "p256", seed: int = 0) -> list[Dev]:
    out = []
    for i in range(n):
        did = str(uuid.UUID(int=(seed << 64) | (i + 1), version=4))
        out.append(Dev(did, class_id, generate(kind)))
    return out


def register(db: Database, devs: list[Dev]) -> None:
    for d in devs:
        db.register_device(d.device_id, d.class_id, public_pem(public_of(d.key)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collector:
    """``fwsign fleet serve`` in its own process, on a loopback port."""

    def __init__(self, db_url: str, tmp: Path, *extra: str) -> None:
        self.port = free_port()
        self.token_file = tmp / "token"
        self.log = open(tmp / f"collector-{self.port}.log", "wb")  # noqa: SIM115
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fwsign", "fleet", "serve", "--db", db_url, "--port", str(self.port),
             "--token-file", str(self.token_file), *extra], cwd=tmp, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"collector did not start: {(tmp / f'collector-{self.port}.log').read_text()}")
            time.sleep(0.1)
        self.token = self.token_file.read_text().strip()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def post(self, device_id: str, body: bytes, ctype: str = "application/cose") -> tuple[int, bytes]:
        return self.request("POST", f"/v1/devices/{device_id}/reports", body, {"Content-Type": ctype})

    def status_json(self) -> Any:
        import json

        code, body = self.request("GET", "/status.json", headers={"Authorization": f"Bearer {self.token}"})
        assert code == 200, body
        return json.loads(body)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


__all__ = ["CLASS_A", "CLASS_B", "ROOT", "Collector", "Dev", "cbor", "envelope", "make_devices", "manifest_of", "register"]
