"""Delta releases through the TUF repository (docs/delta.md): ``repo add --delta`` checks
each patch against the repository (source among the last N releases, result the full
release's image) and lists it in the latest pointer; ``fwsign update --running`` and
``fwsign device update`` take the patch whose source is the running image and fall back
to the full image otherwise, saying which in the JSON output."""

from __future__ import annotations

import json
from pathlib import Path

from fwsign.delta import make_patch
from fwsign.delta.release import delta_image
from fwsign.suit.builder import ComponentSpec, ManifestSpec, assemble_envelope, build_manifest
from tests.tuf_helpers import (
    CLASS,
    IDENTITY,
    SUIT_KEY,
    T0,
    VENDOR,
    Clock,
    add_and_publish,
    fwsign,
    new_repo,
    served,
    suit_pub,
    write_release,
)

NOW = T0.replace(hour=13).isoformat()


def publish(repo_dir: Path, clock: Clock) -> None:
    """Publish what the CLI staged, at the tests' clock (the CLI signs at the system time)."""
    from fwsign.repo.repository import Repository

    Repository(repo_dir, now=clock).publish()


def edited(data: bytes, seq: int) -> bytes:
    """Release ``seq`` as a small fix of ``data``: a few bytes changed, a few inserted."""
    out = bytearray(data)
    for i in range(50 * seq, len(out), 997):
        out[i] ^= 0x5A
    return bytes(out[:1000]) + bytes([seq]) * 24 + bytes(out[1000:])


def delta_files(directory: Path, old: bytes, new: bytes, seq: int, patch: bytes | None = None) -> str:
    img, p = delta_image(old, new, f"https://fw.example.com/{seq}.fwd1", patch=patch)
    manifest, severed = build_manifest(ManifestSpec(seq, (ComponentSpec((b"\x00",), (img,), VENDOR, CLASS),)))
    env = directory / f"fw-{seq}-from-{len(old)}-{old[:4].hex()}.suit"
    env.write_bytes(assemble_envelope(manifest, [SUIT_KEY.signer()], severed=severed))
    pf = env.with_suffix(".fwd1")
    pf.write_bytes(p)
    return f"{env}={pf}"


def test_repo_add_delta_and_update_picks_the_patch_or_falls_back(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    r1 = write_release(tmp_path / "rel", 1)
    add_and_publish(repo_dir, clock, r1)
    v1 = r1.payload.read_bytes()
    v2 = edited(v1, 2)
    rel2 = tmp_path / "rel2"
    rel2.mkdir()
    (rel2 / "fw-2.bin").write_bytes(v2)
    from tests.tuf_helpers import make_envelope

    (rel2 / "fw-2.suit").write_bytes(make_envelope(2, v2))
    pub = suit_pub(tmp_path)
    # a patch whose result is not release 2's image is refused, and nothing is staged
    bad = delta_files(rel2, v1, v2, 2, patch=make_patch(v1, edited(v1, 5)))
    r = fwsign("repo", "add", repo_dir, rel2 / "fw-2.suit", "--payload", rel2 / "fw-2.bin", "--suit-key", pub,
               "--delta", bad, "--json")
    assert r.code == 1 and "image-mismatch" in r.err, r.err
    # a patch from an image that is no earlier release is refused
    other = delta_files(rel2, edited(v1, 7), v2, 2)
    r = fwsign("repo", "add", repo_dir, rel2 / "fw-2.suit", "--payload", rel2 / "fw-2.bin", "--suit-key", pub,
               "--delta", other)
    assert r.code != 0 and "last 3 release" in r.err, r.err
    good = delta_files(rel2, v1, v2, 2)
    r = fwsign("repo", "add", repo_dir, rel2 / "fw-2.suit", "--payload", rel2 / "fw-2.bin", "--suit-key", pub,
               "--delta", good, "--json")
    assert r.code == 0, r.err
    publish(repo_dir, clock)
    added = json.loads(r.out)["deltas"]
    assert len(added) == 1 and added[0]["patch-bytes"] < len(v2) // 4

    run1 = tmp_path / "running-v1.bin"
    run1.write_bytes(v1)
    with served(repo_dir) as url:
        base = ["update", "--repo", url, "--trusted-root", repo_dir / "trusted-root.json", *IDENTITY,
                "--current-sequence", "1", "--suit-key", pub, "--now", NOW, "--json"]
        r = fwsign(*base, "--out", tmp_path / "out-patch", "--running", run1)
        assert r.code == 0, r.err
        out = json.loads(r.out)
        assert (out["delivery"], out["fallback"]) == ("patch", None)
        assert Path(out["payload"]).read_bytes() == Path(good.split("=")[1]).read_bytes()
        # running something else: no patch from it, the full image instead, and why
        runx = tmp_path / "running-x.bin"
        runx.write_bytes(edited(v1, 9))
        r = fwsign(*base, "--out", tmp_path / "out-full", "--running", runx)
        assert r.code == 0, r.err
        out = json.loads(r.out)
        assert out["delivery"] == "full" and "no patch from the running image" in out["fallback"]
        assert Path(out["payload"]).read_bytes() == v2
        # without --running: the full image, as before
        r = fwsign(*base, "--out", tmp_path / "out-plain")
        assert r.code == 0 and json.loads(r.out)["delivery"] == "full"


def test_device_update_installs_the_patch(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    r1 = write_release(tmp_path / "rel", 1)
    add_and_publish(repo_dir, clock, r1)
    dev = tmp_path / "dev"
    assert fwsign("device", "create", dev, "--trust", suit_pub(tmp_path), *IDENTITY,
                  "--trusted-root", repo_dir / "trusted-root.json").code == 0
    with served(repo_dir) as url:
        r = fwsign("device", "update", dev, "--repo", url, "--now", NOW, "--boot", "--json")
        assert r.code == 0 and json.loads(r.out)["delivery"] == "full"  # nothing runs yet: full image
        v1 = r1.payload.read_bytes()
        v2 = edited(v1, 2)
        rel2 = tmp_path / "rel2"
        rel2.mkdir()
        (rel2 / "fw-2.bin").write_bytes(v2)
        from tests.tuf_helpers import make_envelope

        (rel2 / "fw-2.suit").write_bytes(make_envelope(2, v2))
        assert fwsign("repo", "add", repo_dir, rel2 / "fw-2.suit", "--payload", rel2 / "fw-2.bin", "--suit-key",
                      suit_pub(tmp_path), "--delta", delta_files(rel2, v1, v2, 2)).code == 0
        publish(repo_dir, clock)
        r = fwsign("device", "update", dev, "--repo", url, "--now", NOW, "--boot", "--json")
        assert r.code == 0, r.err
        out = json.loads(r.out)
        assert out["delivery"] == "patch" and out["boot"]["sequence"] == 2 and out["boot"]["confirmed"]
    st = json.loads(fwsign("device", "status", dev, "--json").out)
    assert st["last_boot"]["sequence"] == 2
