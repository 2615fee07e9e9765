"""Reading images at the edge: files streamed in chunks, never whole in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .errors import UsageError

#: Chunk size for streamed hashing (the benchmarks' floor reads the same way).
CHUNK = 1 << 16


def read_chunks(path: Path, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """Stream a file in chunks (never the whole image in memory)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - generator owns the handle
    except OSError as exc:
        raise UsageError(f"cannot read image {path}: {exc.strerror}") from None
    with fh:
        while True:
            chunk = fh.read(chunk_size)
            if not chunk:
                return
            yield chunk
