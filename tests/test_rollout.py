"""Signed staged rollouts: the rollout file, cohorts, state changes, and the fleet over loopback HTTP.

The end-to-end tests run 200 lightweight clients (:func:`fwsign.client.fetch_update`, each
with its own metadata cache and device id) against the project's own HTTP server on
loopback; the attack tests are named after the TUF attacks they show.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.signer import CryptoSigner, Signer  # type: ignore[attr-defined]
from tuf.api.metadata import Metadata, MetaFile, TargetFile  # type: ignore[attr-defined]

from fwsign.client import UpdateResult, fetch_update
from fwsign.errors import FwsignError, RolloutInvalid, RolloutStateError, UsageError
from fwsign.repo import rollout as R
from fwsign.repo.layout import latest_path
from fwsign.repo.releases import CUSTOM
from fwsign.repo.repository import SERIALIZER, Repository
from fwsign.repo.signing import generate_key, load_signer
from tests.tuf_helpers import (
    CLASS,
    IDENTITY,
    SUIT_KEY,
    T0,
    VENDOR,
    Clock,
    add_and_publish,
    fwsign,
    make_envelope,
    new_repo,
    served,
    suit_pub,
    write_release,
)

DAY = 86400
START = int(T0.timestamp())
SALT = hashlib.sha256(b"fwsign rollout test salt").digest()
FLEET = [uuid.uuid5(uuid.NAMESPACE_URL, f"https://devices.example.com/{i}").bytes for i in range(200)]
STAGES = [1, 10, 50, 100]


def a_rollout(**kw: Any) -> R.Rollout:
    return R.plan(CLASS, 5, kw.pop("percents", STAGES), DAY, kw.pop("min_seconds", 3600), START, salt=SALT, **kw)


# -- the rollout file and cohorts (pure) -------------------------------------------------


def test_cohort_points_evenly_spread_without_an_inventory() -> None:
    """HMAC-SHA-256 points of 20,000 ids: each default stage admits its share within 2 points (sigma <= 0.36)."""
    r = a_rollout()
    ids = [f"serial-{i:08d}".encode() for i in range(20_000)]
    points = [R.cohort(SALT, d) for d in ids]
    for stage in r.stages:
        share = 100 * sum(1 for p in points if p < stage.bound) / len(points)
        assert abs(share - stage.percent) <= 2.0, (stage.percent, share)
    assert len(set(points)) > 19_900  # 32-bit points: collisions are rare


def test_cohort_is_keyed_and_stable() -> None:
    d = FLEET[0]
    assert R.cohort(SALT, d) == R.cohort(SALT, d)
    other = [R.cohort(hashlib.sha256(SALT).digest(), x) for x in FLEET]
    assert other != [R.cohort(SALT, x) for x in FLEET]  # a new rollout's salt reorders the fleet
    with pytest.raises(UsageError):
        R.cohort(SALT, b"")


def test_fleet_bounds_admit_exact_shares_and_nest() -> None:
    r = a_rollout(fleet=FLEET)
    admitted = [{d for d in FLEET if R.cohort(SALT, d) < s.bound} for s in r.stages]
    assert [len(a) for a in admitted] == [2, 20, 100, 200]
    assert admitted[0] <= admitted[1] <= admitted[2] <= admitted[3]


def test_schedule_and_state_changes() -> None:
    r = a_rollout(fleet=FLEET)
    assert r.stage_index(START - 1) is None and r.percent(START) == 1 and r.percent(START + DAY) == 10
    assert r.percent(START + 3 * DAY + 5) == 100 and r.status(START + 3 * DAY)["state"] == "complete"
    with pytest.raises(RolloutStateError, match="minimum time"):
        R.advanced(r, START + 60)
    r2 = R.advanced(r, START + 7200)  # after the 1h minimum: 10% now, 50% a day later
    assert r2.percent(START + 7200) == 10 and r2.percent(START + 7200 + DAY) == 50
    p = R.paused(r2, START + 8000)
    assert p.percent(START + 10 * DAY) == 10 and p.status(START + 10 * DAY)["state"] == "paused"
    with pytest.raises(RolloutStateError, match="paused"):
        R.advanced(p, START + 10 * DAY)
    with pytest.raises(RolloutStateError, match="already paused"):
        R.paused(p, START + 9000)
    q = R.resumed(p, START + 5 * DAY)
    assert q.percent(START + 5 * DAY) == 10 and q.percent(START + 6 * DAY) == 50
    with pytest.raises(RolloutStateError, match="not paused"):
        R.resumed(q, START + 5 * DAY)
    h = R.halted(q, START + 5 * DAY + 1)
    assert h.percent(START) == 0 and h.percent(START + 100 * DAY) == 0  # whatever the device's clock says
    assert not h.admits(FLEET[0], START + 100 * DAY)
    for step in (R.advanced, R.paused, R.resumed, R.halted):
        with pytest.raises(RolloutStateError):
            step(h, START + 6 * DAY)
    last = R.advanced(R.advanced(R.advanced(a_rollout(min_seconds=0), START), START), START)
    with pytest.raises(RolloutStateError, match="last stage"):
        R.advanced(last, START)


@pytest.mark.parametrize("percents", [[], [0, 10], [10, 10], [50, 10], [1, 101], list(range(1, 19))])
def test_plan_refuses_bad_stages(percents: list[int]) -> None:
    with pytest.raises(UsageError):
        R.plan(CLASS, 5, percents, DAY, 0, START)


def test_admits_needs_identity_until_every_point_is_in() -> None:
    r = a_rollout()
    assert not r.admits(None, START + 2 * DAY) and r.admits(None, START + 3 * DAY)


def _valid() -> dict[str, Any]:
    return json.loads(a_rollout().to_bytes())


def _mutated(change: Any) -> bytes:
    obj = _valid()
    change(obj)
    return json.dumps(obj).encode()


@pytest.mark.parametrize("change", [
    lambda o: o.update(extra=1),
    lambda o: o.pop("salt"),
    lambda o: o.update(format=2),
    lambda o: o.update(type="other"),
    lambda o: o.update(release=1.0),
    lambda o: o.update(release=True),
    lambda o: o.update(release=-1),
    lambda o: o.update(salt="AB" * 32),
    lambda o: o.update(salt="ab" * 31),
    lambda o: o.update({"class-id": str(uuid.UUID(bytes=CLASS)).upper()}),
    lambda o: o.update({"every-seconds": 0}),
    lambda o: o.update(stages=[]),
    lambda o: o.update(stages=o["stages"] * 5),
    lambda o: o["stages"].reverse(),
    lambda o: o["stages"][1].update(bound=0),
    lambda o: o["stages"][0].update(percent=0),
    lambda o: o["stages"][0].update(bound=2**32 + 1),
    lambda o: o["stages"][0].update(start=2**41),
    lambda o: o["stages"][0].pop("min-seconds"),
    lambda o: o.update({"paused-at": "now"}),
    lambda o: o.update(stages="1,10"),
])
def test_parse_refuses_malformed_rollout_files(change: Any) -> None:
    with pytest.raises(RolloutInvalid):
        R.parse(_mutated(change))


@pytest.mark.parametrize("data", [b"", b"[]", b"\xff", b"{" * 3, b"1.5", b'{"a": NaN}', b" " * 5000])
def test_parse_refuses_non_rollout_bytes(data: bytes) -> None:
    with pytest.raises(RolloutInvalid):
        R.parse(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_parse_mutation_fuzz_fails_closed(data: st.DataObject) -> None:
    """Byte mutations of a valid file: a Rollout that re-encodes to a valid file, or RolloutInvalid, nothing else."""
    raw = bytearray(a_rollout().to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        r = R.parse(bytes(raw))
    except RolloutInvalid:
        return
    assert R.parse(r.to_bytes()) == r


# -- in the repository, over loopback HTTP ------------------------------------------------


@pytest.fixture
def fleet_repo(tmp_path: Path) -> dict[str, Any]:
    """Release 4 everywhere, release 5 published, a rollout role, and release 5's rollout started at T0."""
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 5))
    repo = Repository(repo_dir, now=clock)
    R.delegate_role(repo, [generate_key(repo_dir, "rollout-1")])
    repo.save()
    repo.publish()
    repo = Repository(repo_dir, now=clock)
    r = R.plan(CLASS, 5, STAGES, DAY, 3600, START, salt=SALT, fleet=FLEET)
    R.store(repo, r)
    repo.save()
    repo.publish()
    return {"clock": clock, "repo": repo_dir, "tmp": tmp_path, "root": (repo_dir / "trusted-root.json").read_bytes()}


