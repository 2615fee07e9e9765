"""TUF repository scale: publish time, metadata sizes and client download bytes vs the number of targets.

For each repository size (1k, 10k, 100k targets; ``--quick``: 500 and 5k) and each shape
(flat: every target in targets.json; bins: succinct hash bins, TAP 15, with the bin count
``fwsign.repo.layout.bin_bits_for`` picks), it measures

* the first publish of all targets (CPU and wall seconds) and the metadata sizes
  (timestamp, snapshot, targets, largest bin), next to python-tuf's default client
  limits (a flat repository past 5 MB of targets.json is refused by ``repo publish``);
* the bytes a cold client (empty cache) downloads to update one device, split into
  metadata and target bytes, through :func:`fwsign.client.fetch_update`;
* an incremental publish of one new release: time, which metadata files were written
  (only the roles that changed: the bins holding the new targets, snapshot, timestamp),
  and the bytes a warm client (cache from the previous run) then downloads;
* the peer, in the same run: python-tuf's raw build-and-sign of the same metadata (its
  Metadata API: one ``Targets`` per bin with the same entries, ``Metadata.sign`` with a
  ``CryptoSigner``, ``to_bytes``; then snapshot and timestamp), for the full publish and
  for the roles the incremental publish re-signed; and python-tuf's own serialisation of
  the files the cold client downloaded. Each fwsign figure is also given as a ratio to it.

Targets other than the one real release per size are synthetic entries with the same
custom-metadata shapes ``fwsign repo add`` writes (release envelopes and payloads,
alternately). Run standalone:
``.venv/bin/python benchmarks/bench_repo.py [--quick]``; writes
``benchmarks/results/repo.json``, ``repo.png`` and ``repo.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import RESULTS, WORK, log, write_json
from cryptography.hazmat.primitives.asymmetric import ed25519
from tuf.api import exceptions as tuf_exc
from tuf.api.metadata import TargetFile
from tuf.ngclient.fetcher import FetcherInterface

from fwsign.client import CountingFetcher, fetch_update
from fwsign.errors import MetadataTooLarge
from fwsign.keys import make_signer
from fwsign.repo import layout as L
from fwsign.repo.releases import CUSTOM, add_release
from fwsign.repo.repository import SERIALIZER, Repository
from fwsign.repo.signing import generate_key
from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest, hash_stream
from fwsign.suit.ids import class_uuid, vendor_uuid
from fwsign.verify import TrustedKey

BASE = "bench://repo/"
VENDOR = vendor_uuid("example.com")
CLASS = class_uuid(VENDOR, "bench-device")
SUIT_PRIV = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SUIT_KEY = TrustedKey.of(SUIT_PRIV.public_key(), "bench")
PAYLOAD_SIZE = 64 * 1024
N_CLASSES = 64


class DirFetcher(FetcherInterface):
    """Serves a repository directory for ``bench://repo/`` URLs (no HTTP noise in the byte counts)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _fetch(self, url: str) -> Iterator[bytes]:
        rel = url[len(BASE):]
        path = self.root / rel
        if not rel.startswith(("metadata/", "targets/")) or ".." in rel or not path.is_file():
            raise tuf_exc.DownloadHTTPError(f"{rel} not found", 404)
        return iter([path.read_bytes()])


def envelope(seq: int, payload: bytes) -> bytes:
    digest, size = hash_stream([payload])
    comp = ComponentSpec((b"\x00",), (ImageSpec(digest, size, uri=f"https://fw.example.com/{seq}.bin"),), VENDOR, CLASS)
    manifest, severed = build_manifest(ManifestSpec(seq, (comp,)))
    return assemble_envelope(manifest, [make_signer(SUIT_PRIV)], severed=severed)


def payload(seq: int) -> bytes:
    return hashlib.shake_256(f"payload-{seq}".encode()).digest(PAYLOAD_SIZE)


def synthetic_target(i: int) -> TargetFile:
    """A target entry shaped like those ``repo add`` writes: release envelope and payload in turn, N_CLASSES classes."""
    release = i // 2
    cls = uuid.uuid5(uuid.UUID(bytes=VENDOR), f"class-{release % N_CLASSES}")
    seq = release // N_CLASSES + 1
    pay_hash = hashlib.sha256(f"p{release}".encode()).hexdigest()
    pay_path = f"{cls}/payloads/{pay_hash}"
    if i % 2:
        return TargetFile(PAYLOAD_SIZE, {"sha256": pay_hash}, pay_path, {"custom": {CUSTOM: {"type": "payload", "sequence": seq}}})
    h = hashlib.sha256(f"t{i}".encode()).hexdigest()
    meta = {"type": "suit-envelope", "sequence": seq, "payload": pay_path}
    return TargetFile(300 + i % 200, {"sha256": h}, f"{cls}/{seq}.suit", {"custom": {CUSTOM: meta}})


