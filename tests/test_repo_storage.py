"""The split repository parts: canonical encoding and sealing, storage, ingest, the planner."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.formats import encode_canonical  # type: ignore[attr-defined]
from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]

from fwsign.errors import RepoError, UsageError
from fwsign.repo import planner, seal
from fwsign.repo.storage import FileStorage, ingest

# Text that exercises both encoders' differences: quotes, backslashes, control characters,
# non-ASCII, and digits next to '.'/'e' inside strings (not floats).
_text = st.text(alphabet=st.sampled_from(list('ab"\\\n\t\x00\x1f/.:,[e0129\u00e9\u4e2d\U0001f600 ')), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_text, _json, max_size=5))
def test_canonical_bytes_equal_securesystemslib(obj: dict[str, Any]) -> None:
    assert seal.canonical_bytes(obj) == encode_canonical(obj).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_text, _json, max_size=5))
def test_metadata_file_parses_back_to_the_signed_bytes(obj: dict[str, Any]) -> None:
    payload = seal.canonical_bytes(obj)
    parsed = json.loads(seal.metadata_file(payload, {}))
    assert parsed["signatures"] == [] and seal.canonical_bytes(parsed["signed"]) == payload


@pytest.mark.parametrize("value", [1.5, -0.0, 1e16, float("nan"), float("inf")])
def test_canonical_bytes_refuses_floats(value: float) -> None:
    with pytest.raises(RepoError, match="canonical JSON"):
        seal.canonical_bytes({"a": [1, {"b": value}]})


def test_seal_signs_the_bytes_it_writes() -> None:
    signer = CryptoSigner.generate_ed25519()
    keyid = signer.public_key.keyid
    sealed = seal.seal("targets", {"_type": "targets", "version": 3, "x": "\u00e9"}, {keyid: signer})
    parsed = json.loads(sealed.data)
    assert parsed["signed"] == {"_type": "targets", "version": 3, "x": "\u00e9"} and sealed.version == 3
    assert seal.count_valid(sealed.signed, {keyid: sealed.signatures[0]}, {keyid: signer.public_key}) == 1
    assert seal.count_valid(sealed.signed + b" ", {keyid: sealed.signatures[0]}, {keyid: signer.public_key}) == 0


def test_ingest_reads_once_and_hashes_what_it_copied(tmp_path: Path) -> None:
    src = tmp_path / "fw.bin"
    data = bytes(range(256)) * 5000
    src.write_bytes(data)
    got = ingest(src, tmp_path / "work")
    assert got.sha256 == hashlib.sha256(data).hexdigest() and got.length == len(data)
    src.write_bytes(b"changed after the copy")  # a later change to the source does not reach the copy
    assert got.path.read_bytes() == data and (got.path.stat().st_mode & 0o777) == 0o600
    store = FileStorage(tmp_path / "public")
    store.put_file("targets/c/x.bin", got.path)
    store.flush()
    assert store.read("targets/c/x.bin") == data and not got.path.exists()
    with pytest.raises(UsageError, match="over 10 bytes"):
        ingest(src, tmp_path / "work", max_bytes=10)
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize("name", ["../x", "metadata/../../x", "/etc/passwd", "metadata/.hidden", "", "a//b", "a\\b"])
def test_storage_refuses_names_outside_the_tree(tmp_path: Path, name: str) -> None:
    store = FileStorage(tmp_path / "public")
    with pytest.raises(UsageError):
        store.put(name, b"x")
    assert not (tmp_path / "x").exists()


def test_planner_snapshot_timestamp_and_order() -> None:
    exp = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    snap = planner.next_snapshot(None, {"targets": 1, "bins-0": 1}, exp, {"seq": 1, "hash": "00"})
    assert snap.version == 1 and set(snap.meta) == {"targets.json", "bins-0.json"}
    snap2 = planner.next_snapshot(snap, {"bins-0": 2}, exp, {"seq": 2, "hash": "11"})
    assert snap2.version == 2 and snap2.meta["bins-0.json"].version == 2 and snap2.meta["targets.json"].version == 1
    assert snap.meta["bins-0.json"].version == 1  # the old plan is not changed
    ts = planner.next_timestamp(4, 2, b"snapshot bytes", exp)
    assert ts.version == 5 and ts.snapshot_meta.hashes == {"sha256": hashlib.sha256(b"snapshot bytes").hexdigest()}
    order = planner.write_order(["timestamp.json", "3.snapshot.json", "2.bins-0.json", "2.root.json", "4.targets.json"])
    assert order == ["2.root.json", "2.bins-0.json", "4.targets.json", "3.snapshot.json", "timestamp.json"]
    sample = planner.client_sample({f"bins-{i:02x}": [f"p{i}", "q"] for i in range(20)} | {"empty": []}, limit=3)
    assert sample == ["p0", "p1", "p2"]


def test_file_storage_lists_and_reads_what_it_stored(tmp_path: Path) -> None:
    store = FileStorage(tmp_path / "public")
    assert store.list("metadata") == []
    store.put("metadata/2.root.json", b"b")
    store.put("metadata/1.root.json", b"a")
    store.put_visible("metadata/timestamp.json", b"t")
    (tmp_path / "public/metadata/.x.tmp").write_bytes(b"partial")  # an interrupted write is not an entry
    assert store.list("metadata") == ["1.root.json", "2.root.json", "timestamp.json"]
    assert store.read("metadata/2.root.json") == b"b" and store.exists("metadata/timestamp.json")
    with pytest.raises(RepoError, match="cannot read"):
        store.read("metadata/3.root.json")