def refreshed(w: dict[str, Any], at: int) -> None:
    """The repository's cron job: snapshot and timestamp re-signed shortly before ``at`` (they expire daily)."""
    clock: Clock = w["clock"]
    clock.t = dt.datetime.fromtimestamp(at - 600, dt.UTC)
    Repository(w["repo"], now=clock).refresh()


def device_update(w: dict[str, Any], url: str, i: int, at: int, current: int = 4) -> UpdateResult:
    work: Path = w["tmp"] / "fleet" / str(i)
    return fetch_update(url, w["root"], VENDOR, CLASS, current, [SUIT_KEY.trusted], work / "out", cache_dir=work / "cache",
                        now=dt.datetime.fromtimestamp(at, dt.UTC), device_id=FLEET[i])


def test_fleet_of_200_installs_stage_by_stage(fleet_repo: dict[str, Any]) -> None:
    """200 devices poll once per stage; the share that has installed follows each stage within 2 points."""
    installed: set[int] = set()
    rollout = R.load(Repository(fleet_repo["repo"]), CLASS)
    assert rollout is not None
    with served(fleet_repo["repo"]) as url:
        for k, pct in enumerate(STAGES):
            at = START + k * DAY + 3600
            refreshed(fleet_repo, at)
            for i in range(len(FLEET)):
                if i in installed:
                    continue
                res = device_update(fleet_repo, url, i, at)
                assert res.updated != res.held and res.rollout is not None and res.rollout["percent"] == pct
                if res.updated:
                    assert res.sequence == 5 and res.envelope_path is not None
                    installed.add(i)
            share = 100 * len(installed) / len(FLEET)
            assert abs(share - pct) <= 2.0, (pct, share)
            # Exactly the devices whose cohort point is inside the stage, and no other.
            assert installed == {i for i, d in enumerate(FLEET) if R.cohort(SALT, d) < rollout.stages[k].bound}