def tuf_raw_build(repo_dir: Path, roles: list[str] | None = None) -> dict[str, Any]:
    """python-tuf's raw build-and-sign of the metadata in ``repo_dir`` (all targets roles, or ``roles``).

    The targets roles are rebuilt from the published entries as python-tuf ``Targets``
    objects, each signed with ``Metadata.sign`` and serialised with ``to_bytes``; then a
    snapshot listing them and a timestamp. Only the build, sign and serialise steps are
    timed (not the reading of the published files).
    """
    from securesystemslib.signer import CryptoSigner
    from tuf.api.metadata import Metadata, MetaFile, Snapshot, Targets, Timestamp
    from tuf.api.serialization.json import JSONSerializer

    ser = JSONSerializer(compact=True)
    repo = Repository(repo_dir)
    names = roles if roles is not None else repo.targets_roles()
    content = {}
    for name in names:
        md = repo.published(name)
        assert md is not None
        content[name] = (md.signed.delegations, [(p, tf.length, dict(tf.hashes), dict(tf.unrecognized_fields))
                                                 for p, tf in md.signed.targets.items()])
    signer = CryptoSigner.generate_ed25519()
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=365)
    c0 = time.process_time()
    out: dict[str, bytes] = {}
    for name, (delegations, entries) in content.items():
        t = Targets(version=2, expires=expires, delegations=delegations)
        for path, length, hashes, fields in entries:
            t.targets[path] = TargetFile(length, hashes, path, fields)
        m = Metadata(t)
        m.sign(signer)
        out[name] = m.to_bytes(ser)
    snap = Metadata(Snapshot(version=2, expires=expires, meta={f"{n}.json": MetaFile(version=2) for n in out}))
    snap.sign(signer)
    snap_bytes = snap.to_bytes(ser)
    ts = Metadata(Timestamp(version=2, expires=expires, snapshot_meta=MetaFile(version=2, length=len(snap_bytes),
                                                                               hashes={"sha256": hashlib.sha256(snap_bytes).hexdigest()})))
    ts.sign(signer)
    ts.to_bytes(ser)
    return {"cpu_s": round(time.process_time() - c0, 3), "roles": len(out)}


def tuf_serialised_bytes(repo_dir: Path, urls: list[str]) -> int:
    """What python-tuf's compact serialiser makes of the metadata files a client downloaded."""
    from tuf.api.metadata import Metadata
    from tuf.api.serialization.json import JSONSerializer

    ser = JSONSerializer(compact=True)
    total = 0
    for url in urls:
        rel = url[len(BASE):]
        if rel.startswith("metadata/"):
            total += len(Metadata.from_bytes((repo_dir / L.PUBLIC / rel).read_bytes()).to_bytes(ser))
    return total


def add_real(repo: Repository, seq: int, work: Path) -> None:
    data = payload(seq)
    pay = work / f"fw-{seq}.bin"
    pay.write_bytes(data)
    add_release(repo, envelope(seq, data), [SUIT_KEY], payload=pay)
    repo.save()


def metadata_sizes(repo_dir: Path) -> dict[str, Any]:
    repo = Repository(repo_dir)
    out: dict[str, Any] = {}
    for role in ("timestamp", "snapshot", "targets"):
        md = repo.published(role)
        assert md is not None
        out[role] = len(md.to_bytes(SERIALIZER))
    d = repo.current("targets").signed.delegations
    if d is not None and d.succinct_roles is not None:
        sizes = [len(repo.published(b).to_bytes(SERIALIZER)) for b in d.succinct_roles.get_roles()]  # type: ignore[union-attr]
        out["bins"] = d.succinct_roles.number_of_bins
        out["bin_max"] = max(sizes)
        out["bin_mean"] = round(sum(sizes) / len(sizes))
    return out


def client_run(repo_dir: Path, cache: Path, out: Path, current: int) -> dict[str, Any]:
    fetcher = CountingFetcher(DirFetcher(repo_dir / L.PUBLIC))
    res = fetch_update(BASE, (repo_dir / L.PUBLIC / "metadata/1.root.json").read_bytes(), VENDOR, CLASS, current, [SUIT_KEY], out,
                       cache_dir=cache, fetcher=fetcher)
    meta = sum(n for url, n in fetcher.bytes_by_url.items() if "/metadata/" in url)
    tgt = sum(n for url, n in fetcher.bytes_by_url.items() if "/targets/" in url)
    return {"updated": res.updated, "sequence": res.sequence, "metadata_bytes": meta, "target_bytes": tgt,
            "files": len(fetcher.bytes_by_url), "tuf_serialised_metadata_bytes": tuf_serialised_bytes(repo_dir, list(fetcher.bytes_by_url))}


