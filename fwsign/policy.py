"""Release policy files: who may sign which device classes, how many signatures, which algorithms.

A policy is a small TOML file that the release verifier (``fwsign verify --policy``), the
repository (``fwsign repo add --policy``) and the update client (``fwsign update --policy``)
all read, so the same rule holds at each step::

    version = 1

    [keys]
    alice = { file = "keys/alice.pub.pem" }      # public PEM or COSE_Key, relative to this file
    bob   = { file = "keys/bob.pub.pem" }
    hsm   = { file = "keys/release-2026.pub.pem", kid = "dfe9604d49d41daa" }  # kid is checked

    [defaults]
    threshold = 1
    algorithms = ["esp256", "ed25519"]

    [[class]]
    vendor-domain = "example.com"                 # or vendor-id = "<uuid>"
    class-name = "sensor"                         # or class-id = "<uuid>"; omit both for a vendor-wide rule
    signers = ["alice", "bob", "hsm"]
    threshold = 2                                 # 2 of these 3 must have signed
    algorithms = ["esp256"]

    [[class]]                                     # a hybrid release: classical AND post-quantum
    vendor-domain = "example.com"
    class-name = "infusion-pump"
    signers = ["alice", "pq"]
    require-algorithms = ["ed25519", "hss-lms"]   # each must have a verified signature

``require-algorithms`` is the "all of these algorithms" rule (docs/processing-model.md
section 5): on top of the threshold, every algorithm listed needs at least one
authentication block that verified with one of the rule's signers, so an envelope that
lacks either the classical or the post-quantum signature is refused (``no-trusted-key``).
It lets a fleet add a post-quantum signature beside the classical one without a flag day:
devices that know only the classical algorithm ignore the other block.

A key given by ``kid`` alone (no ``file``) is resolved from the keys passed on the command
line (``-k``/``--suit-key``), so a policy can name keys that live elsewhere.

The rule for an envelope is the one whose vendor and class match the identity the manifest
states for component 0: an exact class rule first, then a vendor-wide rule, then a rule with
neither (catch-all). The rule's vendor and class ids then become expectations of the
verification itself, so a manifest cannot pick a laxer rule by lying about its class: its
identity conditions are checked under the rule chosen. No matching rule: rejected (fail
closed).
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import PolicyError, PolicyFileError, UsageError
from .keys import ALG_DISPLAY, ALG_NAMES, key_id, load_public
from .verify import Policy, TrustedKey

MAX_POLICY_BYTES = 256 * 1024
MAX_KEYS = 256
MAX_RULES = 1024


@dataclass(frozen=True)
class Rule:
    """One ``[[class]]`` entry: the signers of a device class and how many must sign."""

    vendor_id: bytes | None
    class_id: bytes | None
    signers: tuple[str, ...]
    threshold: int
    algorithms: frozenset[int] | None
    index: int
    #: The "all of these algorithms" rule: each needs a verified signature (hybrid releases).
    required: frozenset[int] | None = None

    @property
    def name(self) -> str:
        parts = []
        if self.vendor_id is not None:
            parts.append(f"vendor {uuid.UUID(bytes=self.vendor_id)}")
        if self.class_id is not None:
            parts.append(f"class {uuid.UUID(bytes=self.class_id)}")
        return f"class[{self.index}] ({', '.join(parts) or 'any device'})"


@dataclass(frozen=True)
class KeyEntry:
    name: str
    file: Path | None
    kid: bytes | None


@dataclass(frozen=True)
class ReleasePolicy:
    """A parsed policy file."""

    keys: dict[str, KeyEntry]
    rules: tuple[Rule, ...]
    source: str = ""

    def rule_for(self, vendor_id: bytes | None, class_id: bytes | None) -> Rule:
        """The most specific rule for a device identity; PolicyError when none applies."""
        def matches(r: Rule) -> bool:
            return (r.vendor_id is None or r.vendor_id == vendor_id) and (r.class_id is None or r.class_id == class_id)

        ranked = sorted((r for r in self.rules if matches(r)),
                        key=lambda r: (r.class_id is None, r.vendor_id is None, r.index))
        if not ranked:
            shown = str(uuid.UUID(bytes=class_id)) if class_id and len(class_id) == 16 else "unknown"
            raise PolicyError(f"the release policy {self.source} has no rule for class {shown}", reason="policy-no-rule")
        return ranked[0]

    def trusted_keys(self, rule: Rule, extra: Sequence[TrustedKey] = ()) -> tuple[TrustedKey, ...]:
        """The rule's signers as trusted keys (files loaded; kid-only entries found in ``extra``)."""
        by_kid = {k.kid: k for k in extra}
        out: list[TrustedKey] = []
        missing: list[str] = []
        for name in rule.signers:
            entry = self.keys[name]
            if entry.file is not None:
                pub = load_public(entry.file)
                kid = key_id(pub)
                if entry.kid is not None and entry.kid != kid:
                    raise PolicyFileError(f"key {name}: {entry.file} has kid {kid.hex()}, the policy says {entry.kid.hex()}")
                out.append(TrustedKey.of(pub, name, bulk=False))
            else:
                assert entry.kid is not None
                found = by_kid.get(entry.kid)
                if found is None:
                    # Not supplied: its signature cannot count, which only matters if the rest fall short.
                    missing.append(f"{name} (kid {entry.kid.hex()})")
                    continue
                out.append(TrustedKey(found.key, name, found.kid, False))
        if len(out) < rule.threshold:
            raise UsageError(f"{rule.name} needs {rule.threshold} signer key(s) but only {len(out)} are available; "
                             f"give the public key of {', '.join(missing)} with -k")
        return tuple(out)

    def verify_policy(self, rule: Rule, extra: Sequence[TrustedKey] = ()) -> Policy:
        """A :class:`fwsign.verify.Policy` enforcing ``rule`` (identity, signers, threshold, algorithms)."""
        keys = self.trusted_keys(rule, extra)
        from .cose.algs import KIND_ALGS

        for alg in sorted(rule.required or ()):
            if not any(alg in KIND_ALGS.get(k.kind, ()) for k in keys):
                raise PolicyFileError(f"{rule.name} requires a {ALG_DISPLAY.get(alg, alg)} signature but none of its "
                                      "signers has a key for that algorithm")
        return Policy(keys=keys, threshold=rule.threshold, vendor_id=rule.vendor_id,
                      class_id=rule.class_id, allowed_algs=rule.algorithms, required_algs=rule.required)

    def policy_for_envelope(self, data: bytes, extra: Sequence[TrustedKey] = (), base: Policy | None = None) -> tuple[Rule, Policy]:
        """Choose the rule by the envelope's stated identity and build the verification policy.

        ``base`` carries the caller's other settings (minimum sequence, component, limits).
        """
        vid, cid = envelope_identity(data)
        rule = self.rule_for(vid, cid)
        pol = self.verify_policy(rule, extra)
        if base is not None:
            pol = replace(base, keys=pol.keys, threshold=pol.threshold,
                          vendor_id=pol.vendor_id if pol.vendor_id is not None else base.vendor_id,
                          class_id=pol.class_id if pol.class_id is not None else base.class_id,
                          allowed_algs=pol.allowed_algs, required_algs=pol.required_algs)
        return rule, pol


