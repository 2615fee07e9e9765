"""The fleet collector (fwsign.fleet, fwsign fleet ...): registry, the check of a posted
report, the figures, halt rules, and the collector over loopback HTTP on SQLite.

Attack tests are named after the threat (RFC 9124 REQ.SEC.REPORTING: reports must not be
spoofed or replayed); the collector runs as its own process (``fwsign fleet serve``) and
is killed with SIGKILL for the durability test. PostgreSQL: tests/test_fleet_pg.py; the
page in Chromium: tests/test_fleet_page.py.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from fwsign.errors import DatabaseUnavailable, FwsignError, KeyLoadError
from fwsign.fleet.app import KEY_CACHE_SECONDS
from fwsign.fleet.db import Database, ReportRow
from fwsign.fleet.halt import evaluate
from fwsign.fleet.ingest import check, status_of
from fwsign.fleet.status import device_states, figures
from fwsign.keys import generate, private_pem, public_of, public_pem
from fwsign.repo import rollout as R
from tests.fleet_support import CLASS_A, CLASS_B, Collector, Dev, envelope, make_devices, register

E1, E2 = envelope(1), envelope(2)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = Database(str(tmp_path / "fleet.sqlite"))
    assert d.migrate() == 1
    assert d.migrate() == 0  # idempotent
    return d


# -- registry ---------------------------------------------------------------------------


def test_register_refuses_private_keys_secrets_and_shared_keys(db: Database, tmp_path: Path) -> None:
    key = generate("p256")
    with pytest.raises(KeyLoadError, match="no private keys"):
        db.register_device("d1", CLASS_A, private_pem(key))
    with pytest.raises(KeyLoadError):
        db.register_device("d1", CLASS_A, b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    db.register_device("d1", CLASS_A, public_pem(public_of(key)))
    with pytest.raises(KeyLoadError, match="already registered for device d1"):
        db.register_device("d2", CLASS_A, public_pem(public_of(key)))
    assert [d.device_id for d in db.devices()] == ["d1"]
    assert "PRIVATE" not in db.devices()[0].key_pem


def test_wal_mode_and_schema_version(db: Database) -> None:
    assert db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert db.count_reports() == 0


# -- the check of one report (pure) -----------------------------------------------------


def _row_key(db: Database, dev: Dev) -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization

    row = db.device(dev.device_id)
    assert row is not None
    return row, serialization.load_pem_public_key(row.key_pem.encode())


def test_check_accepts_the_devices_report(db: Database) -> None:
    devs = make_devices(2, CLASS_A)
    register(db, devs)
    row, key = _row_key(db, devs[0])
    c = check(devs[0].report(E1), devs[0].device_id, row, key, now=100)
    assert c.row.kind == "install" and c.row.reason == "ok" and c.row.received_at == 100
    c = check(devs[0].boot(E1), devs[0].device_id, row, key)
    assert c.row.kind == "boot" and c.row.reason == "invoke-pending"


@pytest.mark.parametrize("attack", ["another-device", "another-key", "forged-signature", "no-nonce", "unknown"])
def test_spoofed_reports_are_refused(db: Database, attack: str) -> None:
    """THREAT.REPORT.SPOOF: a report claiming to be another device's, or altered, never verifies."""
    from fwsign.keys import make_signer
    from fwsign.report import build_report, sign_report

    devs = make_devices(2, CLASS_A)
    register(db, devs)
    row, key = _row_key(db, devs[0])
    body = {"another-device": lambda: devs[1].report(E1),
            "another-key": lambda: devs[0].report(E1, key=generate("p256")),
            "forged-signature": lambda: devs[0].report(E1)[:-3] + b"\0\0\0",
            "no-nonce": lambda: sign_report(build_report(E1, "ok"), make_signer(devs[0].key)),
            "unknown": lambda: devs[0].report(E1)}[attack]()
    with pytest.raises(FwsignError) as exc:
        check(body, devs[0].device_id, None if attack == "unknown" else row, key)
    assert status_of(exc.value) == {"another-device": 403, "another-key": 403, "forged-signature": 403,
                                    "no-nonce": 409, "unknown": 404}[attack]


