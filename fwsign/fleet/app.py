"""The collector as an ASGI application (Starlette), served by uvicorn (``fwsign fleet serve``).

``POST /v1/devices/{device_id}/reports`` takes one signed SUIT report (``application/cose``,
at most 8 KiB). Answers: 201 stored; 400 malformed or truncated, or no nonce; 403 signed by
a key other than the device's, or a signature that does not verify; 404 unknown device;
409 a replay; 413 too large; 415 another content type; 503 the database cannot take the
write. Every refusal stores nothing; the body is JSON ``{"reason": ..., "error": ...}``.

Durability: a checked report goes to a single writer thread that commits whatever reports
are waiting in one transaction (group commit) and only then answers each of their
requests, so every 201 is for a report already committed, and one fsync serves many
concurrent devices. The replay key is a unique column: of two concurrent copies of one
report, exactly one is stored and the other gets 409.

``GET /status`` (HTML), ``/status.json`` and ``/status/devices/{device_id}`` need the
read-only token: ``Authorization: Bearer TOKEN``, or ``/status?token=TOKEN`` once, which
sets an HttpOnly cookie and redirects to the page without the token in its address.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import queue
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import DatabaseUnavailable, FwsignError, UnknownDevice, WrongDevice
from ..repo.rollout import Rollout
from . import page, status
from .db import Database, ReportRow
from .ingest import CONTENT_TYPE, MAX_BODY, check, status_of

COOKIE: Final = "fwsign_status"
#: Most reports one commit takes.
BATCH: Final = 512
#: How long a device's registered key is used from memory before it is read again.
KEY_CACHE_SECONDS: Final = 2.0


def _refusal(status_code: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"reason": reason, "error": message}, status_code=status_code)


class Writer:
    """One thread owning the write connection; commits waiting reports together."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.q: queue.Queue[tuple[ReportRow, asyncio.Future[bool], asyncio.AbstractEventLoop] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="fleet-writer", daemon=True)
        self.thread.start()

    def submit(self, row: ReportRow) -> asyncio.Future[bool]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self.q.put((row, fut, loop))
        return fut

    def close(self) -> None:
        self.q.put(None)
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self.q.get()
            if item is None:
                self.db.close()
                return
            batch = [item]
            while len(batch) < BATCH:
                try:
                    nxt = self.q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.q.put(None)
                    break
                batch.append(nxt)
            try:
                stored: list[bool] | BaseException = self.db.insert_reports([b[0] for b in batch])
            except DatabaseUnavailable as exc:
                stored = exc
            except Exception as exc:  # a failure the database layer did not classify: still no 2xx
                stored = DatabaseUnavailable(f"the database refused the write: {type(exc).__name__}: {exc}")
            for i, (_row, fut, loop) in enumerate(batch):
                if isinstance(stored, BaseException):
                    loop.call_soon_threadsafe(_set_exc, fut, stored)
                else:
                    loop.call_soon_threadsafe(_set_result, fut, stored[i])