def run_case(n: int, shape: str, base: Path) -> dict[str, Any]:
    repo_dir = base / f"{shape}-{n}"
    shutil.rmtree(repo_dir, ignore_errors=True)
    repo_dir.mkdir(parents=True)
    bits = L.bin_bits_for(n) if shape == "bins" else 0
    keys = {role: [generate_key(repo_dir, f"{role}-1")] for role in ("root", "targets", "snapshot", "timestamp")}
    bin_keys = [generate_key(repo_dir, "bins-1")] if bits else []
    Repository.create(repo_dir, keys, {}, bin_bits=bits, bin_keys=bin_keys).publish()
    repo = Repository(repo_dir)
    t0 = time.perf_counter()
    for i in range(n - 3):  # the real release adds three targets (envelope, latest, payload)
        repo.set_target(synthetic_target(i))
    add_real(repo, 1, base)
    stage_s = time.perf_counter() - t0
    case: dict[str, Any] = {"targets": n, "shape": shape, "bins": 1 << bits if bits else 0, "stage_s": round(stage_s, 3)}
    c0, w0 = time.process_time(), time.perf_counter()
    try:
        res = repo.publish()
    except MetadataTooLarge as exc:
        case.update({"refused": exc.message, "publish_cpu_s": round(time.process_time() - c0, 3)})
        flat = repo.current("targets")
        case["sizes"] = {"targets": len(flat.to_bytes(SERIALIZER))}
        log(f"  {shape:5} {n:>7}: refused ({case['sizes']['targets']} B targets)")
        shutil.rmtree(repo_dir, ignore_errors=True)
        return case
    case["publish_cpu_s"] = round(time.process_time() - c0, 3)
    case["publish_wall_s"] = round(time.perf_counter() - w0, 3)
    case["files_written"] = len(res.written)
    case["tuf_raw_publish"] = tuf_raw_build(repo_dir)
    case["publish_ratio"] = round(case["publish_cpu_s"] / case["tuf_raw_publish"]["cpu_s"], 2)
    case["sizes"] = metadata_sizes(repo_dir)
    case["warnings"] = list(res.warnings)
    cache, out = base / f"cache-{shape}-{n}", base / f"out-{shape}-{n}"
    for d in (cache, out):
        shutil.rmtree(d, ignore_errors=True)
    case["cold_client"] = client_run(repo_dir, cache, out, 0)
    # Incremental: one new release in the full repository.
    repo = Repository(repo_dir)
    c0, w0 = time.process_time(), time.perf_counter()
    add_real(repo, 2, base)
    res = repo.publish()
    case["incremental"] = {
        "cpu_s": round(time.process_time() - c0, 3), "wall_s": round(time.perf_counter() - w0, 3),
        "files_written": sorted(res.written), "roles_resigned": len(res.written),
    }
    changed = [r for r in res.versions if r not in ("snapshot", "timestamp", "root")]
    case["incremental"]["tuf_raw"] = tuf_raw_build(repo_dir, changed)
    case["incremental"]["ratio"] = round(case["incremental"]["cpu_s"] / max(case["incremental"]["tuf_raw"]["cpu_s"], 1e-3), 2)
    cold = case["cold_client"]
    cold["ratio"] = round(cold["metadata_bytes"] / cold["tuf_serialised_metadata_bytes"], 3)
    case["warm_client"] = client_run(repo_dir, cache, out, 1)
    log(f"  {shape:5} {n:>7}: publish {case['publish_cpu_s']:.2f} s CPU, snapshot {case['sizes']['snapshot']} B, "
        f"targets {case['sizes']['targets']} B, cold {case['cold_client']['metadata_bytes']} B metadata, "
        f"incremental re-signed {len(res.written)} file(s), warm {case['warm_client']['metadata_bytes']} B metadata")
    shutil.rmtree(repo_dir, ignore_errors=True)
    for d in (cache, out):
        shutil.rmtree(d, ignore_errors=True)
    return case