def test_mutated_reports_are_refused_with_a_fwsign_error() -> None:
    """Every byte-level mutation of a valid report is refused (400/403/413), never accepted."""
    devs = make_devices(1, CLASS_A)
    from cryptography.hazmat.primitives import serialization

    from fwsign.fleet.db import DeviceRow, public_key_id

    pem = public_pem(public_of(devs[0].key))
    row = DeviceRow(devs[0].device_id, CLASS_A, public_key_id(pem), pem.decode(), 0)
    key = serialization.load_pem_public_key(pem)
    good = devs[0].report(E1)
    rng = random.Random(18)
    for _ in range(600):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(3)
            i = rng.randrange(len(data))
            if op == 0:
                data[i] ^= 1 << rng.randrange(8)
            elif op == 1:
                del data[i:i + rng.randint(1, 8)]
            else:
                data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        if bytes(data) == good:
            continue
        with pytest.raises(FwsignError) as exc:
            check(bytes(data), devs[0].device_id, row, key)
        assert status_of(exc.value) in (400, 403, 409, 413)


# -- figures and halt rules (pure) --------------------------------------------------------


def _rows(dev: Dev, kinds: list[tuple[str, bytes, str]], t0: int = 1000) -> list[ReportRow]:
    import hashlib

    from fwsign import cbor
    from fwsign.suit.decode import decode_envelope_parts

    out = []
    for i, (kind, env, reason) in enumerate(kinds):
        dig = hashlib.sha256(cbor.bstr(decode_envelope_parts(env).manifest_bytes)).hexdigest()
        out.append(ReportRow(dev.device_id, t0 + 10 * i, os.urandom(8).hex(), dig, "", kind, reason))
    return out


def test_figures_count_installed_only_on_a_boot_report(db: Database) -> None:
    devs = make_devices(5, CLASS_A)
    register(db, devs)
    db.add_release(CLASS_A, 1, E1, available_at=0)
    db.add_release(CLASS_A, 2, E2, available_at=1000)
    rows = (_rows(devs[0], [("boot", E1, "invoke-pending"), ("install", E2, "ok"), ("boot", E2, "invoke-pending")])
            + _rows(devs[1], [("boot", E1, "invoke-pending"), ("install", E2, "ok")])  # downloaded, not booted
            + _rows(devs[2], [("boot", E1, "invoke-pending"), ("install", E2, "ok"), ("boot", E2, "invoke-pending"),
                              ("boot", E1, "invoke-pending")])  # trial boot not confirmed: fell back
            + _rows(devs[3], [("boot", E1, "invoke-pending"), ("install", E2, "rollback")]))
    fig = figures(db.devices(), db.releases(), rows, {}, 5000)
    c = fig["classes"][CLASS_A]
    assert c["totals"] == {"installed": 1, "refused": 1, "reverted": 1, "pending": 2}
    assert c["reasons"] == {"rollback": 1, "trial boot not confirmed": 1}
    assert c["versions"] == {"1": 3, "2": 1, "unknown": 1}
    rel2 = next(m for m in fig["releases"] if m["release"] == 2)
    # devs[0] first booted release 2 at 1020, 20 s after availability; devs[2] did too, then reverted: not installed
    assert rel2["installed_devices"] == 1 and rel2["median_seconds"] == 20.0 and rel2["p90_seconds"] == 20.0
    assert rel2["still_on_share"] == pytest.approx(1 / 5)
    rel1 = next(m for m in fig["releases"] if m["release"] == 1)
    assert rel1["still_on_share"] == pytest.approx(3 / 5)


def _rollout(fleet: list[Dev], rules: tuple[R.HaltRule, ...], start: int = 1000) -> R.Rollout:
    cid = uuid.UUID(fleet[0].class_id).bytes
    return R.plan(cid, 2, [50, 100], 86400, 3600, start, salt=b"s" * 32,
                  fleet=[uuid.UUID(d.device_id).bytes for d in fleet], halt_rules=rules)


def test_halt_rule_fires_above_threshold_once_min_devices_reached(db: Database) -> None:
    devs = make_devices(40, CLASS_A)
    register(db, devs)
    db.add_release(CLASS_A, 1, E1, available_at=0)
    db.add_release(CLASS_A, 2, E2, available_at=1000)
    rule = R.HaltRule("reverted", 5, 10, 7200)
    ro = _rollout(devs, (rule,))
    admitted = [d for d in devs if R.cohort(bytes.fromhex(ro.salt), uuid.UUID(d.device_id).bytes) < ro.stages[0].bound]
    assert len(admitted) == 20
    good = [("boot", E1, "invoke-pending"), ("install", E2, "ok"), ("boot", E2, "invoke-pending")]
    bad = [*good, ("boot", E1, "invoke-pending")]
    rows: list[ReportRow] = []
    for d in admitted[:9]:
        rows += _rows(d, good)
    states = device_states(db.devices(), db.releases(), rows, {CLASS_A: ro}, 2000)
    assert evaluate(ro, states, 2000) is None  # 9 outcomes < min-devices 10
    rows += _rows(admitted[9], good)
    states = device_states(db.devices(), db.releases(), rows, {CLASS_A: ro}, 2000)
    assert evaluate(ro, states, 2000) is None  # 0 of 10 reverted
    rows += _rows(admitted[10], bad)
    states = device_states(db.devices(), db.releases(), rows, {CLASS_A: ro}, 2000)
    fired = evaluate(ro, states, 2000)
    assert fired is not None and fired.failed == 1 and fired.reached == 11 and "reverted above 5%" in fired.detail
    # refusals do not count for a 'reverted' rule, but do for 'any'
    rows2: list[ReportRow] = []
    for d in admitted[:10]:
        rows2 += _rows(d, good)
    rows2 += _rows(admitted[10], [("install", E2, "rollback")])
    states = device_states(db.devices(), db.releases(), rows2, {CLASS_A: ro}, 2000)
    assert evaluate(ro, states, 2000) is None
    ro_any = _rollout(devs, (R.HaltRule("any", 5, 10, 7200),))
    states = device_states(db.devices(), db.releases(), rows2, {CLASS_A: ro_any}, 2000)
    assert evaluate(ro_any, states, 2000) is not None


