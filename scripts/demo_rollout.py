"""A staged rollout that halts itself: the fleet-status part of ``make demo``.

Two device classes get release 2 through a signed staged rollout with halt rules (halt
when more than 5% of the admitted devices that reached an outcome reverted, once 4 did).
Every simulated device (the C reference boot flow) signs a SUIT report of each install
and boot and posts it to the fleet collector (``fwsign fleet serve``, SQLite). The
infusion pumps boot release 2 and confirm it; on the syringe drivers release 2 fails its
trial boot and they fall back to release 1. The collector sees the reverted trial boots
in the signed boot reports, halts the syringe drivers' rollout with the rollout key
alone, and publishes the halt; the pumps' rollout goes on. The status page is saved as
a screenshot by headless Chromium. The collector is always stopped.

Usage: python scripts/demo_rollout.py OUT_DIR RELEASE_KEY_BASENAME
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

FWSIGN = [sys.executable, "-m", "fwsign"]
CLASSES = {"infusion-pump-v3": True, "syringe-driver-v2": False}  # class name -> release 2 confirms its trial boot
PER_CLASS = 8


def run(*args: object, show: bool = True, check: bool = True) -> str:
    argv = [*FWSIGN, *map(str, args)]
    if show:
        print("   $ fwsign " + " ".join(str(a) for a in args), flush=True)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if show:
        for line in (p.stdout + p.stderr).strip().splitlines():
            print(f"     {line}")
    if check and p.returncode != 0:
        raise SystemExit(f"demo: fwsign {' '.join(map(str, args))} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def class_id(name: str) -> str:
    vendor = uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")
    return str(uuid.uuid5(vendor, name))


def main() -> int:
    out, key = Path(sys.argv[1]) / "rollout", sys.argv[2]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    from fwsign.device import create, open_device, save
    from fwsign.fleet.db import Database
    from fwsign.repo import rollout as R

    print("\n== 22. A staged rollout over two classes of simulated devices, with halt rules", flush=True)
    fw = {s: hashlib.sha256(f"demo firmware {s}".encode()).digest() * 512 for s in (1, 2)}
    for s, data in fw.items():
        (out / f"app-{s}.bin").write_bytes(data)
    run("repo", "init", out / "repo", show=False)
    for name in CLASSES:
        for s in (1, 2):
            env = out / f"{name}-{s}.suit"
            run("sign", out / f"app-{s}.bin", "-k", f"{key}.pem", "--sequence", s, "--vendor-domain", "example.com",
                "--class-name", name, "-o", env, show=False)
            run("repo", "add", out / "repo", env, "--payload", out / f"app-{s}.bin", "--suit-key", f"{key}.pub.pem",
                "--publish", show=False)
    print(f"   published releases 1 and 2 of {', '.join(CLASSES)} to {out / 'repo'}")
    run("rollout", "init", out / "repo")
    devices: dict[str, list[Path]] = {}
    for name in CLASSES:
        cid = uuid.UUID(class_id(name)).bytes
        devices[name] = []
        inv = []
        for i in range(PER_CLASS):
            did = uuid.uuid5(uuid.NAMESPACE_URL, f"https://devices.example.com/{name}/{i}")
            inv.append(str(did))
            d = out / "devices" / f"{name}-{i:02d}"
            dev = create(d, [Path(f"{key}.pub.pem")], uuid.uuid5(uuid.NAMESPACE_DNS, "example.com").bytes, cid, did.bytes)
            dev.install((out / f"{name}-1.suit").read_bytes(), fw[1])
            save(dev, d)
            dev = open_device(d)
            dev.boot()
            save(dev, d)
            devices[name].append(d)
        (out / f"{name}.fleet").write_text("\n".join(inv) + "\n")
        run("rollout", "start", out / "repo", class_id(name), "2", "--stages", "50,100", "--every", "24h",
            "--fleet", out / f"{name}.fleet", "--halt-above", "5%", "--halt-on", "reverted", "--min-devices", "4",
            "--report-timeout", "2h")
    print(f"   {PER_CLASS} devices per class on release 1, each with its own P-256 report key")

    print("\n== 23. The fleet collector: devices registered by their public report keys, releases recorded", flush=True)
    db_path = out / "fleet.sqlite"
    first = devices["infusion-pump-v3"][0]
    run("fleet", "register", "--device", first, "--db", db_path)
    db = Database(str(db_path))
    for name, ds in devices.items():
        for d in ds:
            if d != first:
                cfg = open_device(d).config
                assert cfg.device_id is not None
                db.register_device(str(uuid.UUID(bytes=cfg.device_id)), class_id(name),
                                   (d / "report" / "device-key.pub.pem").read_bytes())
    print(f"   (and {2 * PER_CLASS - 1} more devices the same way)")
    for name in CLASSES:
        for s in (1, 2):
            run("fleet", "release", out / f"{name}-{s}.suit", "--class-id", class_id(name), "--sequence", s,
                "--db", db_path, show=name == "infusion-pump-v3" and s == 2)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token_file = out / "status.token"
    log = open(out / "collector.log", "w")  # noqa: SIM115
    argv = [*FWSIGN, "fleet", "serve", "--db", str(db_path), "--port", str(port), "--token-file", str(token_file),
            "--repo", str(out / "repo"), "--rollout-key", str(out / "repo" / "keys" / "rollout-1.pem"),
            "--halt-interval", "1"]
    print("   $ fwsign " + " ".join(argv[len(FWSIGN):]), flush=True)
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    posted: set[Path] = set()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"demo: the collector did not start: {(out / 'collector.log').read_text()}")
            time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def post_reports(d: Path) -> list[int]:
            did = str(uuid.UUID(bytes=open_device(d).config.device_id or b""))
            codes = []
            for r in sorted((d / "reports").glob("*.cose")):
                if r in posted:
                    continue
                conn.request("POST", f"/v1/devices/{did}/reports", body=r.read_bytes(),
                             headers={"Content-Type": "application/cose"})
                resp = conn.getresponse()
                resp.read()
                codes.append(resp.status)
                posted.add(r)
            return codes

        codes = [c for ds in devices.values() for d in ds for c in post_reports(d)]
        print(f"   posted {len(codes)} signed reports of release 1 (install and boot): "
              f"{codes.count(201)} stored (201)")
        replay = sorted((first / "reports").glob("*.cose"))[0]
        posted.discard(replay)
        print(f"   the same report again is a replay: HTTP {post_reports(first)[0]}")

        print("\n== 24. Stage 1 (50%) installs release 2; the syringe drivers' new image fails its trial boot", flush=True)
        now = int(time.time())
        from fwsign.repo.repository import Repository

        for name, confirms in CLASSES.items():
            r = R.load(Repository(out / "repo"), uuid.UUID(class_id(name)).bytes)
            assert r is not None
            admitted = 0
            for d in devices[name]:
                dev = open_device(d)
                if not r.admits(dev.config.device_id, now):
                    continue
                admitted += 1
                dev.install((out / f"{name}-2.suit").read_bytes(), fw[2])
                save(dev, d)
                dev = open_device(d)
                dev.boot(confirm=confirms)
                save(dev, d)
                if not confirms:
                    dev = open_device(d)
                    dev.boot()  # the unconfirmed trial image is not started again: back to release 1
                    save(dev, d)
                post_reports(d)
            print(f"   {name}: {admitted} of {PER_CLASS} devices admitted; release 2 "
                  + ("booted and confirmed" if confirms else "booted on trial, not confirmed, reverted to release 1"))
        deadline = time.monotonic() + 30
        syringe = uuid.UUID(class_id("syringe-driver-v2")).bytes
        while True:
            r = R.load(Repository(out / "repo"), syringe)
            if r is not None and r.halted:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: the rollout did not halt: {(out / 'collector.log').read_text()}")
            time.sleep(0.3)
        print("\n== 25. The collector halted the failing rollout itself, signed with the rollout key", flush=True)
        run("rollout", "status", out / "repo")
        run("fleet", "status", "--db", db_path, "--repo", out / "repo")
        token = token_file.read_text().strip()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/status.json", headers={"Authorization": f"Bearer {token}"})
        fig = json.loads(c.getresponse().read())
        (out / "fleet-status.json").write_text(json.dumps(fig, indent=2) + "\n")
        shot = Path(sys.argv[1]) / "fleet-status.png"
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if exe is None:
            print("   (chromium is not installed: no screenshot; make sysdeps installs it)")
        else:
            profile = tempfile.mkdtemp(prefix="fwsign-demo-chromium-")
            try:
                subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1280,1900",
                                f"--screenshot={shot.resolve()}", f"http://127.0.0.1:{port}/status?token={token}"],
                               capture_output=True, timeout=60, check=False)
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            print(f"   status page screenshot: {shot}" if shot.exists() else "   (chromium took no screenshot)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
