"""Debian's headless Chromium driven over the DevTools protocol (websocket-client): load a
page, collect console errors and uncaught exceptions, evaluate an expression in the page,
take a full-page screenshot. Used by the status page test and by ``make demo``."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--remote-allow-origins=*", "--remote-debugging-port=0",
         "--window-size=1280,900"]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Loaded:
    errors: list[str] = field(default_factory=list)
    value: Any = None
    png: bytes = b""


def load_page(url: str, headers: dict[str, str], expression: str, timeout: float = 30.0) -> Loaded:
    """Open ``url`` with extra request ``headers``; return console errors, ``expression``'s value, a screenshot."""
    import websocket

    exe = chromium()
    if exe is None:
        raise RuntimeError("chromium is not installed (make sysdeps installs Debian's chromium package)")
    profile = tempfile.mkdtemp(prefix="fwsign-chromium-")
    proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + timeout
        port = None
        while port is None:
            line = proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
            elif (not line and proc.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError("chromium did not start its DevTools endpoint")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.loads(r.read())
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        out = Loaded()
        counter = 0

        def send(method: str, **params: Any) -> Any:
            nonlocal counter
            counter += 1
            ws.send(json.dumps({"id": counter, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == counter:
                    if "error" in msg:
                        raise RuntimeError(f"{method}: {msg['error']}")
                    return msg.get("result")
                note(msg)

        def note(msg: dict[str, Any]) -> bool:
            m, p = msg.get("method"), msg.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.errors.append(p["exceptionDetails"].get("text", "exception"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.errors.append(f"{p['entry'].get('text')} {p['entry'].get('url', '')}")
            return m == "Page.loadEventFired"

        for domain in ("Page", "Runtime", "Log", "Network"):
            send(f"{domain}.enable")
        send("Network.setExtraHTTPHeaders", headers=headers)
        send("Page.navigate", url=url)
        while not note(json.loads(ws.recv())):
            if time.monotonic() > deadline:
                raise RuntimeError("the page did not finish loading")
        # events that arrive right after the load (late console errors)
        ws.settimeout(0.5)
        try:
            while True:
                note(json.loads(ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        ws.settimeout(timeout)
        res = send("Runtime.evaluate", expression=expression, returnByValue=True)
        out.value = res["result"].get("value")
        shot = send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        out.png = base64.b64decode(shot["data"])
        ws.close()
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def save_artifact(name: str, data: bytes) -> Path:
    """Keep a test artifact under build/test-artifacts/ (not cleaned between runs)."""
    d = Path(__file__).resolve().parent.parent / "build" / "test-artifacts"
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)
    return d / name