def test_halt_rule_counts_silent_devices_as_timed_out(db: Database) -> None:
    devs = make_devices(40, CLASS_A)
    register(db, devs)
    db.add_release(CLASS_A, 2, E2, available_at=1000)
    ro = _rollout(devs, (R.HaltRule("timed-out", 50, 10, 3600),))
    states = device_states(db.devices(), db.releases(), [], {CLASS_A: ro}, 1000 + 3600)
    assert evaluate(ro, states, 1000 + 3600) is None  # not yet past the timeout
    states = device_states(db.devices(), db.releases(), [], {CLASS_A: ro}, 1000 + 3601)
    fired = evaluate(ro, states, 1000 + 3601)
    assert fired is not None and fired.failed == 20 == fired.reached
    halted = R.halted(ro, 5000, fired.detail)
    assert evaluate(halted, states, 6000) is None
    assert R.parse(halted.to_bytes()).halted_by == fired.detail


def test_rollout_file_halt_rules_parse_strictly() -> None:
    devs = make_devices(4, CLASS_A)
    ro = _rollout(devs, (R.HaltRule("any", 5, 20, 7200),))
    assert R.parse(ro.to_bytes()) == ro
    obj = json.loads(ro.to_bytes())
    for bad in ({"failure": "download", "above-percent": 5, "min-devices": 20, "report-timeout": 1},
                {"failure": "any", "above-percent": 100, "min-devices": 20, "report-timeout": 1},
                {"failure": "any", "above-percent": 5, "min-devices": 0, "report-timeout": 1},
                {"failure": "any", "above-percent": 5, "min-devices": 1}):
        with pytest.raises(FwsignError):
            R.parse(json.dumps({**obj, "halt-rules": [bad]}).encode())
    with pytest.raises(FwsignError):
        R.parse(json.dumps({**obj, "halted-by": "x"}).encode())  # not halted


# -- the collector over HTTP ----------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, db: Database) -> Any:
    devs = make_devices(4, CLASS_A) + make_devices(2, CLASS_B, seed=1)
    register(db, devs)
    db.add_release(CLASS_A, 1, E1)
    c = Collector(str(tmp_path / "fleet.sqlite"), tmp_path)
    try:
        yield c, db, devs
    finally:
        c.stop()


def _refused(c: Collector, db: Database, device_id: str, body: bytes, status: int, reason: str,
             ctype: str = "application/cose") -> None:
    before = db.count_reports()
    code, out = c.post(device_id, body, ctype)
    assert code == status, out
    assert json.loads(out)["reason"] == reason
    assert db.count_reports() == before  # nothing stored on a refusal


def test_http_unknown_device_404(served: Any) -> None:
    c, db, devs = served
    _refused(c, db, str(uuid.uuid4()), devs[0].report(E1), 404, "unknown-device")


def test_http_report_signed_with_another_devices_key_403(served: Any) -> None:
    """THREAT.REPORT.SPOOF: device 1 posting a report as device 0."""
    c, db, devs = served
    _refused(c, db, devs[0].device_id, devs[1].report(E1), 403, "wrong-device")


def test_http_wrong_key_403(served: Any) -> None:
    c, db, devs = served
    _refused(c, db, devs[0].device_id, devs[0].report(E1, key=generate("p256")), 403, "wrong-device")
    forged = devs[0].report(E1)
    _refused(c, db, devs[0].device_id, forged[:-4] + bytes(4), 403, "signature-invalid")


