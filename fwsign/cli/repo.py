"""TUF repository commands (``fwsign repo ...``) and the update client (``fwsign update``).

Exit codes: 0 done, 1 rejected (an invalid envelope, a refused update, a role short of
signatures), 2 usage or unreadable input or network error, 3 nothing to do (``update``:
already up to date).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import (
    EXIT_UP_TO_DATE,
    add_command,
    add_identity_options,
    echo,
    emit_json,
    identity,
    non_negative,
    parse_now,
    trusted,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..repo.repository import PublishResult, Repository
    from ..repo.signing import KeyRef, PendingKeys

TOP_ROLES = ("root", "targets", "snapshot", "timestamp")


def register(sub: Any) -> None:
    grp = add_command(sub, "repo", _no_subcommand, "TUF repository: init, add, publish, status, serve, delegate, sign, rotate.")
    rs = grp.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(grp))

    p = add_command(rs, "init", cmd_init, "Create a repository: keys, root v1, targets, snapshot, timestamp (consistent snapshots).")
    p.add_argument("dir", type=Path, metavar="DIR")
    for role in TOP_ROLES:
        p.add_argument(f"--{role}-key", action="append", default=[], metavar="SPEC",
                       help=f"{role} key: 'generate', a private PEM, URI@PUBLIC.pem, or a public PEM (offline); repeatable.")
        p.add_argument(f"--{role}-keys", type=non_negative, metavar="N",
                       help=f"Number of {role} keys; missing ones are generated into DIR/keys/ (default 1).")
        p.add_argument(f"--{role}-threshold", type=non_negative, default=1, metavar="N", help=f"Signatures {role} needs (default 1).")
    p.add_argument("--expiry", action="append", default=[], metavar="ROLE=DAYS",
                   help="Expiry period: root, targets, snapshot, timestamp or delegated (defaults 365/365/1/1/365).")
    _bins_options(p)
    p.add_argument("--bins-key", action="append", default=[], metavar="SPEC", help="Key of the hash bins (online; default generated).")
    p.add_argument("--json", dest="json_out", action="store_true")

    p = add_command(rs, "add", cmd_add, "Verify a SUIT envelope, then stage it and its payload as targets.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE")
    p.add_argument("--payload", type=Path, metavar="FILE", help="Image the envelope describes (checked against its digest).")
    p.add_argument("--suit-key", action="append", type=Path, metavar="PUB",
                   help="Key the envelope must be signed with; repeatable (or give --policy).")
    p.add_argument("--suit-threshold", type=non_negative, default=1, metavar="N")
    p.add_argument("--policy", type=Path, metavar="FILE",
                   help="Release policy (TOML): refuse the release until its class rule's signers and threshold are met.")
    p.add_argument("--reason", help="Why (recorded in DIR/audit.log).")
    p.add_argument("--publish", action="store_true", help="Publish right after adding.")
    p.add_argument("--delta", action="append", default=[], metavar="ENVELOPE=PATCH",
                   help="A patch to this release from one of the last --delta-keep releases (fwsign sign --delta-from); "
                        "repeatable (docs/delta.md).")
    p.add_argument("--delta-keep", type=non_negative, default=3, metavar="N",
                   help="Patches are taken from the last N releases before this one (default 3).")
    p.add_argument("--json", dest="json_out", action="store_true")
    _lock_option(p)

    p = add_command(rs, "publish", cmd_publish, "Sign staged roles; write targets/bins, snapshot, timestamp after a client check.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--json", dest="json_out", action="store_true")
    _lock_option(p)

    p = add_command(rs, "refresh", cmd_refresh, "Re-sign snapshot and timestamp (and roles expiring soon) for a cron job.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--within", type=non_negative, default=7, metavar="DAYS",
                   help="Also re-sign targets roles expiring within DAYS when their keys are online (default 7).")
    p.add_argument("--json", dest="json_out", action="store_true")
    _lock_option(p)

    p = add_command(rs, "status", cmd_status, "Versions, expiry, keys and thresholds per role; warnings.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--warn-days", type=non_negative, default=7, metavar="DAYS")
    p.add_argument("--json", dest="json_out", action="store_true")

    p = add_command(rs, "serve", cmd_serve, "Serve DIR/public/ (metadata/ and targets/ only) over HTTP on loopback (development).")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--port", type=non_negative, default=8000, metavar="N")

    p = add_command(rs, "delegate", cmd_delegate, "Delegate one device class to a role signed by its product team.")
    p.add_argument("dir", type=Path, metavar="DIR")
    add_identity_options(p, expected=False)
    p.add_argument("--role", metavar="NAME", help="Role name (default: the class name).")
    p.add_argument("--key", action="append", default=[], metavar="SPEC", help="Key of the class role; repeatable (default generated).")
    p.add_argument("--threshold", type=non_negative, default=1, metavar="N")
    _bins_options(p)
    _lock_option(p)

    p = add_command(rs, "sign", cmd_sign, "Add a signature to the pending version of a role; publishes when thresholds are met.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("role", metavar="ROLE")
    p.add_argument("--key", required=True, metavar="SPEC", help="Private PEM or URI@PUBLIC.pem.")
    p.add_argument("--no-publish", action="store_true", help="Only sign; do not publish when thresholds are met.")
    _lock_option(p)

    p = add_command(rs, "rotate", cmd_rotate, "Stage a new root: add/remove keys of a top-level role or change its threshold.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("role", choices=TOP_ROLES, metavar="ROLE")
    p.add_argument("--add-key", action="append", default=[], metavar="SPEC")
    p.add_argument("--remove-key", action="append", default=[], metavar="KEYID", help="Key id (or a unique prefix).")
    p.add_argument("--threshold", type=non_negative, metavar="N")
    _lock_option(p)

    p = add_command(rs, "remove", cmd_remove, "Remove a target (a release's envelope also takes its payload; latest moves back).")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("target", metavar="TARGET", help="Target path, e.g. <class-id>/42.suit")
    p.add_argument("--keep-payload", action="store_true")
    _lock_option(p)

    p = add_command(rs, "revoke", cmd_revoke, "Publish a revocation floor: devices of the class refuse releases below N.")
    p.add_argument("dir", type=Path, metavar="DIR")
    add_identity_options(p, expected=False)
    p.add_argument("--below", type=non_negative, required=True, metavar="N")
    _lock_option(p)

    p = add_command(sub, "update", cmd_update,
                    "Fetch the newest release for a device class over TUF, verify it as SUIT, write it to --out.",
                    description="Exit 0 updated, 3 already up to date, 1 rejected, 2 usage or network error.")
    p.add_argument("--repo", required=True, metavar="URL", help="Repository base URL (serves metadata/ and targets/).")
    p.add_argument("--trusted-root", required=True, type=Path, metavar="ROOT.json", help="Bootstrap root embedded in the device.")
    add_identity_options(p, expected=True)
    p.add_argument("--current-sequence", type=non_negative, required=True, metavar="N", help="Sequence of the installed firmware.")
    p.add_argument("--device-id", metavar="UUID",
                   help="This device's identity: places it in a signed rollout's cohorts (without it, a release under a "
                        "rollout installs only at its 100%% stage).")
    p.add_argument("--suit-key", action="append", type=Path, metavar="PUB", help="SUIT key; repeatable (or give --policy).")
    p.add_argument("--suit-threshold", type=non_negative, default=1, metavar="N")
    p.add_argument("--policy", type=Path, metavar="FILE", help="Release policy (TOML): the class rule's signers, threshold, algorithms.")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--cache", type=Path, metavar="DIR", help="Keep the TUF metadata cache here between runs.")
    p.add_argument("--now", metavar="TIME",
                   help="Reference time for expiry checks: seconds since the epoch or ISO 8601 (a trusted time source).")
    p.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")
    p.add_argument("--running", type=Path, metavar="IMAGE",
                   help="The image the device runs: a patch from it is fetched instead of the full image when the "
                        "release offers one (docs/delta.md).")
    p.add_argument("--json", dest="json_out", action="store_true")
    add_transfer_options(p)


def add_transfer_options(p: argparse.ArgumentParser) -> None:
    """Minimum speed and deadlines of the client's downloads (slow-retrieval protection)."""
    g = p.add_argument_group("download limits (a mirror that trickles data is cut off)")
    g.add_argument("--min-speed", type=non_negative, default=1024, metavar="BYTES/S",
                   help="Minimum average speed over every --speed-window of a download (default 1024; 0 turns it off).")
    g.add_argument("--speed-window", type=_seconds, default=30.0, metavar="SECONDS",
                   help="Sliding window the minimum speed is measured over (default 30).")
    g.add_argument("--file-deadline", type=_seconds, default=1800.0, metavar="SECONDS",
                   help="Longest one file (metadata or payload) may take (default 1800).")
    g.add_argument("--update-deadline", type=_seconds, default=3600.0, metavar="SECONDS",
                   help="Longest the whole update may take, every file included (default 3600).")


