"""A static HTTP server for a repository directory, on loopback, for development and tests.

It serves only ``metadata/`` and ``targets/`` (never ``keys/``, ``staged/`` or
``repo.json``), read-only, with GET and HEAD. Production serves the same static files
from nginx or object storage behind a CDN (docs/repo.md).
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SERVED = ("/metadata/", "/targets/")


class _Handler(SimpleHTTPRequestHandler):
    def _allowed(self) -> bool:
        path = self.path.split("?", 1)[0]
        return path.startswith(SERVED) and "/." not in path and ".." not in path

    def do_GET(self) -> None:
        if not self._allowed():
            self.send_error(404)
            return
        super().do_GET()

    def do_HEAD(self) -> None:
        if not self._allowed():
            self.send_error(404)
            return
        super().do_HEAD()

    def list_directory(self, path: Any) -> None:
        self.send_error(404)
        return None

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


def make_server(directory: Path, port: int = 0, host: str = "127.0.0.1", *, verbose: bool = False) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0 picks a free one); call ``serve_forever``."""
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError("repo serve binds to loopback only; use a real web server in production")
    handler = functools.partial(_Handler, directory=str(directory))
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
