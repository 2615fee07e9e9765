"""Release to device, end to end: the second half of ``make demo``.

Publishes two signed releases to a local TUF repository, serves it on loopback, and
updates a small fleet of simulated devices (each running the C reference boot flow) with
``fwsign`` commands exactly as a user would type them:

- pump-01 updates normally;
- pump-02 loses power in the middle of the install, boots its old image, and recovers;
- pump-03 is offered the older release again (anti-rollback refuses it);
- pump-04 is offered the new release with a tampered image (the digest check refuses it).

It prints a summary table and where the artifacts are, and always stops the server.
Usage: python scripts/demo_fleet.py OUT_DIR RELEASE_KEY_BASENAME
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

FWSIGN = [sys.executable, "-m", "fwsign"]
IDENTITY = ["--vendor-domain", "example.com", "--class-name", "infusion-pump-v3"]


def show(argv: list[str]) -> None:
    print("   $ fwsign " + " ".join(str(a) for a in argv[len(FWSIGN):]), flush=True)


def run(*args: object, expect: int = 0, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [*FWSIGN, *map(str, args)]
    show(argv)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if not quiet:
        for line in (proc.stdout + proc.stderr).strip().splitlines():
            print(f"     {line}")
    if proc.returncode != expect:
        raise SystemExit(f"demo: expected exit {expect}, got {proc.returncode}: {proc.stderr.strip()}")
    return proc


def firmware(version: int, size: int = 64 * 1024) -> bytes:
    """A deterministic stand-in image for a given version."""
    block = b"".join(hashlib.sha256(f"pump firmware v{version} block {i}".encode()).digest() for i in range(size // 32))
    return block[:size]


def serve(repo: Path) -> tuple[subprocess.Popen[str], str]:
    argv = [*FWSIGN, "repo", "serve", str(repo), "--port", "0"]
    show(argv)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    print(f"     {first}")
    url = first.split(" at ", 1)[1].split(" ", 1)[0]
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(url + "metadata/1.root.json", timeout=2).read()
            return proc, url
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("demo: the repository server did not come up") from None
            time.sleep(0.1)


def status(device: Path) -> dict[str, object]:
    proc = subprocess.run([*FWSIGN, "device", "status", str(device), "--json"], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def main(out: Path, key: str) -> int:
    out.mkdir(parents=True, exist_ok=True)
    repo, fleet, rel = out / "repo", out / "fleet", out / "releases"
    rel.mkdir(exist_ok=True)
    for version in (1, 2):
        (rel / f"pump-v{version}.bin").write_bytes(firmware(version))
    tampered = bytearray(firmware(2))
    tampered[1000] ^= 0x01
    (rel / "pump-v2-tampered.bin").write_bytes(bytes(tampered))

    print("\n== 11. Two releases, signed for the infusion-pump-v3 class")
    for version in (1, 2):
        run("sign", rel / f"pump-v{version}.bin", "-k", f"{key}.pem", "--sequence", version, *IDENTITY,
            "--uri", f"https://fw.example.com/pump/v{version}.bin", "--version", f"{version}.0.0",
            "-o", rel / f"pump-v{version}.suit")

    print("\n== 12. A TUF repository (root, targets, snapshot, timestamp keys generated 0600) with release 1")
    run("repo", "init", repo, quiet=True)
    run("repo", "add", repo, rel / "pump-v1.suit", "--payload", rel / "pump-v1.bin", "--suit-key", f"{key}.pub.pem",
        "--publish")

    print("\n== 13. Serve it on loopback and provision four devices running release 1")
    server, url = serve(repo)
    try:
        names = ["pump-01", "pump-02", "pump-03", "pump-04"]
        for name in names:
            d = fleet / name
            run("device", "create", d, "--trust", f"{key}.pub.pem", *IDENTITY,
                "--trusted-root", repo / "trusted-root.json", quiet=name != names[0])
            run("device", "update", d, "--repo", url, "--boot", quiet=name != names[0])

        print("\n== 14. Release 2 is published")
        run("repo", "add", repo, rel / "pump-v2.suit", "--payload", rel / "pump-v2.bin", "--suit-key",
            f"{key}.pub.pem", "--publish")

        outcome: dict[str, str] = {}
        print("\n== 15. pump-01 updates normally")
        run("device", "update", fleet / "pump-01", "--repo", url, "--boot")
        outcome["pump-01"] = "updated"

        print("\n== 16. pump-02 loses power after the 6th flash operation of the install")
        run("device", "update", fleet / "pump-02", "--repo", url, "--cut-after", 6, expect=1)
        run("device", "boot", fleet / "pump-02")
        run("device", "update", fleet / "pump-02", "--repo", url, "--boot")
        outcome["pump-02"] = "power cut mid-install: booted release 1, then updated"

        print("\n== 17. pump-03 is updated, then offered release 1 again (a replayed, validly signed envelope)")
        run("device", "update", fleet / "pump-03", "--repo", url, "--boot", quiet=True)
        refused = run("device", "install", fleet / "pump-03", rel / "pump-v1.suit", "--payload", rel / "pump-v1.bin",
                      expect=1)
        outcome["pump-03"] = "refused the old release: " + _reason(refused)

        print("\n== 18. pump-04 is offered release 2 with a tampered image (one bit flipped)")
        refused = run("device", "install", fleet / "pump-04", rel / "pump-v2.suit", "--payload",
                      rel / "pump-v2-tampered.bin", expect=1)
        run("device", "boot", fleet / "pump-04", quiet=True)
        outcome["pump-04"] = "refused the tampered image: " + _reason(refused)
    finally:
        server.terminate()
        server.wait(timeout=10)
        print("   (repository server stopped)")

    print("\n== 19. The fleet")
    print(f"   {'device':8}  {'running':>7}  {'counter':>7}  outcome")
    for name, text in outcome.items():
        st = status(fleet / name)
        boot = st.get("last_boot") or {}
        running = boot.get("sequence") if isinstance(boot, dict) else None
        print(f"   {name:8}  {('v' + str(running)) if running is not None else '-':>7}  {st.get('counter')!s:>7}  {text}")
    print(f"\n   Artifacts: releases in {rel}/, the TUF repository in {repo}/, device state (flash, counter,"
          f" trailer) in {fleet}/<device>/")
    return 0


def _reason(proc: subprocess.CompletedProcess[str]) -> str:
    """The reason code of a refusal ("refused: rollback: ..." or "fwsign: rollback: ...")."""
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    line = lines[-1] if lines else ""
    for prefix in ("fwsign: ", "refused: "):
        line = line.removeprefix(prefix)
    return line.split(":", 1)[0] or "refused"


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
