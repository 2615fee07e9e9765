"""A real PostgreSQL server for the tests, from Debian's packages (``make sysdeps`` installs
``postgresql``): initdb into a temporary directory and pg_ctl start on a loopback port, as
an unprivileged user when the tests run as root (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fleet_support import free_port

UNPRIVILEGED = "nobody"


def pg_bin() -> Path | None:
    """The newest installed server's bin directory (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PgServer:
    bindir: Path
    data: Path
    port: int
    user: str | None

    @property
    def url(self) -> str:
        return f"postgresql://fwsign@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")

    def start(self) -> None:
        r = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data / "db"), "-l", str(self.data / "log"), "-w",
                      "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "start")
        if r.returncode:
            raise RuntimeError(f"pg_ctl start failed: {r.stdout}{r.stderr}{(self.data / 'log').read_text()}")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data / "db"), "-m", mode, "-w", "stop")


@contextmanager
def postgres() -> Iterator[PgServer]:
    """Start a throw-away server; raises RuntimeError with the reason when it cannot."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL's server is not installed (make sysdeps installs Debian's postgresql package)")
    user = None
    if os.geteuid() == 0:
        user = UNPRIVILEGED
        pw = pwd.getpwnam(user)
    data = Path(tempfile.mkdtemp(prefix="fwsign-pg-"))
    try:
        if user is not None:
            os.chown(data, pw.pw_uid, pw.pw_gid)
        data.chmod(0o700)
        srv = PgServer(bindir, data, free_port(), user)
        r = srv._run(str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "fwsign", "--no-sync",
                     "-E", "UTF8")
        if r.returncode:
            raise RuntimeError(f"initdb failed: {r.stdout}{r.stderr}")
        srv.start()
        try:
            yield srv
        finally:
            srv.stop("immediate")
    finally:
        shutil.rmtree(data, ignore_errors=True)
