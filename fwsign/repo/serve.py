"""A static HTTP server for a repository's published tree, on loopback, for development and tests.

It answers GET and HEAD for regular files under ``metadata/`` and ``targets/`` of
``DIR/public/`` and nothing else: no directory listings, no other methods, no file whose
real location (after symlinks) lies outside those two directories. The decision is made on
the decoded, normalised path: the request target is percent-decoded once, and any
decoded path that still holds ``%``, a backslash, a NUL, an empty or dot segment, or a
segment starting with ``.`` is refused, so ``%2e%2e``, ``%252e%252e``, ``..\\``, ``//``
and absolute forms never reach the file system. Every refusal is a plain 404.
Production serves the same static files from nginx or object storage (docs/repo.md).
"""

from __future__ import annotations

import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from .layout import PUBLISHED_DIRS, Layout

MAX_TARGET = 4096


def resolve_request(root: Path, target: str) -> Path | None:
    """The file a request target names under ``root``'s ``metadata/`` or ``targets/``, or None.

    Pure apart from the final ``realpath`` and ``is_file`` checks; exported for tests.
    """
    if not target.startswith("/") or len(target) > MAX_TARGET:
        return None  # absolute-form (http://host/...) and asterisk-form are not served
    raw_path = target.split("?", 1)[0].split("#", 1)[0]
    try:
        decoded = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(c in decoded for c in ("%", "\\", "\x00")) or not decoded.startswith("/"):
        return None
    parts = decoded[1:].split("/")
    if len(parts) < 2 or parts[0] not in PUBLISHED_DIRS:
        return None
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    top = os.path.realpath(root)
    base = os.path.realpath(root / parts[0])
    if base != os.path.join(top, parts[0]):
        return None  # metadata/ or targets/ itself points elsewhere
    real = os.path.realpath(root.joinpath(*parts))
    if os.path.commonpath([base, real]) != base or real == base:
        return None
    if not os.path.isfile(real):
        return None
    return Path(real)


class _Handler(BaseHTTPRequestHandler):
    server_version = "fwsign-repo"
    sys_version = ""
    root: Path

    def _open(self) -> tuple[Any, int] | None:
        path = resolve_request(self.root, self.path)
        if path is None:
            self.send_error(404)
            return None
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
        except OSError:
            self.send_error(404)
            return None
        size = os.fstat(fh.fileno()).st_size
        self.send_response(200)
        ctype = "application/json" if path.name.endswith(".json") else "application/octet-stream"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(size))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        return fh, size

    def do_GET(self) -> None:
        opened = self._open()
        if opened is not None:
            with opened[0] as fh:
                try:
                    shutil.copyfileobj(fh, self.wfile, 1 << 16)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client stopped reading (a length limit, a deadline)

    def do_HEAD(self) -> None:
        opened = self._open()
        if opened is not None:
            opened[0].close()

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


def make_server(directory: Path, port: int = 0, host: str = "127.0.0.1", *, verbose: bool = False) -> ThreadingHTTPServer:
    """A server for repository ``directory`` bound to ``host:port`` (port 0 picks a free one); call ``serve_forever``.

    It serves ``directory/public/`` (or, for a repository not migrated yet, only the
    ``metadata/`` and ``targets/`` directly in ``directory``).
    """
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError("repo serve binds to loopback only; use a real web server in production")
    root = Layout(Path(directory)).served_root()
    handler = type("Handler", (_Handler,), {"root": root})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.verbose = verbose  # type: ignore[attr-defined]
    return server


def serve_in_thread(directory: Path, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start a server in a daemon thread; returns it and its base URL. Stop with ``server.shutdown()``."""
    server = make_server(directory, port)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    host, real_port = server.server_address[:2]
    return server, f"http://{host!s}:{real_port}/"
