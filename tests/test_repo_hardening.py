"""Attacks on the repository side: path traversal against ``repo serve``, names that climb out of
the repository, half-written or lost work, concurrent publishers, slow mirrors, a truncated audit log."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
from pathlib import Path

import pytest

from fwsign.repo import layout as L
from fwsign.repo.repository import Repository
from fwsign.repo.serve import resolve_request
from tests.tuf_helpers import (
    T0,
    Clock,
    add_and_publish,
    fwsign,
    new_repo,
    out_is_empty,
    served,
    update_args,
    write_release,
)


def tree(directory: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under ``directory`` with its mode and (for files) content: a before/after listing."""
    out: dict[str, tuple[int, bytes | None]] = {}
    if not directory.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(directory))
            out[rel] = (p.lstat().st_mode, p.read_bytes() if p.is_file() and not p.is_symlink() else None)
    return out


def raw_get(url: str, target: str, method: str = "GET") -> tuple[int, bytes]:
    """Send ``target`` exactly as given (no client-side normalisation) and return status and body."""
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        resp = http.client.HTTPResponse(s, method=method)
        resp.begin()
        return resp.status, resp.read()


# -- path traversal against repo serve -------------------------------------------------------------

TRAVERSALS = [
    "/metadata/%2e%2e/keys/root-1.pem",            # encoded dot segments
    "/metadata/%2E%2E/%2E%2E/public/../keys/root-1.pem",
    "/metadata/%2e%2e/%2e%2e/keys/root-1.pem",
    "/metadata/%2e%2e/%2e%2e/repo.json",
    "/metadata/%2e%2e/%2e%2e/audit.log",
    "/metadata/%252e%252e/%252e%252e/keys/root-1.pem",  # double-encoded
    "/metadata/..%2f..%2fkeys/root-1.pem",           # encoded slash
    "/metadata/..%5c..%5ckeys%5croot-1.pem",          # encoded backslash
    "/metadata\\..\\..\\keys\\root-1.pem",            # raw backslash
    "/metadata/../../keys/root-1.pem",                # plain dot segments
    "/targets/./../../repo.json",
    "//keys/root-1.pem",                              # empty segment
    "/metadata//etc/passwd",
    "/metadata/%00../../repo.json",                   # NUL
    "http://127.0.0.1/metadata/../../keys/root-1.pem",  # absolute-form
    "/keys/root-1.pem",
    "/repo.json",
    "/staged/targets.json",
    "/audit.log",
    "/metadata/",                                     # no directory listings
    "/targets/",
    "/metadata",
    "/",
    "/metadata/.timestamp.json.1234.tmp",              # hidden temporary files
    "/metadata/%2Ftmp",
]


@pytest.fixture(scope="module")
def live_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo_dir = tmp_path_factory.mktemp("serve") / "r"
    new_repo(repo_dir, Clock())
    (repo_dir / "metadata").mkdir()  # a stray directory where the old layout kept metadata
    (repo_dir / "metadata" / "secret.json").write_bytes(b"not published")
    return repo_dir


@pytest.mark.parametrize("target", TRAVERSALS)
def test_path_traversal_against_repo_serve_is_404(live_repo: Path, target: str) -> None:
    secrets = [p.read_bytes() for p in (live_repo / "keys").iterdir()] + [(live_repo / "repo.json").read_bytes()]
    with served(live_repo) as url:
        assert raw_get(url, "/metadata/1.root.json")[0] == 200
        for method in ("GET", "HEAD"):
            status, body = raw_get(url, target, method)
            assert status == 404, (target, method)
            assert not any(s in body for s in secrets)


