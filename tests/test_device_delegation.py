"""The simulated device (C boot flow) installs a release signed by a delegated key when it
trusts only the offline anchor: the chain is checked at install against the device's clock
(``--now``), and the installed image keeps booting after the delegation expires."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from fwsign.keys import private_pem, public_of, public_pem

from .conftest import KEYS, Result

IDENT = ["--vendor-domain", "example.com", "--class-name", "pump"]
SMALL = ["--sector-size", "1024", "--slot-sectors", "12"]
ANCHOR = KEYS["ed25519"]
ONLINE = ec.derive_private_key(0x5EC0DE, ec.SECP256R1())
NOW = 1_900_000_000  # 2030-03-17T17:46:40Z
EXPIRES = "2030-04-01"  # after NOW
AFTER = 1_920_000_000  # 2030-11-04, after the delegation expired


def _release(cli: Callable[..., Result], tmp: Path, seq: int, class_name: str = "pump") -> Path:
    fw = tmp / f"fw{seq}.bin"
    fw.write_bytes(bytes([seq]) * 300)
    out = tmp / f"fw{seq}.suit"
    r = cli("sign", fw, "-k", tmp / "ci.pem", "--delegation", tmp / "ci.cwt", "-o", out, "--sequence", str(seq),
            "--vendor-domain", "example.com", "--class-name", class_name)
    assert r.code == 0, r.err
    return out


def test_device_installs_a_release_signed_by_a_delegated_key(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "anchor.pem").write_bytes(private_pem(ANCHOR.private))  # type: ignore[arg-type]
    (tmp_path / "anchor.pub.pem").write_bytes(public_pem(ANCHOR.trusted.key))
    (tmp_path / "ci.pem").write_bytes(private_pem(ONLINE))
    (tmp_path / "ci.pub.pem").write_bytes(public_pem(public_of(ONLINE)))
    r = cli("delegate", "issue", "--anchor", tmp_path / "anchor.pem", "--subject", tmp_path / "ci.pub.pem",
            "--expires", EXPIRES, *IDENT, "-o", tmp_path / "ci.cwt")
    assert r.code == 0, r.err
    d = tmp_path / "dev"
    assert cli("device", "create", d, "--trust", tmp_path / "anchor.pub.pem", *IDENT, *SMALL).code == 0

    env1 = _release(cli, tmp_path, 1)
    r = cli("device", "install", d, env1, "--payload", tmp_path / "fw1.bin", "--now", str(NOW), "--json")
    assert r.code == 0, r.out + r.err
    r = cli("device", "boot", d, "--json")
    assert r.code == 0 and json.loads(r.out)["sequence"] == 1, r.out + r.err

    # After the delegation expired: a new release signed by the same key is refused ...
    env2 = _release(cli, tmp_path, 2)
    r = cli("device", "install", d, env2, "--payload", tmp_path / "fw2.bin", "--now", str(AFTER), "--json")
    assert r.code == 1 and json.loads(r.out)["reason"] == "delegation-expired", r.out + r.err
    # ... and an ISO 8601 time works the same way.
    r = cli("device", "install", d, env2, "--payload", tmp_path / "fw2.bin", "--now", "2030-11-04T00:00:00Z")
    assert r.code == 1 and "delegation-expired" in r.err
    # ... but the installed image keeps booting: expiry was checked when it was installed.
    r = cli("device", "boot", d, "--json")
    assert r.code == 0 and json.loads(r.out)["sequence"] == 1, r.out + r.err

    # Within the validity period the update goes through; another class is outside the scope.
    r = cli("device", "install", d, env2, "--payload", tmp_path / "fw2.bin", "--now", str(NOW + 60))
    assert r.code == 0, r.out + r.err
    assert json.loads(cli("device", "boot", d, "--json").out)["sequence"] == 2
    meter = _release(cli, tmp_path, 3, "meter")
    r = cli("device", "install", d, meter, "--payload", tmp_path / "fw3.bin", "--now", str(NOW), "--json")
    assert r.code == 1 and json.loads(r.out)["reason"] in {"delegation-scope", "class-mismatch"}, r.out