def _set_result(fut: asyncio.Future[bool], value: bool) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exc(fut: asyncio.Future[bool], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


@dataclass
class Collector:
    db: Database
    token: str
    rollouts: Callable[[], Mapping[str, Rollout]] = dict
    #: With a repository and its rollout key: check the halt rules every ``halt_interval`` seconds.
    repo_dir: Path | None = None
    rollout_key: str | None = None
    halt_interval: float = 5.0
    clock: Callable[[], float] = time.time
    _keys: dict[str, tuple[Any, Any, float]] = field(default_factory=dict)
    writer: Writer | None = None

    def halts(self) -> list[dict[str, Any]]:
        """The halted rollouts and why (the rule that fired, or who halted them)."""
        return [{"class_id": cid, "release": r.release, "halted_at": r.halted_at, "rule": r.halted_by or "halted by hand"}
                for cid, r in sorted(self.rollouts().items()) if r.halted]

    def check_halts(self) -> list[dict[str, Any]]:
        """Evaluate every rollout's halt rules now; publish a halt for each that fires."""
        from .halt import evaluate, publish_halt

        if self.repo_dir is None or self.rollout_key is None:
            return []
        rollouts = self.rollouts()
        now = int(self.clock())
        states = status.device_states(self.db.devices(), self.db.releases(), self.db.reports(), rollouts, now)
        out = []
        for r in rollouts.values():
            fired = evaluate(r, states, now)
            if fired is not None and publish_halt(self.repo_dir, self.rollout_key, fired, now) is not None:
                out.append(fired.as_dict())
        return out

    async def _halt_loop(self) -> None:
        while True:
            await asyncio.sleep(self.halt_interval)
            try:
                fired = await asyncio.to_thread(self.check_halts)
            except FwsignError as exc:  # keep collecting; the next round tries again
                print(f"fwsign fleet: halt check failed: {exc}", file=sys.stderr, flush=True)
                continue
            for f in fired:
                print(f"fwsign fleet: halted the rollout of release {f['release']} for class {f['class_id']}: "
                      f"{f['detail']}", file=sys.stderr, flush=True)

    def key_of(self, device_id: str) -> tuple[Any, Any]:
        """The device's registry row and parsed key, cached for KEY_CACHE_SECONDS (so a device
        registered again with a new key is checked against it within that time)."""
        now = time.monotonic()
        hit = self._keys.get(device_id)
        if hit is not None and now - hit[2] < KEY_CACHE_SECONDS:
            return hit[0], hit[1]
        from cryptography.hazmat.primitives import serialization

        row = self.db.device(device_id)
        if row is None:
            return None, None
        key = serialization.load_pem_public_key(row.key_pem.encode())
        self._keys[device_id] = (row, key, now)
        return row, key

    async def post_report(self, request: Request) -> Response:
        device_id = request.path_params["device_id"]
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != CONTENT_TYPE:
            return _refusal(415, "unsupported-media-type", f"send the signed report as {CONTENT_TYPE}, not {ctype or 'nothing'}")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return _refusal(413, "limit-exceeded", f"a report is at most {MAX_BODY} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _refusal(413, "limit-exceeded", f"a report is at most {MAX_BODY} bytes")
        try:
            row, key = self.key_of(device_id)
            try:
                checked = check(bytes(body), device_id, row, key, now=int(self.clock()))
            except (UnknownDevice, WrongDevice):
                # the device may have been registered or re-keyed since it was cached: look once more
                self._keys.pop(device_id, None)
                row, key = self.key_of(device_id)
                checked = check(bytes(body), device_id, row, key, now=int(self.clock()))
            assert self.writer is not None
            stored = await self.writer.submit(checked.row)
        except FwsignError as exc:
            return _refusal(status_of(exc), exc.reason, str(exc))
        if not stored:
            return _refusal(409, "report-replayed", "a report with this nonce about this manifest was accepted before (replay)")
        return JSONResponse({"stored": True, "device_id": device_id, "kind": checked.row.kind,
                             "reason": checked.row.reason}, status_code=201)

    def _authorised(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else request.cookies.get(COOKIE, "")
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def _figures(self) -> dict[str, Any]:
        db = self.db
        return status.figures(db.devices(), db.releases(), db.reports(), self.rollouts(), int(self.clock()))

    async def get_status(self, request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None:
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _refusal(401, "unauthorised", "wrong status token")
            resp = RedirectResponse(url=str(request.url.path), status_code=303)
            resp.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/status")
            return resp
        if not self._authorised(request):
            return _refusal(401, "unauthorised", "the status page needs the read-only token")
        try:
            fig = await asyncio.to_thread(self._figures)
        except DatabaseUnavailable as exc:
            return _refusal(503, exc.reason, str(exc))
        if request.url.path.endswith(".json"):
            return JSONResponse({**fig, "halts": self.halts()})
        return HTMLResponse(page.render(fig, self.halts()))

    async def get_device(self, request: Request) -> Response:
        if not self._authorised(request):
            return _refusal(401, "unauthorised", "the status page needs the read-only token")
        device_id = request.path_params["device_id"]
        dev = self.db.device(device_id)
        if dev is None:
            return _refusal(404, "unknown-device", f"device {device_id!r} is not registered")
        entries = status.timeline(dev, self.db.releases(), self.db.reports(device_id))
        if request.headers.get("accept", "").startswith("application/json"):
            return JSONResponse({"device_id": device_id, "timeline": entries})
        return HTMLResponse(page.render_timeline(device_id, entries))

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self.writer = Writer(self.db)
            task = asyncio.create_task(self._halt_loop()) if self.repo_dir is not None else None
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                await asyncio.to_thread(self.writer.close)

        routes = [
            Route("/v1/devices/{device_id}/reports", self.post_report, methods=["POST"]),
            Route("/status", self.get_status, methods=["GET"]),
            Route("/status.json", self.get_status, methods=["GET"]),
            Route("/status/devices/{device_id}", self.get_device, methods=["GET"]),
            Route("/healthz", self.health, methods=["GET"]),
        ]
        return Starlette(routes=routes, lifespan=lifespan)


def serve(db: Database, token: str, host: str, port: int, rollouts: Callable[[], Mapping[str, Rollout]] = dict,
          repo_dir: Path | None = None, rollout_key: str | None = None, halt_interval: float = 5.0) -> None:
    """Run the collector until interrupted (uvicorn, one process; the verification is CPU work
    the event loop does between requests)."""
    import uvicorn

    col = Collector(db, token, rollouts, repo_dir, rollout_key, halt_interval)
    config = uvicorn.Config(col.app(), host=host, port=port, log_level="warning", access_log=False,
                            limit_concurrency=2048, backlog=2048, timeout_keep_alive=30)
    uvicorn.Server(config).run()
