"""Stateful HSS-LMS keys: no one-time index is ever used twice (fwsign.stateful).

The attacks these tests are named after: a one-time key reused after a crash (the state
was written after the signature, or not at all), by two signers at once (no lock or
reservation), or from a copied key file; and an exhausted key silently wrapping around.
Real processes are killed with SIGKILL and real files are fsynced; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fwsign import audit
from fwsign.errors import AuditLogError, KeyExhausted, KeyLoadError, KeyStateError
from fwsign.pq import hsslms as H
from fwsign.stateful import HssKeyFile, HssParams, HssSigner, decode_key, keygen_files

ROOT = Path(__file__).resolve().parent.parent


def _key(tmp_path: Path, height: int | tuple[int, ...] = 5, w: int = 4, name: str = "rel") -> Path:
    params = HssParams.of(height, w)
    keygen_files(tmp_path / name, params)
    return tmp_path / f"{name}.hss"


def _index(params: HssParams, sig: bytes) -> int:
    index = H.hss_signature_index(params.levels, sig)
    assert index is not None
    return index


def test_keygen_writes_a_0600_key_and_reports_capacity(tmp_path: Path) -> None:
    state, files = keygen_files(tmp_path / "k", HssParams.of(5, 4, 2))
    assert [f.name for f in files] == ["k.hss", "k.cose"]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert state.params.capacity == 1024 and state.next_index == 0
    assert b"SEED" not in files[0].read_bytes() and state.seed not in files[0].read_bytes()  # base64, never raw
    assert "seed" not in repr(state) and state.seed.hex() not in repr(state)


def test_reservation_is_on_disk_before_it_returns(tmp_path: Path) -> None:
    key = _key(tmp_path)
    res = HssKeyFile(key).reserve(5)
    assert (res.first, res.count) == (0, 5)
    assert decode_key(key.read_bytes()).next_index == 5  # a fresh read of the file, as a crash would leave it
    res = HssKeyFile(key).reserve(3)
    assert (res.first, res.count) == (5, 3)


def test_signer_uses_each_reserved_index_once_in_order(tmp_path: Path) -> None:
    key = _key(tmp_path)
    signer = HssSigner(key, block=4)
    params = HssKeyFile(key).read().params
    indices = [_index(params, signer.sign(b"m%d" % i)) for i in range(6)]
    assert indices == [0, 1, 2, 3, 4, 5]
    assert HssKeyFile(key).read().next_index == 8  # two blocks of 4 taken
    assert signer.unused_reserved() == 2


def test_exhausted_key_refuses_with_its_own_reason(tmp_path: Path) -> None:
    key = _key(tmp_path)  # H5: 32 signatures
    signer = HssSigner(key, block=8, warn=lambda m: None)
    for i in range(32):
        signer.sign(b"%d" % i)
    with pytest.raises(KeyExhausted) as exc:
        signer.sign(b"one more")
    assert exc.value.reason == "key-exhausted"
    with pytest.raises(KeyExhausted):
        HssSigner(key).sign(b"from a new signer")
    assert HssKeyFile(key).read().next_index == 32


def test_last_block_is_cut_to_what_is_left(tmp_path: Path) -> None:
    key = _key(tmp_path)
    HssKeyFile(key).reserve(30)
    res = HssKeyFile(key).reserve(10)
    assert (res.first, res.count) == (30, 2)


def test_warns_from_ninety_percent_on(tmp_path: Path) -> None:
    key = _key(tmp_path)
    warnings: list[str] = []
    signer = HssSigner(key, warn=warnings.append)
    for i in range(28):  # 28 / 32 = 87.5 %
        signer.sign(b"%d" % i)
    assert warnings == []
    signer.sign(b"29th")  # 29 / 32 = 90.6 %
    assert len(warnings) == 1 and "90.6 %" in warnings[0] and "3 left" in warnings[0]


def test_damaged_key_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    import base64

    from fwsign import cbor

    key = _key(tmp_path)
    good = key.read_bytes()
    body = base64.b64decode(b"".join(good.splitlines()[1:-1]))
    doc = dict(cbor.loads(body))

    def pem(raw: bytes) -> bytes:
        return b"-----BEGIN FWSIGN HSS-LMS PRIVATE KEY-----\n" + base64.encodebytes(raw) + b"-----END FWSIGN HSS-LMS PRIVATE KEY-----\n"

    damaged = [pem(body[:-7]), pem(body + b"\x00"), pem(b"\xa0"), good.replace(b"-----END", b"=====END"),
               pem(cbor.dumps({**doc, 6: 33})), pem(cbor.dumps({**doc, 6: -1})), pem(cbor.dumps({**doc, 2: [[5, 99]]})),
               pem(cbor.dumps({**doc, 1: 2})), pem(cbor.dumps({**doc, 7: 0}))]
    for data in damaged:
        key.write_bytes(data)
        with pytest.raises((KeyStateError, KeyLoadError)) as exc:
            HssSigner(key).sign(b"x")
        assert doc[4].hex() not in str(exc.value)


def test_attack_secret_swapped_under_a_public_key_is_refused(tmp_path: Path) -> None:
    a, b = _key(tmp_path, name="a"), _key(tmp_path, name="b")
    sa, sb = decode_key(a.read_bytes()), decode_key(b.read_bytes())
    # a's public key with b's secret: signatures would not verify; the signer must notice first.
    from fwsign.stateful import HssKeyState, _encode

    a.write_bytes(_encode(HssKeyState(sa.params, sa.i_id, sb.seed, sa.public_key, 0)))
    (tmp_path / "a.hss.trees").unlink()
    with pytest.raises(KeyStateError):
        HssSigner(a).sign(b"x")


def test_damaged_tree_cache_never_yields_a_bad_signature(tmp_path: Path) -> None:
    key = _key(tmp_path)
    cache = tmp_path / "rel.hss.trees"
    data = bytearray(cache.read_bytes())
    data[-40] ^= 0xFF  # one node of the cached top tree
    cache.write_bytes(bytes(data))
    signer = HssSigner(key)
    pub = signer.public_key
    for i in range(4):
        assert H.hss_verify(pub, b"%d" % i, signer.sign(b"%d" % i))


_CHILD = """
import os, signal, sys
from pathlib import Path
from fwsign.stateful import HssSigner
key, out, mode, count, block = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def die(res):
    os.kill(os.getpid(), signal.SIGKILL)