def test_halt_stops_every_further_install_within_one_refresh(fleet_repo: dict[str, Any]) -> None:
    clock: Clock = fleet_repo["clock"]
    installed: set[int] = set()
    with served(fleet_repo["repo"]) as url:
        at = START + DAY + 3600  # 10%
        refreshed(fleet_repo, at)
        for i in range(len(FLEET)):
            if device_update(fleet_repo, url, i, at).updated:
                installed.add(i)
        assert len(installed) == 20
        clock.advance(hours=2)
        repo = Repository(fleet_repo["repo"], now=clock)
        R.change(repo, CLASS, "halt", int(clock.t.timestamp()))
        repo.save()
        repo.publish()
        # Every device's next refresh, even past the time the later stages were scheduled for.
        refreshed(fleet_repo, START + 3 * DAY + 3600)
        for i in range(len(FLEET)):
            if i in installed:
                continue
            res = device_update(fleet_repo, url, i, START + 3 * DAY + 3600)
            assert not res.updated and res.held and res.rollout is not None and res.rollout["state"] == "halted"
        # Fix forward: release 6 under a new rollout; at its 100% stage every device moves on.
        add_and_publish(fleet_repo["repo"], clock, write_release(fleet_repo["tmp"] / "rel", 6))
        res = device_update(fleet_repo, url, 0, int(clock.t.timestamp()) + 60, current=5)
        assert res.held, "a halted rollout also holds newer releases until their own rollout starts"
        repo = Repository(fleet_repo["repo"], now=clock)
        R.start(repo, CLASS, 6, [100], DAY, 0, int(clock.t.timestamp()))
        repo.save()
        repo.publish()
        res = device_update(fleet_repo, url, 0, int(clock.t.timestamp()) + 60, current=5)
        assert res.updated and res.sequence == 6


def _rollout_signer(repo_dir: Path) -> Signer:
    repo = Repository(repo_dir)
    d = repo.current("targets").signed.delegations
    keyid = d.roles[R.ROLE].keyids[0]
    return load_signer(repo.config.signers[keyid], d.keys[keyid], repo_dir)


def _online_signer(repo_dir: Path, role: str) -> Signer:
    repo = Repository(repo_dir)
    root = repo.current("root").signed
    keyid = root.roles[role].keyids[0]
    return load_signer(repo.config.signers[keyid], root.keys[keyid], repo_dir)