def test_http_replay_409(served: Any) -> None:
    """THREAT.REPORT.REPLAY: the same signed report twice is stored once."""
    c, db, devs = served
    body = devs[0].report(E1)
    assert c.post(devs[0].device_id, body)[0] == 201
    _refused(c, db, devs[0].device_id, body, 409, "report-replayed")
    assert db.count_reports() == 1


def test_http_truncated_cbor_400(served: Any) -> None:
    c, db, devs = served
    body = devs[0].report(E1)
    _refused(c, db, devs[0].device_id, body[:40], 400, "truncated")
    _refused(c, db, devs[0].device_id, b"\xa1\x01", 400, "truncated")
    _refused(c, db, devs[0].device_id, body + b"\x00", 400, "malformed")


def test_http_10_mb_body_413(served: Any) -> None:
    c, db, devs = served
    _refused(c, db, devs[0].device_id, b"\xd2" * (10 << 20), 413, "limit-exceeded")
    # without a Content-Length (chunked), the collector stops reading past the limit
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
    conn.putrequest("POST", f"/v1/devices/{devs[0].device_id}/reports")
    conn.putheader("Content-Type", "application/cose")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    with contextlib.suppress(OSError):
        for _ in range(16):
            chunk = b"\0" * 65536
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    assert resp.status == 413
    conn.close()
    assert db.count_reports() == 0


def test_http_wrong_content_type_415(served: Any) -> None:
    c, db, devs = served
    _refused(c, db, devs[0].device_id, devs[0].report(E1), 415, "unsupported-media-type", "application/json")
    _refused(c, db, devs[0].device_id, devs[0].report(E1), 415, "unsupported-media-type", "")


def test_http_device_rekeyed_while_serving(served: Any) -> None:
    """A device registered again with a new key is checked against the new key (after the key cache time)."""
    c, db, devs = served
    assert c.post(devs[0].device_id, devs[0].report(E1))[0] == 201
    new = generate("p256")
    db.register_device(devs[0].device_id, CLASS_A, public_pem(public_of(new)))
    time.sleep(KEY_CACHE_SECONDS + 0.2)  # the collector reads a device's key again after this long
    assert c.post(devs[0].device_id, devs[0].report(E1))[0] == 403  # the old key no longer counts
    assert c.post(devs[0].device_id, devs[0].report(E1, key=new))[0] == 201


def test_http_status_needs_the_token_and_shows_no_secret(served: Any) -> None:
    c, _db, devs = served
    assert c.post(devs[0].device_id, devs[0].boot(E1))[0] == 201
    assert c.request("GET", "/status")[0] == 401
    assert c.request("GET", "/status.json", headers={"Authorization": "Bearer wrong-token-123456"})[0] == 401
    code, _ = c.request("GET", "/status?token=" + c.token)
    assert code == 303  # sets the cookie, drops the token from the address
    code, page = c.request("GET", "/status", headers={"Cookie": f"fwsign_status={c.token}"})
    assert code == 200 and c.token.encode() not in page and b"PRIVATE" not in page and b"<script" not in page
    assert b'data-total="installed">1<' in page
    fig = c.status_json()
    assert fig["classes"][CLASS_A]["totals"]["installed"] == 1 and fig["reports"] == 1
    code, tl = c.request("GET", f"/status/devices/{devs[0].device_id}",
                         headers={"Authorization": f"Bearer {c.token}", "Accept": "application/json"})
    assert code == 200 and json.loads(tl)["timeline"][0]["reason"] == "invoke-pending"


# -- faults -------------------------------------------------------------------------------


def _load(c: Collector, devs: list[Dev], bodies: list[tuple[str, bytes]], acked: list[bytes], stop: threading.Event,
          threads: int = 6) -> list[threading.Thread]:
    lock = threading.Lock()
    it = iter(bodies)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
        while not stop.is_set():
            with lock:
                nxt = next(it, None)
            if nxt is None:
                return
            did, body = nxt
            try:
                conn.request("POST", f"/v1/devices/{did}/reports", body=body, headers={"Content-Type": "application/cose"})
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                return
            if r.status == 201:
                with lock:
                    acked.append(body)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    return ts


