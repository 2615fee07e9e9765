"""The collector's schema: registered devices, known releases, accepted reports.

One schema for SQLite and PostgreSQL; only the spelling of an auto-numbered key and of a
byte string differs, chosen by the connection's driver.
"""

from typing import Any

from yoyo import step

__depends__: set[str] = set()


def _types(conn: Any) -> tuple[str, str]:
    if type(conn).__module__.startswith("psycopg"):
        return "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BYTEA"
    return "INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"


def apply(conn: Any) -> None:
    serial, blob = _types(conn)
    cur = conn.cursor()
    cur.execute("""CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        class_id TEXT NOT NULL,
        kid TEXT NOT NULL UNIQUE,
        key_pem TEXT NOT NULL,
        registered_at BIGINT NOT NULL)""")
    cur.execute("""CREATE TABLE releases (
        digest TEXT PRIMARY KEY,
        class_id TEXT NOT NULL,
        sequence BIGINT NOT NULL,
        available_at BIGINT NOT NULL,
        envelope_digest TEXT NOT NULL)""")
    cur.execute(f"""CREATE TABLE reports (
        id {serial},
        device_id TEXT NOT NULL REFERENCES devices(device_id),
        received_at BIGINT NOT NULL,
        replay_key TEXT NOT NULL UNIQUE,
        digest TEXT NOT NULL,
        uri TEXT NOT NULL,
        kind TEXT NOT NULL,
        reason TEXT NOT NULL,
        signed {blob} NOT NULL)""")
    cur.execute("CREATE INDEX reports_device ON reports (device_id, id)")


def rollback(conn: Any) -> None:
    cur = conn.cursor()
    for table in ("reports", "releases", "devices"):
        cur.execute(f"DROP TABLE {table}")


steps = [step(apply, rollback)]