def _republish_rollout_role(repo_dir: Path, md: Metadata[Any], signer: Signer) -> None:
    """What an attacker holding the online snapshot and timestamp keys publishes around a rollout role version."""
    meta = repo_dir / "public" / "metadata"
    md.signatures.clear()
    md.sign(signer)
    (meta / f"{md.signed.version}.{R.ROLE}.json").write_bytes(md.to_bytes(SERIALIZER))
    ts = Metadata.from_bytes((meta / "timestamp.json").read_bytes())
    snap = Metadata.from_bytes((meta / f"{ts.signed.snapshot_meta.version}.snapshot.json").read_bytes())
    snap.signed.version += 1
    snap.signed.meta[f"{R.ROLE}.json"] = MetaFile(version=md.signed.version)
    snap.signatures.clear()
    snap.sign(_online_signer(repo_dir, "snapshot"))
    data = snap.to_bytes(SERIALIZER)
    (meta / f"{snap.signed.version}.snapshot.json").write_bytes(data)
    ts.signed.version += 1
    ts.signed.snapshot_meta = MetaFile(version=snap.signed.version, length=len(data))
    ts.signatures.clear()
    ts.sign(_online_signer(repo_dir, "timestamp"))
    (meta / "timestamp.json").write_bytes(ts.to_bytes(SERIALIZER))


def _widened(repo_dir: Path) -> Metadata[Any]:
    """The published rollout role, next version, its rollout file replaced by one at 100% now (bytes stored)."""
    repo = Repository(repo_dir)
    md = Metadata.from_bytes(repo.published(R.ROLE).to_bytes(SERIALIZER))  # type: ignore[union-attr]
    md.signed.version += 1
    wide = R.plan(CLASS, 5, [100], DAY, 0, START, salt=SALT)
    path = R.rollout_path(CLASS)
    tf = TargetFile.from_data(path, wide.to_bytes(), ["sha256"])
    tf.unrecognized_fields["custom"] = {CUSTOM: {"type": "rollout", "release": 5}}
    md.signed.targets[path] = tf
    repo.layout.target_file(path, tf.hashes["sha256"]).write_bytes(wide.to_bytes())
    return md