def transfer_limits(a: argparse.Namespace) -> Any:
    from ..client import TransferLimits
    from ..errors import UsageError

    if min(a.speed_window, a.file_deadline, a.update_deadline) <= 0:
        raise UsageError("--speed-window, --file-deadline and --update-deadline must be above 0")
    return TransferLimits(a.min_speed, a.speed_window, a.file_deadline, a.update_deadline)


def _bins_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bins", metavar="auto|N", default="0",
                   help="Succinct hash bins (TAP 15): a power of two, or auto from --expected-targets (default none).")
    p.add_argument("--expected-targets", type=non_negative, default=10_000, metavar="N",
                   help="Targets expected, for --bins auto (default 10000).")


def _lock_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lock-timeout", type=_seconds, default=300.0, metavar="SECONDS",
                   help="Wait this long for another command changing the repository to finish (default 300), "
                        "then fail with repo-locked having changed nothing.")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 <= value < 1e9:
        raise argparse.ArgumentTypeError(f"expected a non-negative number of seconds, got {text!r}")
    return value


@contextlib.contextmanager
def _opened(a: argparse.Namespace) -> Iterator[Repository]:
    """The repository of ``a.dir`` with its lock held for the whole command."""
    from ..repo.repository import Repository

    with Repository.open(a.dir, lock_timeout=a.lock_timeout) as repo:
        if repo.migrated:
            echo(f"note: moved {a.dir}/metadata and {a.dir}/targets into {a.dir}/public/; serve or upload "
                 f"{a.dir}/public/ from now on (docs/repo.md)", err=True)
        yield repo


