"""Audit log: hash chain, signed head, and the tampering each check catches."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fwsign.audit import append, read_records, verify_log
from fwsign.errors import AuditLogError
from fwsign.keys import load_public

from .conftest import Result
from .tuf_helpers import payload_for

Run = Callable[..., Result]
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _log(tmp_path: Path, n: int = 4) -> Path:
    path = tmp_path / "audit.log"
    for i in range(n):
        append(path, "sign", artifact=f"fw{i}.suit", artifact_bytes=bytes([i]) * 10, manifest_digest=f"{i:064x}",
               key_ids=["00112233aabbccdd"], signers=["local"], reason=f"release {i}",
               now=lambda i=i: T0 + dt.timedelta(minutes=i))  # type: ignore[misc]
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _put(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_records_chain_and_the_head_verifies(tmp_path: Path) -> None:
    path = _log(tmp_path)
    records = [r for _l, r in read_records(path)]
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev == "0" * 64 and records[2].time == "2030-01-01T00:02:00Z"
    assert records[1].artifact_sha256 is not None and records[1].reason == "release 1"
    report = verify_log(path)
    assert report.records == 4 and not report.head_key_pinned
    pub = load_public(tmp_path / "audit.log.key.pem")
    assert verify_log(path, pub).head_key_pinned
    assert (tmp_path / "audit.log.key.pem").stat().st_mode & 0o777 == 0o600


def _expect(path: Path, fragment: str, key: object = None) -> None:
    with pytest.raises(AuditLogError) as info:
        verify_log(path, key)
    assert fragment in info.value.message, info.value.message


def test_edited_record_is_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    lines[1] = lines[1].replace(b"release 1", b"release X")
    _put(path, lines)
    _expect(path, "record 2 was edited")


def test_edited_last_record_is_caught_by_the_head(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    lines[3] = lines[3].replace(b"release 3", b"release Y")
    _put(path, lines)
    _expect(path, "record 4 was edited")


def test_non_canonical_or_garbled_record_is_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    lines[2] = lines[2].replace(b'","', b'", "', 1)
    _put(path, lines)
    _expect(path, "record 3 (line 3) is not in canonical form")
    lines[2] = b"{not json"
    _put(path, lines)
    _expect(path, "record 3 (line 3) is not JSON")


def test_removed_record_is_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    del lines[1]
    _put(path, lines)
    _expect(path, "record 2: expected sequence number 2, found 3: a record was removed")


def test_reordered_records_are_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    _put(path, lines)
    _expect(path, "record 2: expected sequence number 2, found 3")
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    lines.insert(2, lines[1])  # a duplicated record
    _put(path, lines)
    _expect(path, "record 3: expected sequence number 3, found 2: a record was reordered or duplicated")


def test_truncated_tail_is_caught_by_the_signed_head(tmp_path: Path) -> None:
    path = _log(tmp_path)
    _put(path, _lines(path)[:2])
    _expect(path, "record 3 and later were removed")


def test_rewritten_chain_needs_the_log_key(tmp_path: Path) -> None:
    """An attacker rebuilds a consistent log with their own key: only a pinned key notices."""
    path = _log(tmp_path)
    pub = load_public(tmp_path / "audit.log.key.pem")
    forged_dir = tmp_path / "forged"
    forged_dir.mkdir()
    forged = _log(forged_dir, 3)
    verify_log(forged)  # self-consistent
    _expect(forged, "does not verify with the given key", pub)
    (tmp_path / "audit.log.head").unlink()
    _expect(path, "is missing")


def test_appended_record_without_head_update(tmp_path: Path) -> None:
    path = _log(tmp_path)
    head = (tmp_path / "audit.log.head").read_bytes()
    append(path, "sign", now=lambda: T0)
    (tmp_path / "audit.log.head").write_bytes(head)
    _expect(path, "record 5 was appended without updating the signed head")


def test_reason_must_be_one_line(tmp_path: Path) -> None:
    from fwsign.errors import UsageError

    with pytest.raises(UsageError):
        append(tmp_path / "a.log", "sign", reason="two\nlines")


# -- through the command line ----------------------------------------------------------


def test_signing_commands_log_and_log_verify_names_the_bad_record(
    cli: Run, tmp_path: Path, key_files: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fw = tmp_path / "fw.bin"
    fw.write_bytes(payload_for(3))
    ident = ("--vendor-domain", "example.com", "--class-name", "pump", "--sequence", "3")
    res = cli("sign", fw, "--unsigned", "-o", "fw.suit", *ident, "--audit-log", "release.log")
    assert res.code == 0, res.err
    res = cli("sign-envelope", "fw.suit", "-k", key_files["ed25519"][0], "--audit-log", "release.log",
              "--reason", "QA sign-off TKT-1")
    assert res.code == 0, res.err
    monkeypatch.setenv("FWSIGN_AUDIT_LOG", str(tmp_path / "release.log"))
    res = cli("sign-envelope", "fw.suit", "-k", key_files["p256"][0])
    assert res.code == 0, res.err
    res = cli("log", "show", "release.log", "--json")
    assert res.code == 0, res.err
    recs = json.loads(res.out)
    assert [r["action"] for r in recs] == ["sign-unsigned", "sign-envelope", "sign-envelope"]
    assert recs[1]["reason"] == "QA sign-off TKT-1" and recs[1]["signers"] == ["local"]
    assert recs[2]["manifest_digest"] == recs[0]["manifest_digest"]
    assert len(recs[2]["key_ids"][0]) == 16
    text = (tmp_path / "release.log").read_text()
    assert "PRIVATE" not in text
    res = cli("log", "show", "release.log")
    assert res.code == 0 and "#2" in res.out and "QA sign-off" in res.out
    res = cli("log", "verify", "release.log", "-k", "release.log.key.pem")
    assert res.code == 0 and "valid: 3 record(s)" in res.out and "pinned" in res.out
    lines = (tmp_path / "release.log").read_bytes().splitlines(keepends=True)
    (tmp_path / "release.log").write_bytes(lines[0] + lines[2])
    res = cli("log", "verify", "release.log")
    assert res.code == 1
    assert res.err.strip() == ("fwsign: audit-log-invalid: record 2: expected sequence number 2, found 3: "
                               "a record was removed")


def test_repository_actions_always_log(cli: Run, tmp_path: Path, key_files: dict[str, tuple[Path, Path]]) -> None:
    fw = tmp_path / "fw.bin"
    fw.write_bytes(payload_for(4))
    assert cli("repo", "init", "repo").code == 0
    res = cli("sign", fw, "-k", key_files["ed25519"][0], "-o", "fw.suit", "--vendor-domain", "example.com",
              "--class-name", "pump", "--sequence", "4")
    assert res.code == 0, res.err
    res = cli("repo", "add", "repo", "fw.suit", "--payload", fw, "--suit-key", key_files["ed25519"][1], "--publish",
              "--reason", "release 4")
    assert res.code == 0, res.err
    res = cli("log", "verify", "repo/audit.log", "-k", "repo/keys/audit-log.pem", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["records"] == 4
    recs = json.loads(cli("log", "show", "repo/audit.log", "--json").out)
    assert [r["action"] for r in recs] == ["repo-init", "publish", "add", "publish"]
    add = recs[2]
    assert add["reason"] == "release 4" and add["details"]["sequence"] == 4
    assert add["artifact_sha256"] is not None and add["manifest_digest"]
    assert recs[3]["details"]["versions"]["targets"] == 2
    # The log and its key are not published.
    assert not any(p.name.startswith("audit") for p in (tmp_path / "repo" / "public" / "metadata").iterdir())