def test_path_traversal_through_symlink_is_404(live_repo: Path) -> None:
    meta = live_repo / "public" / "metadata"
    (meta / "evil.json").symlink_to(live_repo / "keys" / "root-1.pem")
    (meta / "up").symlink_to(live_repo)
    (live_repo / "public" / "targets" / "inside.json").symlink_to(meta / "1.root.json")
    try:
        with served(live_repo) as url:
            assert raw_get(url, "/metadata/evil.json")[0] == 404
            assert raw_get(url, "/metadata/up/keys/root-1.pem")[0] == 404
            assert raw_get(url, "/metadata/up/repo.json")[0] == 404
            # a link that stays inside targets/... does not leave targets/ either: it resolves into metadata/
            assert raw_get(url, "/targets/inside.json")[0] == 404
    finally:
        for p in (meta / "evil.json", meta / "up", live_repo / "public" / "targets" / "inside.json"):
            p.unlink()


def test_resolve_request_refuses_methods_and_forms(tmp_path: Path) -> None:
    root = tmp_path / "public"
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "1.root.json").write_bytes(b"{}")
    assert resolve_request(root, "/metadata/1.root.json") == (root / "metadata" / "1.root.json").resolve()
    assert resolve_request(root, "/metadata/1.root.json?x=1") is not None
    assert resolve_request(root, "/metadata/%31.root.json") is not None  # plain percent-encoding still works
    for target in TRAVERSALS:
        assert resolve_request(root, target) is None, target


def test_private_keys_live_outside_the_published_tree(tmp_path: Path) -> None:
    r = fwsign("repo", "init", tmp_path / "r")
    assert r.code == 0, r.err
    public = tmp_path / "r" / "public"
    assert sorted(p.name for p in public.iterdir()) == ["metadata", "targets"]
    published = {p.read_bytes() for p in public.rglob("*") if p.is_file()}
    for key in (tmp_path / "r" / "keys").iterdir():
        assert key.read_bytes() not in published
    assert (tmp_path / "r" / "keys").stat().st_mode & 0o777 == 0o700


def test_old_layout_is_migrated_on_first_use(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "r"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 1))
    for name in ("metadata", "targets"):  # the layout before public/
        os.replace(repo_dir / "public" / name, repo_dir / name)
    (repo_dir / "public").rmdir()
    assert L.Layout(repo_dir).legacy()
    with served(repo_dir) as url:  # serve reads the old layout as it is, keys still refused
        assert raw_get(url, "/metadata/1.root.json")[0] == 200
        assert raw_get(url, "/keys/root-1.pem")[0] == 404
    repo = Repository(repo_dir, now=clock)
    assert repo.migrated and not L.Layout(repo_dir).legacy()
    assert not (repo_dir / "metadata").exists() and (repo_dir / "public" / "metadata" / "1.root.json").is_file()
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 2))
    work = tmp_path / "work"
    work.mkdir()
    with served(repo_dir) as url:
        r = fwsign(*update_args(url, repo_dir, work, 1, now=T0))
    assert r.code == 0, r.err
    assert (work / "out" / "firmware-2.suit").is_file()
    r = fwsign("repo", "status", repo_dir)
    assert r.code == 0 and "not published" not in r.out
    shutil.rmtree(work)
    assert out_is_empty(work)


# -- names that become paths: a refused command writes nothing anywhere ----------------------------


@pytest.fixture
def repo_tree(tmp_path: Path) -> Path:
    """A repository at tmp_path/area/r; tests list all of tmp_path/area before and after."""
    repo_dir = tmp_path / "area" / "r"
    assert fwsign("repo", "init", repo_dir).code == 0
    return repo_dir


CLIMBING = ["../../evil", "../keys/x", "/tmp/evil", "pump/../../x", "pump\n", ".hidden", "Pump", "a\\b", "x" * 200]


@pytest.mark.parametrize("name", CLIMBING)
def test_delegate_role_name_climbing_out_writes_nothing(repo_tree: Path, name: str) -> None:
    area = repo_tree.parent
    before = tree(area)
    r = fwsign("repo", "delegate", repo_tree, "--vendor-domain", "example.com", "--class-name", "pump", "--role", name)
    assert r.code == 2 and r.err.startswith("fwsign: usage:"), r.err
    assert tree(area) == before