def test_sigkill_mid_load_loses_no_acknowledged_report_and_stores_none_twice(tmp_path: Path, db: Database) -> None:
    from fwsign.report import decode_signed, replay_key

    devs = make_devices(10, CLASS_A)
    register(db, devs)
    bodies = [(d.device_id, d.report(E1)) for _ in range(150) for d in devs]
    c = Collector(str(tmp_path / "fleet.sqlite"), tmp_path)
    acked: list[bytes] = []
    stop = threading.Event()
    ts = _load(c, devs, bodies, acked, stop)
    deadline = time.monotonic() + 60
    while len(acked) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    c.kill()  # SIGKILL: no shutdown, no flush
    stop.set()
    for t in ts:
        t.join()
    assert len(acked) >= 300
    stored = {r.replay_key for r in db.reports()}
    assert db.count_reports() == len(stored)  # none twice
    keys = [replay_key(decode_signed(b).report).hex() for b in acked]
    assert len(set(keys)) == len(keys) and set(keys) <= stored  # every acknowledged report is there
    c2 = Collector(str(tmp_path / "fleet.sqlite"), tmp_path)
    try:
        by_body = dict((b, did) for did, b in bodies)
        for b in acked[:50]:  # the device retries: a replay now
            assert c2.post(by_body[b], b)[0] == 409
        assert db.count_reports() == len(stored)
    finally:
        c2.stop()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a small tmpfs needs root")
def test_full_disk_gives_503_and_stores_nothing_unacknowledged(tmp_path: Path) -> None:
    """A database on a full file system: 503 (never 201) for the reports it cannot commit."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=384k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("this sandbox does not allow mounting a tmpfs")
    c = None
    try:
        d = Database(str(mnt / "fleet.sqlite"))
        d.migrate()
        devs = make_devices(4, CLASS_A)
        register(d, devs)
        c = Collector(str(mnt / "fleet.sqlite"), tmp_path)
        codes: list[int] = []
        for i in range(4000):
            dev = devs[i % 4]
            code, out = c.post(dev.device_id, dev.report(E1))
            codes.append(code)
            if code == 503:
                assert json.loads(out)["reason"] == "database-unavailable"
                if codes.count(503) >= 5:
                    break
        assert 503 in codes and set(codes) <= {201, 503}, set(codes)
        c.stop()
        c = None
        assert Database(str(mnt / "fleet.sqlite")).count_reports() == codes.count(201)
    finally:
        if c is not None:
            c.stop()
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_database_errors_become_database_unavailable(tmp_path: Path) -> None:
    d = Database(str(tmp_path / "f.sqlite"))
    d.migrate()
    (tmp_path / "f.sqlite").chmod(0o400)
    ro = Database(f"sqlite:///{tmp_path / 'f.sqlite'}")
    if os.geteuid() == 0:
        ro.conn().execute("PRAGMA query_only=ON")  # root ignores file modes: make the connection read-only instead
    with pytest.raises(DatabaseUnavailable):
        ro.insert_reports([ReportRow("x", 0, "k", "d", "", "install", "ok")])


# -- the command line -----------------------------------------------------------------------


def test_cli_register_release_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fwsign.cli.main import run

    dbp = str(tmp_path / "f.sqlite")
    dev = make_devices(1, CLASS_A)[0]
    (tmp_path / "k.pub.pem").write_bytes(public_pem(public_of(dev.key)))
    (tmp_path / "k.pem").write_bytes(private_pem(dev.key))
    (tmp_path / "e1.suit").write_bytes(E1)
    assert run(["fleet", "init", "--db", dbp]) == 0
    assert run(["fleet", "register", dev.device_id, "--key", str(tmp_path / "k.pub.pem"), "--class-id", CLASS_A,
                "--db", dbp]) == 0
    assert run(["fleet", "register", dev.device_id, "--key", str(tmp_path / "k.pem"), "--class-id", CLASS_A,
                "--db", dbp]) == 2
    assert "no private keys" in capsys.readouterr().err
    assert run(["fleet", "register", "not-a-uuid", "--key", str(tmp_path / "k.pub.pem"), "--class-id", CLASS_A,
                "--db", dbp]) == 2
    assert run(["fleet", "register", "--db", dbp]) == 2
    assert run(["fleet", "release", str(tmp_path / "e1.suit"), "--class-id", CLASS_A, "--sequence", "1",
                "--available-at", "2026-01-01T00:00:00Z", "--db", dbp]) == 0
    d = Database(dbp)
    d.insert_reports([check(dev.boot(E1), dev.device_id, *_row_key(d, dev)).row])
    capsys.readouterr()
    assert run(["fleet", "status", "--db", dbp, "--json"]) == 0
    fig = json.loads(capsys.readouterr().out)
    assert fig["classes"][CLASS_A]["totals"]["installed"] == 1
    assert fig["releases"][0]["available_at"] == 1767225600
    assert run(["fleet", "status", "--db", dbp]) == 0
    out = capsys.readouterr().out
    assert "installed" in out and "release 1" in out
    assert run(["fleet", "status", "--db", str(tmp_path / "nodir" / "f.sqlite")]) == 2
