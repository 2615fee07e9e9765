"""The generated structure, the fixed keys and the device, and their encoding to a signed envelope.

A :class:`Case` describes one envelope the way the generator chose it (commands,
parameters, members, authentication blocks, host inputs); :func:`encode` turns it into
bytes with the project's encoders (fwsign.cbor, fwsign.cose, fwsign.keys) and the raw
emitter of :mod:`tests.gen.rawcbor` for the deliberately non-canonical parts. Signing is
deterministic (Ed25519, HMAC, and RFC 6979 ECDSA in fwsign's signer), so a case always
encodes to the same bytes. HSS-LMS signs with the one-time index the signed bytes select
(a test key used again and again, which only a test may do) and ML-DSA signatures are
kept per message, so those encode the same way within a run too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa

from fwsign import cbor, cose
from fwsign.delta import make_patch
from fwsign.keys import HssLmsPublicKey, PrivateKey, PublicKey, SymmetricKey, key_id, make_signer, public_of
from fwsign.limits import DEVICE_LIMITS
from fwsign.pq import hsslms
from fwsign.suit.codepoints import TAG_COSE_MAC0, TAG_COSE_SIGN1, TAG_ENVELOPE, CoseAlg

from .rawcbor import RawMap, Tagged, Wrapped, emit

# -- the device ------------------------------------------------------------------------

VENDOR = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")
CLASS = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")
DEVICE = bytes.fromhex("7e1d0c9b2a4f4e6c8d3b5a6f7e8d9c0b")
OTHER_VENDOR = bytes.fromhex("00112233445566778899aabbccddeeff")
OTHER_CLASS = bytes.fromhex("ffeeddccbbaa99887766554433221100")
OTHER_DEVICE = bytes.fromhex("0123456789abcdef0123456789abcdef")

#: The image supplied (or integrated) and another one of the same size.
IMAGE = bytes((i * 7 + 3) & 0xFF for i in range(200))
OTHER_IMAGE = bytes((i * 11 + 5) & 0xFF for i in range(200))
IMAGES: dict[str, bytes] = {"image": IMAGE, "other": OTHER_IMAGE}
#: Delta updates (docs/delta.md): a FWD1 patch from IMAGE (what a device with a running
#: image runs) to OTHER_IMAGE, served as a payload like the images.
PATCH = make_patch(IMAGE, OTHER_IMAGE)
IMAGES["patch"] = PATCH

#: The device's limits (bootloader-ref/include/bootref_limits.h, generated with these)
DEVICE_MAX_ENVELOPE = DEVICE_LIMITS.max_envelope_bytes
DEVICE_MAX_COMPONENTS = DEVICE_LIMITS.max_components
DEVICE_MAX_AUTH_BLOCKS = DEVICE_LIMITS.max_auth_blocks
DEVICE_MAX_NESTING = DEVICE_LIMITS.max_sequence_depth

SHA256 = -16
#: An algorithm neither verifier implements (ES512, RFC 9053): its blocks are ignored.
UNIMPLEMENTED_ALG = -36


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# -- keys ------------------------------------------------------------------------------


class HssTestKey:
    """A one-level HSS-LMS key (LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W8: 1,296-byte
    signatures) that signs statelessly, the index chosen by the message: for tests only."""

    def __init__(self, seed: bytes) -> None:
        self.tree = hsslms.LmsTree(hsslms.LMS_BY_H[5], hsslms.LMOTS_BY_W[8], seed[:16], seed)
        self.public = HssLmsPublicKey(hsslms.hss_public_key(1, self.tree.public_key))

    def sign(self, data: bytes) -> bytes:
        return b"\0\0\0\0" + self.tree.sign(sha256(data)[0] % 32, data)


GenKey = PrivateKey | HssTestKey


@cache
def private_keys() -> dict[str, GenKey]:
    """Fixed key material. The trusted ones are the test suite's fixture keys
    (tests/conftest.py) and two post-quantum keys; the foreign ones are keys of the same
    types nobody trusts."""
    return {
        "p256": ec.derive_private_key(0x1234567890ABCDEF1234567890ABCDEF, ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))),
        "hmac": SymmetricKey(bytes(range(100, 132))),
        "hss-lms": HssTestKey(bytes(range(200, 232))),
        "ml-dsa-44": mldsa.MLDSA44PrivateKey.from_seed_bytes(bytes(range(1, 33))),
        "foreign-p256": ec.derive_private_key(0x0F0E0D0C0B0A09080706050403020100, ec.SECP256R1()),
        "foreign-ed25519": ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96))),
        "foreign-hmac": SymmetricKey(bytes(range(150, 182))),
        "foreign-hss-lms": HssTestKey(bytes(range(40, 72))),
        "foreign-ml-dsa-44": mldsa.MLDSA44PrivateKey.from_seed_bytes(bytes(range(90, 122))),
    }


def public_key(name: str) -> PublicKey:
    k = private_keys()[name]
    return k.public if isinstance(k, HssTestKey) else public_of(k)


def gen_key_id(name: str) -> bytes:
    return key_id(public_key(name))


def key_file(name: str) -> tuple[str, bytes]:
    """(file name, bytes) of a trust anchor as a verifier loads it: HMAC raw, PQ keys as COSE_Key, else PEM."""
    from fwsign.keys import encode_cose_key, public_pem

    k = private_keys()[name]
    if isinstance(k, SymmetricKey):
        return f"{name}.hmac", k.secret
    pub = public_key(name)
    if name in ("hss-lms", "ml-dsa-44"):
        return f"{name}.cose", encode_cose_key(pub)
    return f"{name}.pem", public_pem(pub)


_MLDSA_SIGS: dict[tuple[str, bytes], bytes] = {}


def sign_with(name: str, alg: int, tbs: bytes) -> bytes:
    k = private_keys()[name]
    if isinstance(k, HssTestKey):
        return k.sign(tbs)
    if isinstance(k, mldsa.MLDSA44PrivateKey):
        # hedged signing: keep the first signature of each message so a case encodes the same way
        return _MLDSA_SIGS.setdefault((name, tbs), k.sign(tbs))
    return make_signer(k, alg).sign(tbs)


TRUSTED = ("p256", "ed25519", "hmac", "hss-lms", "ml-dsa-44")
SIGNERS = (*TRUSTED, "foreign-p256", "foreign-ed25519", "foreign-hmac", "foreign-hss-lms", "foreign-ml-dsa-44")
UNKNOWN_KID = bytes.fromhex("5eed5eed5eed5eed")

#: COSE algorithms per key type: ES256/ESP256, EdDSA/Ed25519, HMAC 256/256.
ALGS: dict[str, tuple[int, ...]] = {
    "p256": (int(CoseAlg.ES256), int(CoseAlg.ESP256)),
    "ed25519": (int(CoseAlg.EDDSA), int(CoseAlg.ED25519)),
    "hmac": (int(CoseAlg.HMAC_256_256),),
    "hss-lms": (int(CoseAlg.HSS_LMS),),
    "ml-dsa-44": (int(CoseAlg.ML_DSA_44),),
}


def kind_of(signer: str) -> str:
    return signer.removeprefix("foreign-")


# -- the generated structure ------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    """image-digest: bstr .cbor SUIT_Digest."""

    alg: int
    value: bytes


@dataclass(frozen=True)
class Params:
    """Argument of override-parameters (20) or set-parameters (19)."""

    items: tuple[tuple[int, object], ...]
    canonical: bool = True


@dataclass(frozen=True)
class Seq:
    cmds: tuple[tuple[int, object], ...]


@dataclass(frozen=True)
class TryEach:
    options: tuple[Seq, ...]
    nil: bool = False
    #: A nil placed before the last option (malformed).
    nil_misplaced: bool = False


@dataclass(frozen=True)
class Block:
    signer: str  # a key of private_keys(), or "unknown-alg"
    alg: int
    kid: str  # "own", "none", "trusted", "other", "unknown" (see sign_block)
    corrupt: bool = False


@dataclass(frozen=True)
class Case:
    components: tuple[tuple[bytes, ...], ...]
    shared: Seq | None
    #: Manifest members with a command sequence: 7 validate, 8 load, 9 invoke (always in
    #: the manifest), 16 payload-fetch and 20 install (severable).
    members: tuple[tuple[int, Seq], ...]
    #: For 16/20: "inline", "present" (severed, member in the envelope), "absent"
    #: (severed, member not in the envelope), "wrong" (severed, another member there).
    severed: tuple[tuple[int, str], ...] = ()
    payloads: tuple[tuple[str, str], ...] = ()  # (envelope key "#name", key of IMAGES)
    blocks: tuple[Block, ...] = ()
    sequence_number: int = 1
    #: Which map is written out of canonical order: "", "envelope", "manifest", "common".
    noncanonical: str = ""
    tagged: bool = False
    # host inputs
    image: str | None = "image"  # key of IMAGES, or None
    identity: bool = True
    counter: int = 0
    extra: dict[str, object] = field(default_factory=dict, compare=False)
    #: update management: the manifest's set-version (member 6), or None
    set_version: tuple[int, ...] | None = None
    #: update management: the device's inputs (model section 14.1) in the device comparison
    um: DeviceUM | None = None

    def member(self, key: int) -> Seq | None:
        return dict(self.members).get(key)

    def severed_mode(self, key: int) -> str:
        return dict(self.severed).get(key, "inline")


# -- encoding --------------------------------------------------------------------------


def param_value(v: object) -> object:
    if isinstance(v, Digest):
        return Wrapped([v.alg, v.value])
    if isinstance(v, VersionParam):
        return Wrapped([v.comparison, list(v.value)])
    if isinstance(v, WaitParam):
        return Wrapped(RawMap.ordered(list(v.events)))
    return v


def seq_value(seq: Seq) -> list[object]:
    out: list[object] = []
    for code, arg in seq.cmds:
        out.append(code)
        if isinstance(arg, Params):
            out.append(RawMap.ordered([(k, param_value(v)) for k, v in arg.items], arg.canonical))
        elif isinstance(arg, TryEach):
            opts: list[object] = [Wrapped(seq_value(o)) for o in arg.options]
            if arg.nil_misplaced:
                opts.insert(len(opts) - 1, None)
            if arg.nil:
                opts.append(None)
            out.append(opts)
        elif isinstance(arg, Seq):
            out.append(Wrapped(seq_value(arg)))
        elif isinstance(arg, Multi):
            out.append(RawMap.ordered([(i, RawMap.ordered([(k, param_value(v)) for k, v in p.items], p.canonical))
                                       for i, p in arg.entries], arg.canonical))
        elif isinstance(arg, CopyParams):
            out.append(RawMap.ordered([(i, list(labels)) for i, labels in arg.entries], arg.canonical))
        else:
            out.append(arg)
    return out


def seq_bytes(seq: Seq) -> bytes:
    return emit(seq_value(seq))


def manifest_bytes(case: Case) -> tuple[bytes, dict[int, bytes]]:
    """The manifest and the severed members the envelope carries."""
    common: list[tuple[object, object]] = [(2, [list(c) for c in case.components])]
    if case.shared is not None:
        common.append((4, Wrapped(seq_value(case.shared))))
    pairs: list[tuple[object, object]] = [
        (1, 1),
        (2, case.sequence_number),
        (3, Wrapped(RawMap.ordered(common, case.noncanonical != "common"))),
    ]
    if case.set_version is not None:
        pairs.append((6, Wrapped(list(case.set_version))))
    in_envelope: dict[int, bytes] = {}
    for key, seq in case.members:
        mode = case.severed_mode(key)
        raw = seq_bytes(seq)
        if mode == "inline":
            pairs.append((key, Wrapped(seq_value(seq))))
            continue
        pairs.append((key, [SHA256, sha256(cbor.bstr(raw))]))
        if mode == "present":
            in_envelope[key] = raw
        elif mode == "wrong":
            in_envelope[key] = seq_bytes(Seq((*seq.cmds, (14, 0))))
    return emit(RawMap.ordered(pairs, case.noncanonical != "manifest")), in_envelope


def sign_block(block: Block, payload: bytes) -> bytes:
    """A COSE_Sign1 / COSE_Mac0 over the detached payload (the encoded SUIT_Digest)."""
    keys = private_keys()
    if block.kid == "own":
        kid: bytes | None = gen_key_id(block.signer) if block.signer in keys else UNKNOWN_KID
    elif block.kid in ("trusted", "other"):
        # "trusted": the id of the trusted key of the signer's type (a foreign key that
        # claims to be it); "other": the id of a trusted key of another type
        kind = kind_of(block.signer)
        named = kind if block.kid == "trusted" else ("ed25519" if kind != "ed25519" else "p256")
        kid = gen_key_id(named)
    elif block.kid == "unknown":
        kid = UNKNOWN_KID
    else:
        kid = None
    tag = TAG_COSE_MAC0 if block.alg == CoseAlg.HMAC_256_256 else TAG_COSE_SIGN1
    protected = cose.protected_header(block.alg, kid)
    if block.signer == "unknown-alg":
        signature = bytes(range(64))
    else:
        signature = sign_with(block.signer, block.alg, cose.to_be_signed(tag, protected, payload))
    if block.corrupt:
        signature = bytes([signature[0] ^ 0x01]) + signature[1:]
    return cose.assemble(tag, protected, signature)


def encode(case: Case) -> bytes:
    manifest, severed = manifest_bytes(case)
    digest = cbor.dumps([SHA256, sha256(cbor.bstr(manifest))])
    blocks = [sign_block(b, digest) for b in case.blocks]
    auth = cbor.dumps([digest, *blocks])
    pairs: list[tuple[object, object]] = [(2, auth), (3, manifest)]
    pairs += [(k, raw) for k, raw in severed.items()]
    pairs += [(name, IMAGES[which]) for name, which in case.payloads]
    env = RawMap.ordered(pairs, case.noncanonical != "envelope")
    return emit(Tagged(TAG_ENVELOPE, env)) if case.tagged else emit(env)


# -- a compact description, for failure messages and vectors ------------------------------

_NAMES = {
    1: "vendor?", 2: "class?", 3: "image-match?", 5: "slot?", 6: "content?", 14: "abort?", 24: "device?",
    12: "index", 15: "try-each", 18: "write", 19: "set-params", 20: "override", 21: "fetch", 22: "copy",
    23: "invoke", 31: "swap", 32: "run-seq",
    4: "use-before?", 25: "image-not-match?", 26: "battery?", 27: "authorized?", 28: "version?", 29: "wait",
    34: "override-multiple", 35: "copy-params",
}
_PNAMES = {1: "vendor", 2: "class", 3: "digest", 5: "slot", 12: "strict", 13: "soft", 14: "size", 18: "content",
           19: "enc-info", 21: "uri", 22: "source", 24: "device",
           4: "use-before", 26: "min-battery", 27: "priority", 28: "version", 29: "wait-info"}


def _pval(v: object) -> str:
    if isinstance(v, Digest):
        return "digest(image)" if v.value == sha256(IMAGE) else "digest(other)"
    if isinstance(v, bytes):
        named = {VENDOR: "V", CLASS: "C", DEVICE: "D", OTHER_VENDOR: "V'", OTHER_CLASS: "C'", OTHER_DEVICE: "D'",
                 IMAGE: "image", OTHER_IMAGE: "other", PATCH: "patch"}
        return named.get(v, f"h'{v.hex()[:8]}'")
    return repr(v)


def describe_seq(seq: Seq) -> str:
    parts: list[str] = []
    for code, arg in seq.cmds:
        name = _NAMES.get(code, str(code))
        if isinstance(arg, Params):
            inner = ", ".join(f"{_PNAMES.get(k, k)}={_pval(v)}" for k, v in arg.items)
            parts.append(f"{name}{{{inner}}}{'' if arg.canonical else '(non-canonical)'}")
        elif isinstance(arg, TryEach):
            opts = [f"[{describe_seq(o)}]" for o in arg.options]
            if arg.nil_misplaced:
                opts.insert(len(opts) - 1, "nil")
            if arg.nil:
                opts.append("nil")
            parts.append(f"{name}({' | '.join(opts)})")
        elif isinstance(arg, Seq):
            parts.append(f"{name}([{describe_seq(arg)}])")
        elif isinstance(arg, Multi):
            inner = "; ".join(f"{i}: " + ", ".join(f"{_PNAMES.get(k, k)}={_pval(v)}" for k, v in p.items)
                              for i, p in arg.entries)
            parts.append(f"{name}{{{inner}}}")
        elif isinstance(arg, CopyParams):
            parts.append(f"{name}{dict(arg.entries)!r}")
        elif code == 12:
            parts.append(f"{name}={arg!r}")
        else:
            parts.append(name)
    return "; ".join(parts)


def describe(case: Case) -> str:
    names = {7: "validate", 8: "load", 9: "invoke", 16: "payload-fetch", 20: "install"}
    lines = [f"components={len(case.components)} seq={case.sequence_number} counter={case.counter} "
             f"image={case.image} identity={case.identity} tagged={case.tagged}"
             + (f" noncanonical={case.noncanonical}" if case.noncanonical else "")]
    if case.set_version is not None or case.um is not None:
        lines.append(f"set-version={case.set_version} device={case.um}")
    lines.append("blocks: " + ", ".join(
        f"{b.signer}/{b.alg}/kid={b.kid}{'/corrupt' if b.corrupt else ''}" for b in case.blocks))
    if case.payloads:
        lines.append("payloads: " + ", ".join(f"{n}={w}" for n, w in case.payloads))
    if case.shared is not None:
        lines.append(f"shared: {describe_seq(case.shared)}")
    for key, seq in case.members:
        mode = case.severed_mode(key)
        lines.append(f"{names[key]}{'' if mode == 'inline' else f' (severed, {mode})'}: {describe_seq(seq)}")
    return "\n".join(lines)


# -- update management (docs/processing-model.md section 14) ----------------------------


@dataclass(frozen=True)
class VersionParam:
    """parameter-version: bstr .cbor [comparison, [+ int]] (may be generated out of range)."""

    comparison: int
    value: tuple[int, ...]


@dataclass(frozen=True)
class WaitParam:
    """parameter-wait-info: bstr .cbor {+ event => value}."""

    events: tuple[tuple[int, object], ...]


@dataclass(frozen=True)
class Multi:
    """Argument of override-multiple (34): component index => parameters."""

    entries: tuple[tuple[int, Params], ...]
    canonical: bool = True


@dataclass(frozen=True)
class CopyParams:
    """Argument of copy-params (35): source component => parameter labels."""

    entries: tuple[tuple[int, tuple[object, ...]], ...]
    canonical: bool = True


@dataclass(frozen=True)
class DeviceUM:
    """The device's update-management inputs; None: not available."""

    now: int | None = None
    battery: int | None = None
    authorized: bool | None = None
    version: tuple[int, ...] | None = None