def envelope_identity(data: bytes) -> tuple[bytes | None, bytes | None]:
    """Vendor and class ids the manifest states for component 0 (unauthenticated: for rule choice only)."""
    from .suit.codepoints import Command, Parameter
    from .suit.decode import decode_envelope
    from .suit.processor import observe

    env = decode_envelope(data)
    analysis = observe(env.manifest, {})

    def one(cond: Command, param: Parameter) -> bytes | None:
        values = {v for comp, v, _ in analysis.identifiers(cond, param) if comp == 0 and isinstance(v, bytes)}
        return values.pop() if len(values) == 1 else None

    return (one(Command.CONDITION_VENDOR_IDENTIFIER, Parameter.VENDOR_IDENTIFIER),
            one(Command.CONDITION_CLASS_IDENTIFIER, Parameter.CLASS_IDENTIFIER))


# -- parsing ------------------------------------------------------------------------------


def load_policy(path: Path) -> ReleasePolicy:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read policy {path}: {exc.strerror}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyFileError(f"policy {path} is larger than {MAX_POLICY_BYTES} bytes")
    return parse_policy(data, base_dir=Path(path).parent, source=str(path))


def parse_policy(data: bytes, *, base_dir: Path = Path("."), source: str = "<policy>") -> ReleasePolicy:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyFileError(f"{source} is not valid TOML: {exc}") from None
    _only(doc, {"version", "keys", "defaults", "class"}, source)
    if doc.get("version", 1) != 1:
        raise PolicyFileError(f"{source}: unsupported policy version {doc.get('version')!r} (this fwsign reads version 1)")
    keys_doc = _table(doc.get("keys", {}), f"{source}: [keys]")
    if not keys_doc or len(keys_doc) > MAX_KEYS:
        raise PolicyFileError(f"{source}: [keys] must name between 1 and {MAX_KEYS} keys")
    keys: dict[str, KeyEntry] = {}
    for name, value in keys_doc.items():
        where = f"{source}: keys.{name}"
        entry = _table(value, where)
        _only(entry, {"file", "kid"}, where)
        file = entry.get("file")
        kid = entry.get("kid")
        if file is None and kid is None:
            raise PolicyFileError(f"{where} needs file = \"...\" or kid = \"<16 hex digits>\"")
        if file is not None and not isinstance(file, str):
            raise PolicyFileError(f"{where}.file must be a string")
        kid_bytes = _kid(kid, where) if kid is not None else None
        keys[name] = KeyEntry(name, (base_dir / file) if file is not None else None, kid_bytes)
    defaults = _table(doc.get("defaults", {}), f"{source}: [defaults]")
    _only(defaults, {"threshold", "algorithms", "require-algorithms"}, f"{source}: [defaults]")
    rules_doc = doc.get("class", [])
    if not isinstance(rules_doc, list) or not rules_doc or len(rules_doc) > MAX_RULES:
        raise PolicyFileError(f"{source}: give between 1 and {MAX_RULES} [[class]] rules")
    rules: list[Rule] = []
    seen: set[tuple[bytes | None, bytes | None]] = set()
    for i, raw in enumerate(rules_doc):
        where = f"{source}: class[{i}]"
        r = _table(raw, where)
        _only(r, {"vendor-domain", "vendor-id", "class-name", "class-id", "signers", "threshold", "algorithms",
                  "require-algorithms"}, where)
        vid, cid = _rule_identity(r, where)
        if (vid, cid) in seen:
            raise PolicyFileError(f"{where} repeats the identity of an earlier rule")
        seen.add((vid, cid))
        signers = r.get("signers")
        if not isinstance(signers, list) or not signers or not all(isinstance(s, str) for s in signers):
            raise PolicyFileError(f"{where}.signers must be a non-empty list of key names")
        if len(set(signers)) != len(signers):
            raise PolicyFileError(f"{where}.signers names a key twice")
        unknown = [s for s in signers if s not in keys]
        if unknown:
            raise PolicyFileError(f"{where}.signers names unknown key(s) {', '.join(unknown)}; define them under [keys]")
        threshold = r.get("threshold", defaults.get("threshold", 1))
        if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= len(signers):
            raise PolicyFileError(f"{where}.threshold must be between 1 and the {len(signers)} signer(s)")
        algs = r.get("algorithms", defaults.get("algorithms"))
        allowed = _algs(algs, where) if algs is not None else None
        req = r.get("require-algorithms", defaults.get("require-algorithms"))
        required = _algs(req, where, "require-algorithms") if req is not None else None
        if required is not None and allowed is not None and not required <= allowed:
            raise PolicyFileError(f"{where}: every algorithm in require-algorithms must also be in algorithms")
        rules.append(Rule(vid, cid, tuple(signers), threshold, allowed, i, required))
    return ReleasePolicy(keys, tuple(rules), source)


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise PolicyFileError(f"{where}: unknown setting(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyFileError(f"{where} must be a table")
    return value


def _kid(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise PolicyFileError(f"{where}.kid must be a hex string")
    try:
        kid = bytes.fromhex(value)
    except ValueError:
        raise PolicyFileError(f"{where}.kid is not hex") from None
    if not kid:
        raise PolicyFileError(f"{where}.kid is empty")
    return kid


def _algs(value: object, where: str, name: str = "algorithms") -> frozenset[int]:
    if not isinstance(value, list) or not value:
        raise PolicyFileError(f"{where}.{name} must be a non-empty list")
    out: set[int] = set()
    for a in value:
        if not isinstance(a, str) or a.lower() not in ALG_NAMES:
            raise PolicyFileError(f"{where}.{name}: unknown algorithm {a!r}; choose from {', '.join(ALG_NAMES)}")
        out.add(ALG_NAMES[a.lower()])
    return frozenset(out)


def _uuid(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise PolicyFileError(f"{where} must be a UUID string")
    try:
        return uuid.UUID(value).bytes
    except ValueError:
        raise PolicyFileError(f"{where} is not a UUID") from None


def _rule_identity(r: dict[str, Any], where: str) -> tuple[bytes | None, bytes | None]:
    from .suit.ids import class_uuid, vendor_uuid

    if "vendor-domain" in r and "vendor-id" in r:
        raise PolicyFileError(f"{where}: give vendor-domain or vendor-id, not both")
    if "class-name" in r and "class-id" in r:
        raise PolicyFileError(f"{where}: give class-name or class-id, not both")
    vid: bytes | None = None
    if "vendor-id" in r:
        vid = _uuid(r["vendor-id"], f"{where}.vendor-id")
    elif "vendor-domain" in r:
        if not isinstance(r["vendor-domain"], str):
            raise PolicyFileError(f"{where}.vendor-domain must be a string")
        vid = vendor_uuid(r["vendor-domain"])
    cid: bytes | None = None
    if "class-id" in r:
        cid = _uuid(r["class-id"], f"{where}.class-id")
    elif "class-name" in r:
        if vid is None or not isinstance(r["class-name"], str):
            raise PolicyFileError(f"{where}.class-name needs vendor-domain or vendor-id (class ids derive from it)")
        cid = class_uuid(vid, r["class-name"])
    return vid, cid