def plot(cases: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for shape, marker in (("flat", "o"), ("bins", "s")):
        ok = [c for c in cases if c["shape"] == shape and "refused" not in c]
        if not ok:
            continue
        ns = [c["targets"] for c in ok]
        ax1.plot(ns, [c["publish_cpu_s"] for c in ok], marker=marker, label=f"{shape}: full publish")
        ax1.plot(ns, [c["incremental"]["cpu_s"] for c in ok], marker=marker, linestyle="--", label=f"{shape}: one new release")
        ax1.plot(ns, [c["tuf_raw_publish"]["cpu_s"] for c in ok], marker=marker, linestyle=":", color="grey",
                 label=f"{shape}: python-tuf raw build-and-sign")
        ax2.plot(ns, [c["cold_client"]["metadata_bytes"] for c in ok], marker=marker, label=f"{shape}: cold client")
        ax2.plot(ns, [c["warm_client"]["metadata_bytes"] for c in ok], marker=marker, linestyle="--", label=f"{shape}: warm client")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("targets in the repository")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax1.set_ylabel("CPU seconds")
    ax1.set_title("publish time")
    ax2.set_ylabel("metadata bytes downloaded per update")
    ax2.set_title("client download (metadata only)")
    ax2.axhline(L.CLIENT_MAX_BYTES["targets"], color="grey", linestyle=":", linewidth=1)
    ax2.annotate("python-tuf default targets limit (5 MB)", (0.02, 0.93), xycoords="axes fraction", fontsize=7, color="grey")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary(cases: list[dict[str, Any]], quick: bool) -> str:
    lines = [
        "# TUF repository scale (benchmarks/bench_repo.py)",
        "",
        f"{'Quick run (--quick). ' if quick else ''}Publish CPU time, metadata sizes and client bytes per repository size; "
        "payloads are 64 KiB, so target bytes per update are the envelope + payload (~65 KiB) in every case. "
        "*raw* is python-tuf's raw build-and-sign of the same metadata in the same run; *x* is fwsign / raw.",
        "",
        "| targets | shape | bins | publish CPU s | raw s | x | snapshot B | largest bin B | cold client metadata B | x | "
        "one new release: files re-signed | CPU s | raw s | x | warm client metadata B |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        s = c["sizes"]
        if "refused" in c:
            lines.append(f"| {c['targets']} | {c['shape']} | - | refused ({s['targets']} B targets) | - | - | - | - | - | - "
                         "| - | - | - | - | - |")
            continue
        inc, cold = c["incremental"], c["cold_client"]
        lines.append(
            f"| {c['targets']} | {c['shape']} | {c['bins'] or '-'} | {c['publish_cpu_s']} | {c['tuf_raw_publish']['cpu_s']} | "
            f"{c['publish_ratio']} | {s['snapshot']} | {s.get('bin_max', '-')} | {cold['metadata_bytes']} | {cold['ratio']} | "
            f"{inc['roles_resigned']} | {inc['cpu_s']} | {inc['tuf_raw']['cpu_s']} | {inc['ratio']} | "
            f"{c['warm_client']['metadata_bytes']} |")
    lines += [
        "",
        "- *refused*: `fwsign repo publish` stops before writing a targets.json over python-tuf's default 5 MB client "
        "limit (every default client would fail); such a repository needs `--bins`.",
        "- *one new release*: CPU time from opening the repository to the last file written, including verifying the "
        "envelope and payload and the pre-write client check; its raw figure re-signs only the roles fwsign wrote.",
        "- *cold client x*: the bytes downloaded against python-tuf's own compact serialisation of the same files.",
        "- Warm client: the cache holds the previous state; it downloads timestamp, snapshot and the changed bin(s).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="500 and 5,000 targets only (about a minute).")
    ap.add_argument("--sizes", type=int, nargs="*", help="Repository sizes to run (default 1000 10000 100000).")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    sizes = a.sizes or ([500, 5000] if a.quick else [1000, 10_000, 100_000])
    base = WORK / "repo"
    base.mkdir(parents=True, exist_ok=True)
    cases: list[dict[str, Any]] = []
    started = dt.datetime.now(dt.UTC)
    for n in sizes:
        for shape in ("flat", "bins"):
            cases.append(run_case(n, shape, base))
    payload_doc = {"quick": a.quick, "sizes": sizes, "cases": cases, "client_limits": L.CLIENT_MAX_BYTES,
                   "started": started.isoformat(timespec="seconds")}
    path = write_json(a.out, "repo", payload_doc)
    plot(cases, a.out / "repo.png")
    (a.out / "repo.md").write_text(summary(cases, a.quick))
    log(f"wrote {path}, {a.out / 'repo.png'}, {a.out / 'repo.md'}")


if __name__ == "__main__":
    main()