def _no_subcommand(a: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("give a sub-command (fwsign repo --help)")


def _bin_bits(a: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..repo.layout import bin_bits_for, bits_of_count

    if a.bins == "auto":
        return bin_bits_for(a.expected_targets)
    if not a.bins.isdigit():
        raise UsageError(f"--bins must be 'auto' or a number, got {a.bins!r}")
    if int(a.bins) == 0:
        return 0
    try:
        return bits_of_count(int(a.bins))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _key_refs(specs: list[str], count: int | None, repo_dir: Path, role: str, pending: PendingKeys) -> list[KeyRef]:
    """Load every key spec; generated keys wait in ``pending`` until the command commits them."""
    from ..repo.signing import parse_key_spec

    want = max(count or 0, len(specs), 1)
    specs = [*specs, *["generate"] * (want - len(specs))]
    return [parse_key_spec(s, repo_dir, f"{role}-{i + 1}", pending) for i, s in enumerate(specs)]


def _print_publish(res: PublishResult, json_out: bool) -> None:
    if json_out:
        emit_json(res.as_dict())
        return
    for w in res.warnings:
        echo(f"warning: {w}", err=True)
    if res.published:
        shown = [f"{r} v{v}" for r, v in res.versions.items() if "-bins-" not in r and not r.startswith("bins-")]
        bins = len(res.versions) - len(shown)
        echo("published: " + ", ".join(shown) + (f" and {bins} hash bin(s)" if bins else ""))
    else:
        echo("nothing staged to publish")


def cmd_init(a: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..repo.repository import initialise

    expiry: dict[str, int] = {}
    for item in a.expiry:
        role, _, days = item.partition("=")
        if role not in (*TOP_ROLES, "delegated") or not days.isdigit():
            raise UsageError(f"--expiry takes ROLE=DAYS with ROLE one of root, targets, snapshot, timestamp, delegated; got {item!r}")
        expiry[role] = int(days)
    bits = _bin_bits(a)
    repo_dir: Path = a.dir
    if (repo_dir / "repo.json").exists():
        raise UsageError(f"{repo_dir} already holds a repository")
    res = initialise(repo_dir, {role: getattr(a, f"{role}_key") for role in TOP_ROLES},
                     {role: getattr(a, f"{role}_threshold") for role in TOP_ROLES},
                     key_counts={role: getattr(a, f"{role}_keys") for role in TOP_ROLES},
                     expiry_days=expiry, bin_bits=bits, bin_key_specs=a.bins_key)
    repo = res.repository
    if res.published is None:
        echo(f"created {repo_dir}, not published yet: {res.pending}", err=True)
        return 1
    if a.json_out:
        emit_json({**res.published.as_dict(), "trusted_root": str(repo.layout.trusted_root)})
    else:
        _print_publish(res.published, False)
        echo(f"trusted root for clients: {repo.layout.trusted_root}")
        echo(f"publish {repo.layout.public}/ (metadata/ and targets/); keep everything else in {repo_dir} private")
    return 0


def cmd_add(a: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..repo.releases import add_release
    from .common import read_envelope

    data = read_envelope(a.envelope)
    policy = None
    if a.policy is not None:
        from ..policy import load_policy

        _rule, policy = load_policy(a.policy).policy_for_envelope(data, trusted(a.suit_key or []))
    elif not a.suit_key:
        raise UsageError("give the SUIT verification key(s) with --suit-key, or a release --policy")
    # One lock from reading the staged state to the last synced file: a concurrent add or
    # publish waits, so neither builds on a state the other is about to replace.
    with _opened(a) as repo:
        res = add_release(repo, data, trusted(a.suit_key or []), payload=a.payload, threshold=a.suit_threshold,
                          policy=policy, reason=a.reason)
        deltas = _add_deltas(a, repo, policy)
        repo.save()
        out: dict[str, object] = res.as_dict()
        if deltas:
            out["deltas"] = [d.as_dict() for d in deltas]
        if a.publish:
            out["publish"] = repo.publish().as_dict()
    if a.json_out:
        emit_json(out)
    else:
        echo(f"staged release {res.sequence} of class {res.class_id}: {res.envelope_path}"
             + (f" + {res.payload_path}" if res.payload_path else "") + (" (latest)" if res.latest else ""))
        for d in deltas:
            echo(f"  patch from {d.source_sha256[:16]}...: {d.patch_bytes} B ({d.patch_bytes / d.image_bytes:.1%} of the "
                 f"image), {d.envelope_path}")
        if a.publish:
            echo("published")
        else:
            echo(f"run: fwsign repo publish {a.dir}")
    return 0


def _add_deltas(a: argparse.Namespace, repo: Any, policy: Any) -> list[Any]:
    """repo add --delta ENVELOPE=PATCH: each patch checked and staged (fwsign.repo.deltas)."""
    from ..errors import UsageError
    from ..repo.deltas import add_delta
    from .common import read_envelope

    out = []
    keys = tuple(policy.keys) if policy is not None else tuple(trusted(a.suit_key or []))
    threshold = policy.threshold if policy is not None else a.suit_threshold
    for spec in a.delta:
        env, sep, patch = spec.partition("=")
        if not sep or not env or not patch:
            raise UsageError(f"--delta takes ENVELOPE=PATCH, not {spec!r}")
        out.append(add_delta(repo, read_envelope(Path(env)), Path(patch), keys, threshold=threshold, keep=a.delta_keep))
    return out


def cmd_publish(a: argparse.Namespace) -> int:
    with _opened(a) as repo:
        res = repo.publish(resign_online=False)
    _print_publish(res, a.json_out)
    return 0


def cmd_refresh(a: argparse.Namespace) -> int:
    with _opened(a) as repo:
        res = repo.refresh(within_days=a.within)
    _print_publish(res, a.json_out)
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    from ..repo.repository import Repository

    st = Repository(a.dir).status(warn_days=a.warn_days)
    if a.json_out:
        emit_json(st)
        return 0
    for r in st["roles"]:
        if not r.get("version"):
            echo(f"{r['role']:<20} not published")
            continue
        extra = f"  {r['targets']} targets" if "targets" in r else ""
        extra += f"  {r['bins']} bins" if "bins" in r else ""
        keys = ", ".join(f"{k['keyid'][:10]}({k['signer']})" for k in r["keys"])
        echo(f"{r['role']:<20} v{r['version']:<5} expires {r['expires']} ({r['expires_in_days']} d)  "
             f"{r['threshold']}-of-{len(r['keys'])}: {keys}{extra}")
    if st["pending"]:
        echo("pending: " + ", ".join(st["pending"]))
    for w in st["warnings"]:
        echo(f"warning: {w}", err=True)
    return 0


def cmd_serve(a: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..repo.layout import Layout
    from ..repo.serve import make_server

    root = Layout(a.dir).served_root()
    if not (root / "metadata").is_dir():
        raise UsageError(f"{a.dir} is not a published repository (no {a.dir}/public/metadata/)")
    server = make_server(a.dir, a.port, verbose=True)
    host, port = server.server_address[:2]
    echo(f"serving {root} at http://{host!s}:{port}/ (metadata/ and targets/ only; Ctrl-C stops)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def cmd_delegate(a: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..repo.layout import check_name
    from ..repo.signing import PendingKeys

    _, cid = identity(a, required=False)
    if cid is None:
        raise UsageError("give the class: --class-name with --vendor-domain/--vendor-id, or --class-id")
    name = a.role or a.class_name
    if not name:
        raise UsageError("give --role NAME (the class is given by id)")
    # The name becomes file names (staged/NAME.json, keys/NAME-1.pem): checked before anything is written.
    check_name(name, "role name" if a.role else "class name used as the role name (give --role)")
    bits = _bin_bits(a)
    with _opened(a) as repo:
        pending = PendingKeys(a.dir)
        keys = _key_refs(a.key, None, a.dir, name, pending)
        repo.check_class_delegation(name, cid, keys, a.threshold)
        pending.commit()
        try:
            repo.delegate_class(name, cid, keys, a.threshold, bits)
            repo.save()
        except BaseException:
            pending.rollback()
            raise
        repo.audit("repo-delegate", artifact=name, key_ids=[k.keyid for k in keys],
                   signers=[k.uri.split(":", 1)[0] if k.uri else "offline" for k in keys],
                   details={"class-id": _uuid_text(cid), "threshold": a.threshold})
    echo(f"staged class role {name}; run: fwsign repo publish {a.dir}")
    return 0


def cmd_sign(a: argparse.Namespace) -> int:
    from ..errors import ThresholdNotMet
    from ..repo.layout import check_name
    from ..repo.signing import signer_from_spec

    check_name(a.role, "role name")
    with _opened(a) as repo:
        repo.sign(a.role, signer_from_spec(a.key, a.dir))
        echo(f"signed pending {a.role}")
        if a.no_publish:
            return 0
        try:
            res = type(repo)(a.dir, lock_timeout=a.lock_timeout).publish()
        except ThresholdNotMet as exc:
            echo(f"still pending: {exc.message}")
            return 0
    _print_publish(res, False)
    return 0


def cmd_rotate(a: argparse.Namespace) -> int:
    from ..repo.signing import PendingKeys

    with _opened(a) as repo:
        pending = PendingKeys(a.dir)
        adds = [_key_refs([s], None, a.dir, f"{a.role}-{_suffix()}", pending)[0] for s in a.add_key]
        pending.commit()
        try:
            root = repo.rotate(a.role, add=adds, remove=a.remove_key, threshold=a.threshold)
        except BaseException:
            pending.rollback()
            raise
        r = root.roles[a.role]
        repo.audit("repo-rotate", artifact=a.role, key_ids=[k.keyid for k in adds], signers=["added"] * len(adds),
                   details={"removed": list(a.remove_key), "threshold": r.threshold, "root-version": root.version})
    echo(f"staged root v{root.version}: {a.role} {r.threshold}-of-{len(r.keyids)}; "
         f"publish needs the old and the new root thresholds (fwsign repo publish / sign)")
    return 0


def _uuid_text(value: bytes) -> str:
    import uuid

    return str(uuid.UUID(bytes=value))


def _suffix() -> str:
    import secrets

    return secrets.token_hex(3)


def cmd_remove(a: argparse.Namespace) -> int:
    from ..repo.releases import remove_target

    with _opened(a) as repo:
        removed = remove_target(repo, a.target, keep_payload=a.keep_payload)
        repo.save()
        repo.audit("repo-remove", artifact=a.target, details={"removed": removed})
    echo("staged removal of " + ", ".join(removed) + f"; run: fwsign repo publish {a.dir}")
    return 0


def cmd_revoke(a: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..repo.releases import set_floor

    _, cid = identity(a, required=False)
    if cid is None:
        raise UsageError("give the class: --class-name with --vendor-domain/--vendor-id, or --class-id")
    with _opened(a) as repo:
        set_floor(repo, cid, a.below)
        repo.save()
        repo.audit("repo-revoke", details={"class-id": _uuid_text(cid), "below": a.below})
    echo(f"staged revocation floor {a.below}; run: fwsign repo publish {a.dir}")
    return 0


def _progress_bar(done: int, total: int) -> None:
    if total <= 0:
        return
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} bytes")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _read_running(path: Path | None) -> bytes | None:
    from ..errors import UsageError

    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the running image {path}: {exc.strerror}") from None


def cmd_update(a: argparse.Namespace) -> int:
    from ..client import fetch_update
    from ..errors import UsageError

    vid, cid = identity(a, required=True)
    assert vid is not None and cid is not None
    try:
        root = a.trusted_root.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read trusted root {a.trusted_root}: {exc.strerror}") from None
    now = parse_now(a.now)
    show = not a.no_progress and not a.json_out and sys.stderr.isatty()
    suit_policy = None
    if a.policy is not None:
        from ..policy import load_policy

        rp = load_policy(a.policy)
        suit_policy = rp.verify_policy(rp.rule_for(vid, cid), trusted(a.suit_key or []))
    elif not a.suit_key:
        raise UsageError("give the SUIT verification key(s) with --suit-key, or a release --policy")
    from .common import uuid_arg

    device_id = uuid_arg(a.device_id, "--device-id") if a.device_id else None
    res = fetch_update(a.repo, root, vid, cid, a.current_sequence, trusted(a.suit_key or []), a.out, cache_dir=a.cache,
                       suit_threshold=a.suit_threshold, now=now, progress=_progress_bar if show else None,
                       suit_policy=suit_policy, limits=transfer_limits(a), device_id=device_id,
                       running_image=_read_running(a.running))
    if a.json_out:
        emit_json(res.as_dict())
    else:
        echo(res.message)
        if res.updated:
            echo(f"envelope: {res.envelope_path}")
            if res.payload_path:
                echo(f"payload:  {res.payload_path}")
    return 0 if res.updated else EXIT_UP_TO_DATE