@pytest.mark.parametrize("name", ["../../../evil-class", "../x"])
def test_delegate_class_name_climbing_out_writes_nothing(repo_tree: Path, name: str) -> None:
    area = repo_tree.parent
    before = tree(area)
    r = fwsign("repo", "delegate", repo_tree, "--vendor-domain", "example.com", "--class-name", name)
    assert r.code == 2, r.err
    assert tree(area) == before
    assert not (area / "evil-class-1.pem").exists() and not list(area.parent.glob("*.pem"))


def test_refused_delegate_rotate_sign_remove_write_nothing(repo_tree: Path) -> None:
    area = repo_tree.parent
    before = tree(area)
    ident = ["--vendor-domain", "example.com", "--class-name", "pump"]
    refused = [
        ("repo", "delegate", repo_tree, *ident, "--threshold", "2"),           # threshold above its one key
        ("repo", "delegate", repo_tree, *ident, "--role", "targets"),          # a top-level role name
        ("repo", "delegate", repo_tree, *ident, "--bins", "3"),                # not a power of two
        ("repo", "rotate", repo_tree, "targets", "--add-key", "generate", "--threshold", "5"),
        ("repo", "sign", repo_tree, "../../keys/root-1", "--key", repo_tree / "keys" / "root-1.pem"),
        ("repo", "sign", repo_tree, "targets", "--key", repo_tree / "keys" / "root-1.pem"),  # nothing pending
        ("repo", "remove", repo_tree, "../../../etc/passwd"),
        ("repo", "revoke", repo_tree, *ident, "--below", "3"),                 # no release of the class
    ]
    for args in refused:
        r = fwsign(*args)
        assert r.code in (1, 2), (args, r.out)
        assert tree(area) == before, args
    # the same delegation, valid, does write (and only inside the repository)
    r = fwsign("repo", "delegate", repo_tree, *ident)
    assert r.code == 0, r.err
    new = set(tree(area)) - set(before)
    assert new and all(p.startswith("r" + os.sep) for p in new)
    assert "r/keys/pump-1.pem" in new
    # delegating the same class again is refused before its key is made
    before = tree(area)
    assert fwsign("repo", "delegate", repo_tree, *ident, "--role", "pump2").code != 0
    assert tree(area) == before


def test_target_and_role_names_are_checked_where_they_become_paths(tmp_path: Path) -> None:
    from fwsign.errors import UsageError

    lay = L.Layout(tmp_path)
    for bad in ("../x", "a/../../b", "/abs", "a//b", ".hidden/x", "a\\b", "a/.."):
        with pytest.raises(UsageError):
            lay.target_file(bad, "0" * 64)
    with pytest.raises(UsageError):
        lay.target_file("a/b", "../" + "0" * 61)
    for bad in ("../root", "root\n", "", "Root", "a/b"):
        with pytest.raises(UsageError):
            lay.staged_role(bad)
        with pytest.raises(UsageError):
            lay.versioned(bad, 1)
    from fwsign.repo.signing import generate_key

    with pytest.raises(UsageError):
        generate_key(tmp_path, "../../evil")
    assert list(tmp_path.iterdir()) == []


# -- a failed init leaves nothing ----------------------------------------------------------------


def test_failed_init_leaves_nothing(tmp_path: Path) -> None:
    area = tmp_path / "area"
    area.mkdir()
    (area / "unrelated.txt").write_text("kept")
    before = tree(area)
    encrypted = tmp_path / "enc.pem"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    encrypted.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")))
    failing = [
        ("--targets-key", tmp_path / "missing.pem"),       # unreadable key, after root's would have been made
        ("--targets-key", encrypted),                      # encrypted, no passphrase given
        ("--root-threshold", "3"),                         # threshold above the keys
        ("--timestamp-key", "pkcs11:token=none;object=x"),  # no such token
    ]
    for args in failing:
        for target in (area / "r", area):  # a new directory, and an existing one with other files
            env = {k: v for k, v in os.environ.items() if k != "FWSIGN_KEY_PASSPHRASE"}
            old = os.environ.copy()
            os.environ.clear()
            os.environ.update(env)
            try:
                r = fwsign("repo", "init", target, *args)
            finally:
                os.environ.clear()
                os.environ.update(old)
            assert r.code == 2, (args, r.err)
            assert tree(area) == before, args


