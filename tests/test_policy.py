"""Release policy files: parsing, k-of-n per class, algorithms, and their use by verify, repo add and update."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fwsign.errors import PolicyError, PolicyFileError
from fwsign.keys import encode_cose_key, key_id, public_pem
from fwsign.policy import parse_policy
from fwsign.suit.ids import class_uuid, vendor_uuid

from .conftest import KEYS, Result
from .tuf_helpers import payload_for, served

Run = Callable[..., Result]
IDENTITY = ("--vendor-domain", "example.com", "--class-name", "pump")
VENDOR = vendor_uuid("example.com")


def _write_keys(d: Path) -> None:
    (d / "keys").mkdir(exist_ok=True)
    for kind in ("ed25519", "p256", "p384"):
        (d / "keys" / f"{kind}.pub.pem").write_bytes(public_pem(KEYS[kind].trusted.key))
        (d / "keys" / f"{kind}.cose").write_bytes(encode_cose_key(KEYS[kind].trusted.key))


def _policy(d: Path, extra: str = "") -> Path:
    _write_keys(d)
    p384_kid = key_id(KEYS["p384"].trusted.key).hex()
    text = f"""
version = 1

[keys]
alice = {{ file = "keys/ed25519.pub.pem" }}
bob = {{ file = "keys/p256.pub.pem" }}
carol = {{ kid = "{p384_kid}" }}

[defaults]
algorithms = ["ed25519", "esp256", "esp384"]

[[class]]
vendor-domain = "example.com"
class-name = "pump"
signers = ["alice", "bob", "carol"]
threshold = 2

