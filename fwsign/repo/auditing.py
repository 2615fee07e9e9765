"""The repository's audit record: one appended record per completed action, anchored in snapshot.

Every repository action appends a record to ``DIR/audit.log`` (see :mod:`fwsign.audit`),
whose head is signed with ``DIR/keys/audit-log.pem`` (made 0600 on first use). Each
publish puts the log's head (sequence number and hash) into the new snapshot under
:data:`AUDIT_ANCHOR`: signed, version-numbered metadata, so a log later cut short, even
with an older validly signed head put back, no longer reaches the published anchor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Snapshot field holding the audit log head at publication (see :mod:`fwsign.audit`).
AUDIT_ANCHOR = "x-fwsign-audit-head"


def log_path(root: Path) -> Path:
    return root / "audit.log"


def record(root: Path, keys_dir: Path, action: str, now: Callable[[], Any], **fields: Any) -> None:
    """Append a record for a completed action and re-sign the head."""
    from ..audit import append
    from ..keys import generate, private_pem, write_atomic

    key = keys_dir / "audit-log.pem"
    if not key.exists():
        key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(key, private_pem(generate("ed25519")), mode=0o600)
    append(log_path(root), action, key=key, now=now, **fields)


def anchor(root: Path) -> dict[str, Any]:
    """The snapshot field value for the log's current head."""
    from ..audit import current_head

    seq, head = current_head(log_path(root))
    return {"seq": seq, "hash": head}
