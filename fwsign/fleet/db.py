"""The collector's database: SQLite (embedded default, WAL) or PostgreSQL, one schema.

The schema lives in ``migrations/`` and is applied with yoyo-migrations (plain SQL steps
over DB-API connections, a lock table so two collectors starting at once do not both
migrate, the same files for both databases). Queries are written once with ``?``
placeholders and rewritten for psycopg's ``%s``.

Durability: SQLite runs in WAL mode with ``synchronous=FULL``, so a commit that returned is
on disk before the collector answers; PostgreSQL commits with its default
``synchronous_commit=on``. Errors that mean "the database cannot take this now" (gone,
full, read-only, locked too long) become :class:`DatabaseUnavailable`, which the HTTP
layer answers with 503.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..errors import DatabaseUnavailable, KeyLoadError, UsageError

MIGRATIONS: Final = Path(__file__).parent / "migrations"
#: How long a SQLite writer waits for another writer's lock before the write is refused.
SQLITE_BUSY_MS: Final = 5000


@dataclass(frozen=True)
class DeviceRow:
    device_id: str
    class_id: str
    kid: str
    key_pem: str
    registered_at: int


@dataclass(frozen=True)
class ReleaseRow:
    digest: str
    class_id: str
    sequence: int
    available_at: int
    envelope_digest: str


@dataclass(frozen=True)
class ReportRow:
    """One accepted report as stored (``signed``: the bytes as received, kept as evidence)."""

    device_id: str
    received_at: int
    replay_key: str
    digest: str
    uri: str
    kind: str
    reason: str
    signed: bytes = b""
    id: int = 0


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL (``sqlite:///path``) or of a bare path."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else Path(url)


def _unavailable(exc: BaseException) -> DatabaseUnavailable:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DatabaseUnavailable(f"the database cannot take the write: {text}")


class Database:
    """A handle on the collector's database; each thread gets its own connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self._local = threading.local()
        if not self.postgres:
            path = sqlite_path(url)
            if not path.parent.is_dir():
                raise UsageError(f"no directory {path.parent} for the database {path}")
            self.path: Path | None = path
        else:
            self.path = None

    # -- connections ------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            try:
                return psycopg.connect(self.url, connect_timeout=5)
            except psycopg.Error as exc:
                raise _unavailable(exc) from None
        assert self.path is not None
        conn = sqlite3.connect(self.path, timeout=SQLITE_BUSY_MS / 1000, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def conn(self) -> Any:
        c = getattr(self._local, "conn", None)
        if c is None or (self.postgres and c.closed):
            c = self._connect()
            self._local.conn = c
        return c

    def close(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def _sql(self, query: str) -> str:
        return query.replace("?", "%s") if self.postgres else query

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction, committed when the block ends without error."""
        errors = _db_errors()
        try:
            c = self.conn()
            cur = c.cursor()
            if not self.postgres:
                cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                c.rollback()
                raise
            c.commit()
        except errors as exc:
            self.close()
            raise _unavailable(exc) from None

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read; a connection the server dropped (a restart) is replaced once."""
        errors = _db_errors()
        for attempt in (1, 2):
            fresh = getattr(self._local, "conn", None) is None
            try:
                c = self.conn()
                cur = c.cursor()
                cur.execute(self._sql(sql), tuple(params))
                rows = list(cur.fetchall())
                if self.postgres:
                    c.rollback()  # end the read transaction psycopg opened
                return rows
            except errors as exc:
                self.close()
                if fresh or attempt == 2 or not self.postgres:
                    raise _unavailable(exc) from None
        raise AssertionError("unreachable")

    # -- schema -----------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations not yet applied; returns how many were."""
        from yoyo import get_backend, read_migrations

        if self.postgres:
            yurl = "postgresql+psycopg://" + self.url.split("://", 1)[1]
        else:
            assert self.path is not None
            yurl = f"sqlite:///{self.path.resolve()}"
        try:
            backend = get_backend(yurl)
            migrations = read_migrations(str(MIGRATIONS))
            with backend.lock():
                todo = backend.to_apply(migrations)
                backend.apply_migrations(todo)
            n = len(todo)
            backend.connection.close()
        except _db_errors() as exc:
            raise _unavailable(exc) from None
        if not self.postgres:
            self.conn().execute("PRAGMA journal_mode=WAL")
        return n

    # -- registry ---------------------------------------------------------------------

    def register_device(self, device_id: str, class_id: str, key_pem: bytes, now: int | None = None) -> DeviceRow:
        """Register (or re-key) a device: its class and the public key its reports verify with."""
        kid = public_key_id(key_pem)
        row = DeviceRow(device_id, class_id, kid, key_pem.decode("ascii"), int(time.time()) if now is None else now)
        other = self.device_by_kid(kid)
        if other is not None and other.device_id != device_id:
            raise KeyLoadError(f"key {kid} is already registered for device {other.device_id}; every device has its own key")
        with self.transaction() as cur:
            cur.execute(self._sql("DELETE FROM devices WHERE device_id = ? AND NOT EXISTS "
                                  "(SELECT 1 FROM reports WHERE reports.device_id = ?)"), (device_id, device_id))
            cur.execute(self._sql("SELECT 1 FROM devices WHERE device_id = ?"), (device_id,))
            if cur.fetchone() is not None:
                cur.execute(self._sql("UPDATE devices SET class_id = ?, kid = ?, key_pem = ? WHERE device_id = ?"),
                            (class_id, kid, row.key_pem, device_id))
            else:
                cur.execute(self._sql("INSERT INTO devices (device_id, class_id, kid, key_pem, registered_at) "
                                      "VALUES (?, ?, ?, ?, ?)"),
                            (row.device_id, row.class_id, row.kid, row.key_pem, row.registered_at))
        return row

    def add_release(self, class_id: str, sequence: int, envelope: bytes, available_at: int | None = None) -> ReleaseRow:
        """Record a release: the manifest digest its reports name, and when it became available."""
        from .. import cbor
        from ..suit.decode import decode_envelope_parts

        try:
            manifest = decode_envelope_parts(envelope).manifest_bytes
        except Exception as exc:
            raise UsageError(f"the release envelope does not decode: {exc}") from None
        digest = hashlib.sha256(cbor.bstr(manifest)).hexdigest()
        row = ReleaseRow(digest, class_id, sequence, int(time.time()) if available_at is None else available_at,
                         hashlib.sha256(envelope).hexdigest())
        with self.transaction() as cur:
            cur.execute(self._sql("DELETE FROM releases WHERE digest = ?"), (digest,))
            cur.execute(self._sql("INSERT INTO releases (digest, class_id, sequence, available_at, envelope_digest) "
                                  "VALUES (?, ?, ?, ?, ?)"),
                        (row.digest, row.class_id, row.sequence, row.available_at, row.envelope_digest))
        return row

    def device(self, device_id: str) -> DeviceRow | None:
        rows = self.query("SELECT device_id, class_id, kid, key_pem, registered_at FROM devices WHERE device_id = ?",
                          (device_id,))
        return DeviceRow(*rows[0]) if rows else None

    def device_by_kid(self, kid: str) -> DeviceRow | None:
        rows = self.query("SELECT device_id, class_id, kid, key_pem, registered_at FROM devices WHERE kid = ?", (kid,))
        return DeviceRow(*rows[0]) if rows else None

    def devices(self) -> list[DeviceRow]:
        return [DeviceRow(*r) for r in self.query(
            "SELECT device_id, class_id, kid, key_pem, registered_at FROM devices ORDER BY device_id")]

    def releases(self) -> list[ReleaseRow]:
        return [ReleaseRow(*r) for r in self.query(
            "SELECT digest, class_id, sequence, available_at, envelope_digest FROM releases ORDER BY class_id, sequence")]

    def reports(self, device_id: str | None = None) -> list[ReportRow]:
        """Accepted reports in the order they were stored (without the signed bytes)."""
        cols = "device_id, received_at, replay_key, digest, uri, kind, reason"
        if device_id is None:
            rows = self.query(f"SELECT {cols}, id FROM reports ORDER BY id")
        else:
            rows = self.query(f"SELECT {cols}, id FROM reports WHERE device_id = ? ORDER BY id", (device_id,))
        return [ReportRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], b"", r[7]) for r in rows]

    def count_reports(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM reports")[0][0])

    # -- ingest -----------------------------------------------------------------------

    def insert_reports(self, rows: Sequence[ReportRow]) -> list[bool]:
        """Store ``rows`` in one transaction; for each, True if stored, False if its replay key
        was already there (a replay). Raises DatabaseUnavailable and stores nothing when the
        commit fails."""
        sql = self._sql("INSERT INTO reports (device_id, received_at, replay_key, digest, uri, kind, reason, signed) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (replay_key) DO NOTHING")
        out: list[bool] = []
        with self.transaction() as cur:
            for r in rows:
                cur.execute(sql, (r.device_id, r.received_at, r.replay_key, r.digest, r.uri, r.kind, r.reason, r.signed))
                out.append(cur.rowcount == 1)
        return out


def _db_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [sqlite3.OperationalError, sqlite3.DatabaseError]
    try:
        import psycopg

        errs.append(psycopg.OperationalError)
        errs.append(psycopg.errors.DiskFull)
        errs.append(psycopg.InterfaceError)
    except ImportError:
        pass
    return tuple(errs)


def public_key_id(key_pem: bytes) -> str:
    """The key id (hex) of a device's public report key; refuses private keys and shared secrets."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    from ..keys import key_id

    if b"PRIVATE" in key_pem or b"SYMMETRIC" in key_pem or b"SECRET" in key_pem:
        raise KeyLoadError("give the device's public report key: the collector stores no private keys or shared secrets")
    try:
        key = serialization.load_pem_public_key(key_pem)
    except ValueError:
        raise KeyLoadError("not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise KeyLoadError(f"unsupported report key type {type(key).__name__} (P-256 or Ed25519)")
    return key_id(key).hex()