[[class]]
vendor-domain = "example.com"
signers = ["alice"]
algorithms = ["esp256"]
{extra}
"""
    path = d / "policy.toml"
    path.write_text(text)
    return path


@pytest.fixture
def fw(tmp_path: Path, key_files: dict[str, tuple[Path, Path]]) -> Path:
    path = tmp_path / "fw.bin"
    path.write_bytes(payload_for(5))
    return path


def _sign(cli: Run, fw: Path, out: str, keys: list[Path], identity: tuple[str, ...] = IDENTITY, seq: int = 5) -> None:
    args: list[object] = ["sign", fw, "-o", out, "--sequence", str(seq), *identity]
    if keys:
        for k in keys:
            args += ["-k", k]
    else:
        args.append("--unsigned")
    res = cli(*args)
    assert res.code == 0, res.err


def test_rules_choose_the_most_specific_and_fail_closed(tmp_path: Path) -> None:
    pol = parse_policy(_policy(tmp_path).read_bytes(), base_dir=tmp_path)
    pump = class_uuid(VENDOR, "pump")
    assert pol.rule_for(VENDOR, pump).threshold == 2
    vendor_wide = pol.rule_for(VENDOR, class_uuid(VENDOR, "other"))
    assert vendor_wide.signers == ("alice",) and vendor_wide.algorithms == frozenset({-9})
    with pytest.raises(PolicyError) as info:
        pol.rule_for(vendor_uuid("other.example"), pump)
    assert info.value.reason == "policy-no-rule"


@pytest.mark.parametrize(("text", "fragment"), [
    ("version = 2\n[keys]\na={file='x'}\n[[class]]\nsigners=['a']", "unsupported policy version"),
    ("[keys]\na={file='x'}\n[[class]]\nsigners=['b']", "unknown key(s) b"),
    ("[keys]\na={file='x'}\n[[class]]\nsigners=['a']\nthreshold=2", "threshold must be between 1 and the 1"),
    ("[keys]\na={file='x'}\n[[class]]\nsigners=['a']\nalgorithms=['rsa']", "unknown algorithm"),
    ("[keys]\na={file='x'}\n[[class]]\nsigners=['a']\nsigner=['a']", "unknown setting(s) signer"),
    ("[keys]\na={}\n[[class]]\nsigners=['a']", "needs file"),
    ("[keys]\na={kid='zz'}\n[[class]]\nsigners=['a']", "kid is not hex"),
    ("[keys]\na={file='x'}\n[[class]]\nclass-name='pump'\nsigners=['a']", "class-name needs vendor"),
    ("[keys]\na={file='x'}\n[[class]]\nsigners=['a']\n[[class]]\nsigners=['a']", "repeats the identity"),
    ("[keys\n", "not valid TOML"),
    ("[keys]\na={file='x'}\n", "[[class]] rules"),
])
def test_malformed_policies_are_refused_naming_the_setting(text: str, fragment: str) -> None:
    with pytest.raises(PolicyFileError) as info:
        parse_policy(text.encode())
    assert fragment in info.value.message
    assert info.value.exit_code == 2


def test_verify_policy_needs_two_of_three_for_the_class(cli: Run, tmp_path: Path, fw: Path,
                                                       key_files: dict[str, tuple[Path, Path]]) -> None:
    pol = _policy(tmp_path)
    _sign(cli, fw, "one.suit", [key_files["ed25519"][0]])
    res = cli("verify", "one.suit", "--policy", pol)
    assert res.code == 1 and "1 trusted key(s) verified, 2 required" in res.err
    res = cli("sign-envelope", "one.suit", "-k", key_files["p256"][0], "-o", "two.suit")
    assert res.code == 0, res.err
    res = cli("verify", "two.suit", "--policy", pol)
    assert res.code == 0, res.err + res.out
    assert "2 of 3 signer(s)" in res.out
    # carol is named by kid only: her signature counts once -k supplies the public key.
    _sign(cli, fw, "ac.suit", [key_files["ed25519"][0], key_files["p384"][0]])
    res = cli("verify", "ac.suit", "--policy", pol)
    assert res.code == 1 and "1 trusted key(s) verified, 2 required" in res.err
    res = cli("verify", "ac.suit", "--policy", pol, "-k", key_files["p384"][1])
    assert res.code == 0, res.err + res.out


def test_policy_algorithms_and_class_identity_are_enforced(cli: Run, tmp_path: Path, fw: Path,
                                                          key_files: dict[str, tuple[Path, Path]]) -> None:
    pol = _policy(tmp_path)
    # The vendor-wide rule allows only ESP256; alice's Ed25519 signature is refused by algorithm.
    _sign(cli, fw, "other.suit", [key_files["ed25519"][0]], ("--vendor-domain", "example.com", "--class-name", "other"))
    res = cli("verify", "other.suit", "--policy", pol, "--json")
    assert res.code != 0
    assert json.loads(res.out)["reason"] == "unsupported"
    # A class no rule covers is rejected outright.
    _sign(cli, fw, "foreign.suit", [key_files["ed25519"][0]], ("--vendor-domain", "other.example", "--class-name", "pump"))
    res = cli("verify", "foreign.suit", "--policy", pol)
    assert res.code == 1 and "policy-no-rule" in res.err
    res = cli("verify", "foreign.suit", "--policy", pol, "--threshold", "2")
    assert res.code == 2


def test_repo_add_refuses_a_release_below_the_policy_threshold(cli: Run, tmp_path: Path, fw: Path,
                                                               key_files: dict[str, tuple[Path, Path]]) -> None:
    pol = _policy(tmp_path)
    assert cli("repo", "init", "repo").code == 0
    _sign(cli, fw, "rel.suit", [])  # the ceremony starts from an unsigned envelope
    res = cli("repo", "add", "repo", "rel.suit", "--payload", fw, "--policy", pol)
    assert res.code == 1 and "no-trusted-key" in res.err
    assert cli("sign-envelope", "rel.suit", "-k", key_files["ed25519"][0]).code == 0
    res = cli("repo", "add", "repo", "rel.suit", "--payload", fw, "--policy", pol)
    assert res.code == 1 and "2 required" in res.err
    assert cli("sign-envelope", "rel.suit", "-k", key_files["p256"][0]).code == 0
    res = cli("repo", "add", "repo", "rel.suit", "--payload", fw, "--policy", pol, "--publish")
    assert res.code == 0, res.err
    # The client applies the same policy.
    args = ["update", "--trusted-root", "repo/trusted-root.json", *IDENTITY, "--out", "out", "--current-sequence", "1",
            "--policy", pol, "--json"]
    with served(tmp_path / "repo") as url:
        res = cli(*args, "--repo", url)
        assert res.code == 0, res.err
        assert json.loads(res.out)["sequence"] == 5
    # A stricter policy on the device (three signatures) refuses the same release.
    strict = tmp_path / "strict.toml"
    strict.write_text(pol.read_text().replace("threshold = 2", "threshold = 3"))
    with served(tmp_path / "repo") as url:
        res = cli("update", "--trusted-root", "repo/trusted-root.json", *IDENTITY, "--out", "out2", "--current-sequence", "1",
                  "--policy", strict, "--suit-key", key_files["p384"][1], "--repo", url)
        assert res.code == 1 and "no-trusted-key" in res.err
    assert not (tmp_path / "out2").exists()


def test_attack_hybrid_policy_refuses_an_envelope_missing_either_signature(cli: Run, tmp_path: Path, fw: Path,
                                                                          key_files: dict[str, tuple[Path, Path]]) -> None:
    """A migration to post-quantum signatures without a flag day: the hybrid rule requires the
    classical AND the post-quantum signature; a stripped envelope (either block removed) is refused."""
    assert cli("keygen", "--alg", "hss-lms", "--lms-height", "5", "-o", "pq").code == 0
    assert cli("keygen", "--alg", "ml-dsa-44", "-o", "mldsa").code == 0
    _write_keys(tmp_path)
    (tmp_path / "policy.toml").write_text("""