signer = HssSigner(key, block=block, warn=lambda m: None, after_reserve=die if mode == "die-after-reserve" else None)
tag = f"{os.getpid()}"
for i in range(count):
    sig = signer.sign(b"release %s-%d" % (tag.encode(), i))
    tmp = out / f".{tag}-{i}.tmp"
    tmp.write_bytes(sig)
    os.replace(tmp, out / f"{tag}-{i}.sig")
print("done", flush=True)
"""


def _spawn(key: Path, out: Path, mode: str, count: int, block: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(key), str(out), mode, str(count), str(block)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _released(out: Path, params: HssParams, pub: bytes) -> list[int]:
    """The one-time index of every signature that came out; each must verify for its message."""
    indices = []
    for f in sorted(out.glob("*.sig")):
        sig = f.read_bytes()
        tag, _, i = f.stem.partition("-")
        assert H.hss_verify(pub, b"release %s-%s" % (tag.encode(), i.encode()), sig), f
        indices.append(_index(params, sig))
    return indices


def test_attack_signer_killed_between_state_write_and_signature_never_reuses_an_index(tmp_path: Path) -> None:
    key = _key(tmp_path, (5, 5))
    out = tmp_path / "out"
    out.mkdir()
    # The signer reserves index 0, the state reaches the disk, and the process is killed
    # before it computes or releases a signature.
    p = _spawn(key, out, "die-after-reserve", 1, 1)
    p.communicate(timeout=120)
    assert p.returncode == -signal.SIGKILL
    assert list(out.glob("*.sig")) == []
    assert HssKeyFile(key).read().next_index == 1
    st = HssKeyFile(key).read()
    sig = HssSigner(key).sign(b"after the crash")
    assert _index(st.params, sig) == 1  # index 0 is burnt, never handed out again

    # Killed at random moments while signing: whatever came out, no index twice, and the
    # state is always past every index released.
    rng = random.Random(20)
    for _ in range(6):
        p = _spawn(key, out, "sign", 40, 3)
        time.sleep(rng.uniform(0.4, 1.5))
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=120)
    indices = [*_released(out, st.params, st.public_key), 1]
    assert len(indices) == len(set(indices))
    assert max(indices) < HssKeyFile(key).read().next_index


def test_attack_two_concurrent_signers_1000_signatures_1000_distinct_indices(tmp_path: Path) -> None:
    key = _key(tmp_path, (5, 5))  # 1024 one-time keys, a new bottom tree every 32
    out = tmp_path / "out"
    out.mkdir()
    procs = [_spawn(key, out, "sign", 500, 7) for _ in range(2)]
    for p in procs:
        _stdout, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr.decode()[-2000:]
    st = HssKeyFile(key).read()
    indices = _released(out, st.params, st.public_key)
    assert len(indices) == 1000
    assert len(set(indices)) == 1000
    assert st.next_index == 1008  # 2 x 72 blocks of 7: the 4 unused of each last block are burnt


def test_attack_copied_key_file_reuse_is_caught_by_the_audit_log(tmp_path: Path) -> None:
    key = _key(tmp_path)
    copy = tmp_path / "copy.hss"
    copy.write_bytes(key.read_bytes())  # a restored backup, or a second machine
    log = tmp_path / "audit.log"
    for k in (key, copy):
        signer = HssSigner(k)
        signer.sign(b"release")
        assert signer.kid is not None and signer.last_index == 0
        audit.append(log, "sign", key_ids=[signer.kid.hex()], details={"hss-index": {signer.kid.hex(): signer.last_index}})
    with pytest.raises(AuditLogError) as exc:
        audit.verify_log(log)
    assert exc.value.reason == "key-state-invalid" and "index 0 twice" in str(exc.value)


def test_cli_keygen_sign_audit_and_exhaustion(tmp_path: Path) -> None:
    from fwsign.cli.main import run as cli

    def run(*args: str) -> int:
        return cli(list(args))

    base = str(tmp_path / "rel")
    assert run("keygen", "--alg", "hss-lms", "--lms-height", "5", "-o", base) == 0
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x01" * 300)
    log = tmp_path / "a.log"
    for i in range(32):
        assert run("sign", str(fw), "-k", base + ".hss", "--alg", "hss-lms", "--sequence", str(i),
                   "--vendor-domain", "example.com", "--class-name", "pump", "--uri", "https://x/fw",
                   "-o", str(tmp_path / f"fw{i}.suit"), "--audit-log", str(log)) == 0
    code = run("sign", str(fw), "-k", base + ".hss", "--sequence", "99", "--vendor-domain", "example.com",
               "--class-name", "pump", "--uri", "https://x/fw", "-o", str(tmp_path / "late.suit"))
    assert code == 2
    assert not (tmp_path / "late.suit").exists()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(next(iter(r["details"]["hss-index"].values())) for r in records) == list(range(32))
    audit.verify_log(log)
    assert run("verify", str(tmp_path / "fw31.suit"), "-k", base + ".cose", "--image", str(fw)) == 0


def test_cli_keygen_refuses_undefined_parameter_sets_and_overwrites(tmp_path: Path) -> None:
    from fwsign.cli.main import run as cli

    base = str(tmp_path / "k")
    assert cli(["keygen", "--alg", "hss-lms", "--lms-height", "7", "-o", base]) == 2
    assert cli(["keygen", "--alg", "hss-lms", "--lms-height", "5", "--levels", "9", "-o", base]) == 2
    assert cli(["keygen", "--alg", "hss-lms", "--lms-height", "20", "--levels", "2", "-o", base]) == 2  # 2^40: above 2^35
    assert not (tmp_path / "k.hss").exists()
    assert cli(["keygen", "--alg", "hss-lms", "--lms-height", "5", "-o", base]) == 0
    before = (tmp_path / "k.hss").read_bytes()
    assert cli(["keygen", "--alg", "hss-lms", "--lms-height", "5", "-o", base]) == 2  # never replaces a key's state
    assert (tmp_path / "k.hss").read_bytes() == before
    # a classical key cannot sign as HSS-LMS
    assert cli(["keygen", "--alg", "ed25519", "-o", str(tmp_path / "ed")]) == 0
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"x")
    assert cli(["sign", str(fw), "-k", str(tmp_path / "ed.pem"), "--alg", "hss-lms", "--sequence", "1",
                "--vendor-domain", "example.com", "--class-name", "c", "-o", str(tmp_path / "o.suit")]) == 2