def test_init_failing_after_writing_removes_what_it_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fwsign.repo import repository as R

    area = tmp_path / "area"
    area.mkdir()
    (area / "keys").mkdir()
    (area / "keys" / "mine.pem").write_text("someone else's file")
    before = tree(area)

    def broken_publish(self: Repository, **kw: object) -> None:
        assert (self.layout.keys / "root-1.pem").is_file()  # it did get this far
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(R.Repository, "publish", broken_publish)
    for target in (area, area / "new" / "r"):
        r = fwsign("repo", "init", target)
        assert r.code == 2 and "No space left" in r.err
        assert tree(area) == before


def test_init_takes_every_key_form_the_other_commands_take(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An encrypted PEM with FWSIGN_KEY_PASSPHRASE signs targets at init and at every later publish."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = tmp_path / "targets-enc.pem"
    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse")))
    monkeypatch.setenv("FWSIGN_KEY_PASSPHRASE", "correct horse")
    r = fwsign("repo", "init", tmp_path / "r", "--targets-key", key)
    assert r.code == 0, r.err
    config = (tmp_path / "r" / "repo.json").read_text()
    assert "fwsign-pem:" in config and "correct horse" not in config + r.out + r.err
    rel = write_release(tmp_path / "rel", 1)
    from tests.tuf_helpers import suit_pub

    r = fwsign("repo", "add", tmp_path / "r", rel.envelope, "--payload", rel.payload, "--suit-key", suit_pub(tmp_path),
               "--publish")
    assert r.code == 0, r.err
    monkeypatch.setenv("FWSIGN_KEY_PASSPHRASE", "not-the-passphrase")
    rel2 = write_release(tmp_path / "rel", 2)
    before = tree(tmp_path / "r" / "public")
    r = fwsign("repo", "add", tmp_path / "r", rel2.envelope, "--payload", rel2.payload, "--suit-key",
               suit_pub(tmp_path), "--publish")
    assert r.code == 2 and "key-invalid" in r.err and "not-the-passphrase" not in r.err
    assert tree(tmp_path / "r" / "public").keys() - before.keys() <= {  # the payload and envelope files, no metadata
        p for p in tree(tmp_path / "r" / "public") if p.startswith("targets")}


# -- concurrent publishers ----------------------------------------------------------------------


def _published_sequences(repo_dir: Path) -> set[int]:
    from fwsign.repo.releases import fwsign_custom

    repo = Repository(repo_dir)
    md = repo.published("targets")
    assert md is not None
    return {int(fwsign_custom(tf)["sequence"]) for path, tf in md.signed.targets.items()
            if fwsign_custom(tf).get("type") == "suit-envelope"}


def test_concurrent_publishers_lose_nothing(tmp_path: Path) -> None:
    """Eight `repo add --publish` of eight releases at once, three rounds: every release is published."""
    import subprocess
    import sys

    from tests.tuf_helpers import suit_pub

    repo_dir = tmp_path / "r"
    assert fwsign("repo", "init", repo_dir).code == 0
    key = suit_pub(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rounds, per_round = 3, 8
    for rnd in range(rounds):
        releases = [write_release(tmp_path / "rel", rnd * per_round + i + 1) for i in range(per_round)]
        procs = [subprocess.Popen([sys.executable, "-m", "fwsign", "repo", "add", str(repo_dir), str(rel.envelope),
                                   "--payload", str(rel.payload), "--suit-key", str(key), "--publish"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
                 for rel in releases]
        for p in procs:
            _out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err.decode()
        assert _published_sequences(repo_dir) == set(range(1, (rnd + 1) * per_round + 1))
        assert list((repo_dir / "staged").iterdir()) == []
    r = fwsign("log", "verify", repo_dir / "audit.log")
    assert r.code == 0, r.err
    assert not list(repo_dir.rglob("*.tmp"))


def test_second_writer_times_out_with_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    from fwsign.repo.lock import locked
    from tests.tuf_helpers import suit_pub

    repo_dir = tmp_path / "r"
    assert fwsign("repo", "init", repo_dir).code == 0
    rel = write_release(tmp_path / "rel", 1)
    before = tree(repo_dir)
    import threading

    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locked(repo_dir / ".lock"):
            holding.set()
            release.wait(30)

    # A different thread holds the lock (as another process would): the CLI waits, then gives up.
    t = threading.Thread(target=hold)
    t.start()
    try:
        assert holding.wait(10)
        r = fwsign("repo", "add", repo_dir, rel.envelope, "--payload", rel.payload, "--suit-key", suit_pub(tmp_path),
                   "--publish", "--lock-timeout", "0.3")
    finally:
        release.set()
        t.join()
    assert r.code == 2 and r.err.startswith("fwsign: repo-locked:") and "--lock-timeout" in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert tree(repo_dir) == before


# -- slow retrieval: a mirror that trickles ---------------------------------------------------------

FAST = ["--min-speed", "1000", "--speed-window", "1", "--file-deadline", "2", "--update-deadline", "3"]


class Trickle:
    """A loopback mirror of a repository that sends chosen files (or their headers) a byte at a time."""

    def __init__(self, repo_dir: Path, match: str, *, interval: float = 0.2, headers_too: bool = False) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.stop = threading.Event()
        self.sent = 0
        self.started = threading.Event()
        outer = self
        public = repo_dir / "public"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = resolve_request(public, self.path)
                if path is None:
                    self.send_error(404)
                    return
                body = path.read_bytes()
                head = (f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
                if match not in self.path:
                    self.wfile.write(head + body)
                    return
                data = head + body if headers_too else body
                if not headers_too:
                    self.wfile.write(head)
                    self.wfile.flush()
                outer.started.set()
                for i in range(len(data)):
                    if outer.stop.wait(interval):
                        return
                    try:
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    outer.sent += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> Trickle:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trickle_world(tmp_path: Path) -> dict[str, Path]:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 2, size=8192))
    work = tmp_path / "work"
    work.mkdir()
    return {"repo": repo_dir, "work": work}


def _timed(args: list[object]) -> tuple[object, float]:
    import time

    t0 = time.monotonic()
    r = fwsign(*args)  # type: ignore[arg-type]
    return r, time.monotonic() - t0


@pytest.mark.parametrize(("match", "headers_too", "flags", "named"), [
    ("timestamp.json", False, ["--min-speed", "0", "--file-deadline", "2"], "metadata/timestamp.json: not complete within"),
    ("timestamp.json", True, ["--min-speed", "0", "--file-deadline", "2"], "metadata/timestamp.json: not complete within"),
    ("/payloads/", False, FAST, "/payloads/"),
    ("timestamp.json", False, ["--min-speed", "1000", "--speed-window", "1"], "metadata/timestamp.json: slower than"),
])
def test_slow_retrieval_trickling_mirror_is_refused_within_the_deadline(
        trickle_world: dict[str, Path], match: str, headers_too: bool, flags: list[str], named: str) -> None:
    repo_dir, work = trickle_world["repo"], trickle_world["work"]
    with Trickle(repo_dir, match, headers_too=headers_too) as mirror:
        r, took = _timed([*update_args(mirror.url, repo_dir, work, 1), *flags])
    assert r.code == 2, r.err  # type: ignore[attr-defined]
    err = r.err  # type: ignore[attr-defined]
    assert err.startswith("fwsign: slow-retrieval: ") and named in err and len(err.strip().splitlines()) == 1, err
    assert mirror.sent < 200  # cut off long before the file was complete
    assert took < 20  # bounded by the deadline (2 s) plus start-up, where a trickled file would take minutes
    assert out_is_empty(work)


def test_slow_retrieval_device_update_is_refused_and_installs_nothing(trickle_world: dict[str, Path]) -> None:
    import json

    from tests.tuf_helpers import IDENTITY, suit_pub

    repo_dir, work = trickle_world["repo"], trickle_world["work"]
    dev = work / "dev"
    assert fwsign("device", "create", dev, "--trust", suit_pub(work), *IDENTITY,
                  "--trusted-root", repo_dir / "trusted-root.json").code == 0
    before = json.loads(fwsign("device", "status", dev, "--json").out)
    with Trickle(repo_dir, "/payloads/") as mirror:
        r = fwsign("device", "update", dev, "--repo", mirror.url, "--now", (T0.replace(hour=13)).isoformat(), *FAST)
    assert r.code == 2 and "slow-retrieval" in r.err and "/payloads/" in r.err, r.err
    after = json.loads(fwsign("device", "status", dev, "--json").out)
    assert after["slots"] == before["slots"] and after["counter"] == before["counter"]
    assert not (dev / "downloads").exists() or not list((dev / "downloads").iterdir())


def test_slow_retrieval_client_killed_mid_download_leaves_nothing(trickle_world: dict[str, Path]) -> None:
    import json
    import signal
    import subprocess
    import sys

    repo_dir, work = trickle_world["repo"], trickle_world["work"]
    tmp = work / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    payload = (trickle_world["repo"].parent / "rel" / "fw-2.bin").read_bytes()
    with Trickle(repo_dir, "/payloads/", interval=0.05) as mirror:
        args = [str(a) for a in update_args(mirror.url, repo_dir, work, 1)]
        proc = subprocess.Popen([sys.executable, "-m", "fwsign", *args, "--min-speed", "0"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                cwd=Path(__file__).resolve().parents[1])
        try:
            assert mirror.started.wait(60)
            while mirror.sent < 20 and proc.poll() is None:
                mirror.stop.wait(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert out_is_empty(work)
    for p in [*work.rglob("*")]:
        if p.is_file():
            data = p.read_bytes()
            assert payload[:16] not in data, p  # no partial payload anywhere
            if p.suffix == ".json":
                json.loads(data)  # metadata in the cache is whole
            assert not p.name.endswith(".tmp"), p


def test_speed_window_and_deadlines_with_a_test_clock() -> None:
    from fwsign.client import TransferLimits, _Watch
    from fwsign.errors import SlowRetrieval

    now = [0.0]
    lim = TransferLimits(min_speed=100, speed_window=10, file_deadline=60, update_deadline=90)
    w = _Watch("metadata/x.json", lim, 90.0, lambda: now[0])
    for _ in range(9):  # 9 s at 200 B/s: fine, and the first window is a grace period
        now[0] += 1
        w.received(200)
    now[0] = 15
    w.received(1000)  # the last 10 s brought 1000+ bytes: still fine
    now[0] = 24.9
    w.check()
    now[0] = 26  # a burst, then nothing: the last 10 s brought 0 bytes
    with pytest.raises(SlowRetrieval, match="slower than the minimum of 100 bytes/s"):
        w.received(0)
    fast = _Watch("targets/p", TransferLimits(min_speed=0, speed_window=10, file_deadline=60, update_deadline=90),
                  30.0, lambda: now[0])
    now[0] = 50
    with pytest.raises(SlowRetrieval, match="update took longer"):
        fast.check()
    now[0] = 26
    w2 = _Watch("targets/p", TransferLimits(min_speed=0, file_deadline=5), 1e9, lambda: now[0])
    now[0] = 31
    with pytest.raises(SlowRetrieval, match="targets/p: not complete within its deadline of 5 s"):
        w2.received(10)


# -- the audit log: truncation with an older signed head put back ----------------------------------


def test_audit_log_truncation_with_older_head_restored_is_detected(tmp_path: Path) -> None:
    from tests.tuf_helpers import suit_pub

    repo_dir = tmp_path / "r"
    log, head = repo_dir / "audit.log", repo_dir / "audit.log.head"
    assert fwsign("repo", "init", repo_dir).code == 0
    key = suit_pub(tmp_path)

    def publish(seq: int) -> None:
        rel = write_release(tmp_path / "rel", seq)
        r = fwsign("repo", "add", repo_dir, rel.envelope, "--payload", rel.payload, "--suit-key", key, "--publish")
        assert r.code == 0, r.err

    publish(1)
    old_log, old_head = log.read_bytes(), head.read_bytes()  # a copy of the log and its genuinely signed head
    old_ts = (repo_dir / "public" / "metadata" / "timestamp.json").read_bytes()
    publish(2)
    r = fwsign("audit", "verify", log, "-k", repo_dir / "keys" / "audit-log.pem")
    assert r.code == 0 and "anchored in the repository's snapshot v3" in r.out, r.out + r.err
    with served(repo_dir) as url:  # a verifier that keeps its own metadata cache sees the mirror
        cache = tmp_path / "verifier-cache"
        args = ["--repo", url, "--trusted-root", repo_dir / "trusted-root.json", "--cache", cache]
        assert fwsign("audit", "verify", log, *args).code == 0

        # The attack: cut the tail off and put the older signed head back.
        log.write_bytes(old_log)
        head.write_bytes(old_head)
        assert fwsign("audit", "verify", log, "--no-anchor").code == 0  # the chain and the head alone cannot tell
        for cmd in ("audit", "log"):
            r = fwsign(cmd, "verify", log)
            assert r.code == 1 and r.err.startswith("fwsign: audit-log-truncated: the log was cut off: snapshot v3 "
                                                    "anchors record 5, the log has 4"), r.err
        r = fwsign("audit", "verify", log, *args, "--json")
        assert r.code == 1 and "audit-log-truncated" in r.err

        # Rolling the repository's metadata back as well does not help against that verifier.
        (repo_dir / "public" / "metadata" / "timestamp.json").write_bytes(old_ts)
        r = fwsign("audit", "verify", log, *args)
        assert r.code == 1 and "BadVersionNumberError" in r.err, r.err


def test_audit_log_anchor_covers_records_up_to_the_last_publication(tmp_path: Path) -> None:
    """What is not detected, as the docs say: records after the newest published snapshot."""
    repo_dir = tmp_path / "r"
    log, head = repo_dir / "audit.log", repo_dir / "audit.log.head"
    assert fwsign("repo", "init", repo_dir).code == 0  # records: 1 repo-init, 2 publish (snapshot v1 anchors 1)
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2
    from fwsign.audit import GENESIS, _write_head, line_hash
    from fwsign.signers import load_signer

    # Someone holding the log key cuts record 2 and re-signs the head: the anchor (record 1) still matches.
    log.write_bytes(lines[0])
    _write_head(log, 1, line_hash(lines[0].rstrip(b"\n")), load_signer(repo_dir / "keys" / "audit-log.pem"))
    assert fwsign("audit", "verify", log).code == 0
    # Cutting record 1 as well reaches the anchor.
    log.write_bytes(b"")
    _write_head(log, 0, GENESIS, load_signer(repo_dir / "keys" / "audit-log.pem"))
    r = fwsign("audit", "verify", log)
    assert r.code == 1 and "audit-log-truncated" in r.err, r.err
    assert head.exists()