def test_arbitrary_software_rollout_signed_by_wrong_key(fleet_repo: dict[str, Any]) -> None:
    """A server attacker (even with the online keys) widens the rollout to 100% but cannot sign as the rollout role."""
    _republish_rollout_role(fleet_repo["repo"], _widened(fleet_repo["repo"]), CryptoSigner.generate_ed25519())
    outside = next(i for i, d in enumerate(FLEET) if R.cohort(SALT, d) >= 2**32 // 2)
    with served(fleet_repo["repo"]) as url, pytest.raises(FwsignError) as exc:
        device_update(fleet_repo, url, outside, START + 3600)
    assert exc.value.reason == "tuf-signature"
    assert not (fleet_repo["tmp"] / "fleet" / str(outside) / "out").exists()


def test_arbitrary_software_control_widened_with_rollout_key_installs(fleet_repo: dict[str, Any]) -> None:
    """The same widened file signed with the rollout role's own key is accepted: the test above fails on the key alone."""
    _republish_rollout_role(fleet_repo["repo"], _widened(fleet_repo["repo"]), _rollout_signer(fleet_repo["repo"]))
    outside = next(i for i, d in enumerate(FLEET) if R.cohort(SALT, d) >= 2**32 // 2)
    with served(fleet_repo["repo"]) as url:
        assert device_update(fleet_repo, url, outside, START + 3600).updated


def test_rollback_attack_replays_older_rollout_version(fleet_repo: dict[str, Any]) -> None:
    """After a halt, a mirror serves the previous (not halted) rollout role version to hide it."""
    repo_dir: Path = fleet_repo["repo"]
    meta = repo_dir / "public" / "metadata"
    clock: Clock = fleet_repo["clock"]
    before = Repository(repo_dir).published(R.ROLE)
    assert before is not None
    old_version = before.signed.version
    with served(repo_dir) as url:
        assert device_update(fleet_repo, url, 0, START + 3600).rollout is not None  # the device has seen the rollout
        clock.advance(hours=1)
        repo = Repository(repo_dir, now=clock)
        R.change(repo, CLASS, "halt", int(clock.t.timestamp()))
        repo.save()
        repo.publish()
        new_version = Repository(repo_dir).published(R.ROLE).signed.version  # type: ignore[union-attr]
        (meta / f"{new_version}.{R.ROLE}.json").write_bytes((meta / f"{old_version}.{R.ROLE}.json").read_bytes())
        for i in range(3):
            with pytest.raises(FwsignError) as exc:
                device_update(fleet_repo, url, i, START + 3 * 3600)
            assert exc.value.reason == "tuf-rollback"


def test_rollout_role_cannot_add_or_change_firmware(fleet_repo: dict[str, Any], tmp_path: Path) -> None:
    """With the rollout key and the online keys, an attacker puts firmware entries into the rollout role: ignored."""
    repo_dir: Path = fleet_repo["repo"]
    refreshed(fleet_repo, START + 3 * DAY + 60)
    repo = Repository(repo_dir)
    md = Metadata.from_bytes(repo.published(R.ROLE).to_bytes(SERIALIZER))  # type: ignore[union-attr]
    md.signed.version += 1
    evil = make_envelope(99, b"malware" * 100)  # even correctly SUIT-signed
    other_class = uuid.uuid5(uuid.UUID(bytes=VENDOR), "other-class").bytes
    for path in (latest_path(CLASS), latest_path(other_class)):
        tf = TargetFile.from_data(path, evil, ["sha256"])
        tf.unrecognized_fields["custom"] = {CUSTOM: {"type": "suit-latest", "sequence": 99, "min-sequence": 0,
                                                     "payload": None}}
        md.signed.targets[path] = tf
        dest = repo.layout.target_file(path, tf.hashes["sha256"])
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(evil)
    _republish_rollout_role(repo_dir, md, _rollout_signer(repo_dir))
    with served(repo_dir) as url:
        res = device_update(fleet_repo, url, 0, START + 3 * DAY + 60)  # 100% stage: the genuine release 5
        assert res.updated and res.sequence == 5
        other = fetch_update(url, fleet_repo["root"], VENDOR, other_class, 0, [SUIT_KEY.trusted], tmp_path / "o",
                             now=dt.datetime.fromtimestamp(START + 3 * DAY + 60, dt.UTC), device_id=FLEET[1])
        assert not other.updated and other.sequence is None
    # Through fwsign itself the rollout role holds rollouts/* only.
    repo = Repository(repo_dir, now=fleet_repo["clock"])
    assert repo.owner_of(latest_path(CLASS)) == "targets" and repo.owner_of(R.rollout_path(CLASS)) == R.ROLE


def test_plain_python_tuf_ngclient_reads_rollouts(fleet_repo: dict[str, Any], tmp_path: Path) -> None:
    """python-tuf's ngclient alone: refresh, find and download the rollout file and the release."""
    from tuf.ngclient import Updater  # type: ignore[attr-defined]

    with served(fleet_repo["repo"]) as url:
        up = Updater(str(tmp_path / "meta"), url + "metadata/", str(tmp_path / "dl"), url + "targets/",
                     bootstrap=(fleet_repo["repo"] / "public/metadata/1.root.json").read_bytes())
        up._trusted_set.reference_time = T0 + dt.timedelta(hours=1)
        up.refresh()
        info = up.get_targetinfo(R.rollout_path(CLASS))
        assert info is not None
        doc = json.loads(Path(up.download_target(info)).read_bytes())
        assert doc["release"] == 5 and doc["salt"] == SALT.hex() and [s["percent"] for s in doc["stages"]] == STAGES
        latest = up.get_targetinfo(latest_path(CLASS))
        assert latest is not None and latest.custom[CUSTOM]["sequence"] == 5
        pay = up.get_targetinfo(latest.custom[CUSTOM]["payload"])
        assert pay is not None and pay.length == latest.custom[CUSTOM]["payload-length"]


def test_repository_refuses_rollouts_it_cannot_hold(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    repo = new_repo(repo_dir, clock)
    with pytest.raises(FwsignError, match="no rollout role"):
        R.start(repo, CLASS, 5, STAGES, DAY, 0, START)
    R.delegate_role(repo, [generate_key(repo_dir, "rollout-1")])
    with pytest.raises(FwsignError, match="already delegated"):
        R.delegate_role(repo, [generate_key(repo_dir, "rollout-2")])
    with pytest.raises(FwsignError, match="no release"):
        R.start(repo, CLASS, 5, STAGES, DAY, 0, START)
    repo.save()
    repo.publish()
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 5))
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 6))
    repo = Repository(repo_dir, now=clock)
    with pytest.raises(FwsignError, match="not the class's newest"):
        R.start(repo, CLASS, 5, STAGES, DAY, 0, START)
    with pytest.raises(FwsignError, match="not in the repository"):
        R.start(repo, CLASS, 7, STAGES, DAY, 0, START)
    R.start(repo, CLASS, 6, STAGES, DAY, 0, START)
    with pytest.raises(RolloutStateError, match="already rolling out"):
        R.start(repo, CLASS, 6, STAGES, DAY, 0, START)
    bins_dir = tmp_path / "bins"
    bins = new_repo(bins_dir, clock, bin_bits=2)
    with pytest.raises(FwsignError, match="hash bins"):
        R.delegate_role(bins, [generate_key(bins_dir, "rollout-1")])