version = 1
[keys]
classic = { file = "keys/ed25519.pub.pem" }
pq = { file = "pq.cose" }
lattice = { file = "mldsa.pub.pem" }
[[class]]
vendor-domain = "example.com"
class-name = "pump"
signers = ["classic", "pq", "lattice"]
require-algorithms = ["ed25519", "hss-lms"]
""")
    _sign(cli, fw, "hybrid.suit", [key_files["ed25519"][0], tmp_path / "pq.hss"])
    res = cli("verify", "hybrid.suit", "--policy", "policy.toml")
    assert res.code == 0, res.err + res.out
    _sign(cli, fw, "classic.suit", [key_files["ed25519"][0]])
    _sign(cli, fw, "pq.suit", [tmp_path / "pq.hss"])
    _sign(cli, fw, "lattice.suit", [key_files["ed25519"][0], tmp_path / "mldsa.pem"])
    for name, missing in (("classic.suit", "HSS-LMS"), ("pq.suit", "Ed25519"), ("lattice.suit", "HSS-LMS")):
        res = cli("verify", name, "--policy", "policy.toml", "--json")
        assert res.code == 1, name
        out = json.loads(res.out)
        assert out["reason"] == "no-trusted-key" and f"none with {missing}" in out["error"], name
    # The same rule through the device's C verifier (--engine bootref): same verdicts.
    res = cli("verify", "hybrid.suit", "--policy", "policy.toml", "--engine", "bootref")
    assert res.code == 0, res.err + res.out
    res = cli("verify", "classic.suit", "--policy", "policy.toml", "--engine", "bootref", "--json")
    assert res.code == 1 and json.loads(res.out)["reason"] == "no-trusted-key"


@pytest.mark.parametrize("extra,fragment", [
    ("require-algorithms = []", "require-algorithms must be a non-empty list"),
    ("require-algorithms = ['rot13']", "require-algorithms: unknown algorithm"),
    ("require-algorithms = ['hss-lms']\nalgorithms = ['ed25519']", "must also be in algorithms"),
])
def test_malformed_hybrid_rules_are_refused(extra: str, fragment: str) -> None:
    text = f"[keys]\na={{file='x'}}\n[[class]]\nsigners=['a']\n{extra}\n"
    with pytest.raises(PolicyFileError) as info:
        parse_policy(text.encode())
    assert fragment in info.value.message


def test_hybrid_rule_needs_a_signer_for_each_algorithm(tmp_path: Path) -> None:
    _write_keys(tmp_path)
    pol = parse_policy(b"[keys]\na={file='keys/ed25519.pub.pem'}\n[[class]]\nsigners=['a']\n"
                       b"require-algorithms=['ed25519','ml-dsa-44']\n", base_dir=tmp_path)
    with pytest.raises(PolicyFileError) as info:
        pol.verify_policy(pol.rules[0])
    assert "ML-DSA-44" in info.value.message