# -- the command line ------------------------------------------------------------------


def test_rollout_cli_end_to_end(tmp_path: Path) -> None:
    """rollout init/start/status/advance/pause/resume/halt, then fwsign update --device-id held and admitted."""
    repo_dir = tmp_path / "r"
    assert fwsign("repo", "init", repo_dir).code == 0
    rel = write_release(tmp_path / "rel", 5)
    r = fwsign("repo", "add", repo_dir, rel.envelope, "--payload", rel.payload, "--suit-key", suit_pub(tmp_path), "--publish")
    assert r.code == 0, r.err
    r = fwsign("rollout", "init", repo_dir)
    assert r.code == 0 and "rollouts/*" in r.out, r.err
    assert (repo_dir / "keys" / "rollout-1.pem").stat().st_mode & 0o777 == 0o600
    cls = str(uuid.UUID(bytes=CLASS))
    assert fwsign("rollout", "start", repo_dir, cls, "5", "--stages", "50,10").code == 2
    assert fwsign("rollout", "start", repo_dir, cls, "5", "--every", "soon").code == 2
    assert fwsign("rollout", "start", repo_dir, "no-such-class", "5").code == 2
    fleet = tmp_path / "fleet.txt"
    fleet.write_text("# pumps\n" + "\n".join(str(uuid.UUID(bytes=d)) for d in FLEET) + "\n")
    r = fwsign("rollout", "start", repo_dir, cls, "5", "--stages", "1,10,50,100", "--every", "24h",
               "--min-stage", "1h", "--fleet", fleet, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["state"] == "rolling-out" and json.loads(r.out)["percent"] == 1
    r = fwsign("rollout", "advance", repo_dir, cls)
    assert r.code == 1 and "rollout-state" in r.err and "minimum time" in r.err
    r = fwsign("rollout", "status", repo_dir, "--json")
    rows = json.loads(r.out)["rollouts"]
    assert r.code == 0 and rows[0]["release"] == 5 and rows[0]["stage"] == 1 and rows[0]["stages"] == 4
    inside = next(d for d in FLEET if R.cohort(bytes.fromhex(R.parse(_published_rollout(repo_dir)).salt), d)
                  < R.parse(_published_rollout(repo_dir)).stages[0].bound)
    outside = next(d for d in FLEET if d != inside)
    with served(repo_dir) as url:
        base = ["update", "--repo", url, "--trusted-root", repo_dir / "trusted-root.json", *IDENTITY,
                "--current-sequence", "4", "--suit-key", suit_pub(tmp_path), "--json"]
        r = fwsign(*base, "--out", tmp_path / "o1", "--device-id", str(uuid.UUID(bytes=outside)))
        assert r.code == 3 and json.loads(r.out)["status"] == "held", r.out + r.err
        assert not (tmp_path / "o1").exists()
        r = fwsign(*base, "--out", tmp_path / "o2", "--device-id", str(uuid.UUID(bytes=inside)))
        assert r.code == 0 and json.loads(r.out)["status"] == "updated", r.out + r.err
        r = fwsign(*base, "--out", tmp_path / "o3")
        assert r.code == 3 and json.loads(r.out)["status"] == "held"
        assert fwsign(*base, "--out", tmp_path / "o4", "--device-id", "not-a-uuid").code == 2
    assert fwsign("rollout", "pause", repo_dir, cls).code == 0
    assert fwsign("rollout", "pause", repo_dir, cls).code == 1
    assert fwsign("rollout", "resume", repo_dir, cls).code == 0
    r = fwsign("rollout", "halt", repo_dir, cls)
    assert r.code == 0 and "halted" in r.out
    r = fwsign("rollout", "status", repo_dir, cls)
    assert r.code == 0 and "halted" in r.out and "0% of devices" in r.out
    assert fwsign("rollout", "advance", repo_dir, cls).code == 1
    log = (repo_dir / "audit.log").read_text()
    for action in ("rollout-init", "rollout-start", "rollout-pause", "rollout-resume", "rollout-halt"):
        assert f'"action":"{action}"' in log


def _published_rollout(repo_dir: Path) -> bytes:
    repo = Repository(repo_dir)
    tf = repo.get_target(R.rollout_path(CLASS))
    assert tf is not None
    return repo.target_bytes(tf)
