"""SUIT algorithm profiles (draft-ietf-suit-mti): which profiles an envelope conforms to.

A profile is a descriptor array ``[digest, authentication, key exchange, content
encryption]`` of COSE algorithm ids (IANA "COSE SUIT Algorithm Profiles").
``suit-sha256-hsslms-a256kw-a256ctr`` is MANDATORY: "Authors MUST implement all profiles
with a status set to 'MANDATORY'"; fwsign makes it with an HSS-LMS key, a pre-shared
A256KW key-encryption key and ``--content-alg a256ctr`` (``fwsign sign --profile``).

An envelope conforms to a profile when its manifest digest uses the profile's digest,
at least one authentication block uses its authentication algorithm (a hybrid envelope
carries others beside it), and every encryption info the manifest gives uses its key
exchange for every recipient and its content encryption. An unencrypted envelope
conforms in digest and authentication only, which :func:`conforms` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import FwsignError, UsageError


@dataclass(frozen=True)
class Profile:
    name: str
    digest: int
    auth: int
    key_exchange: int
    content: int
    mandatory: bool = False

    @property
    def descriptor(self) -> tuple[int, int, int, int]:
        return (self.digest, self.auth, self.key_exchange, self.content)


#: draft-ietf-suit-mti's profiles (REFERENCE.md section 1).
PROFILES: Final[dict[str, Profile]] = {p.name: p for p in (
    Profile("suit-sha256-hmac-a128kw-a128ctr", -16, 5, -3, -65534),
    Profile("suit-sha256-esp256-ecdh-a128ctr", -16, -9, -29, -65534),
    Profile("suit-sha256-ed25519-ecdh-a128ctr", -16, -19, -29, -65534),
    Profile("suit-sha256-esp256-ecdh-a128gcm", -16, -9, -29, 1),
    Profile("suit-sha256-ed25519-ecdh-chacha-poly", -16, -19, -29, 24),
    Profile("suit-sha256-hsslms-a256kw-a256ctr", -16, -46, -5, -65532, mandatory=True),
)}


@dataclass(frozen=True)
class Conformance:
    profile: Profile
    #: The envelope's payloads are encrypted, and every encryption info fits the profile.
    encrypted: bool
    #: Why it does not conform ("" when it does).
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(f"unknown SUIT algorithm profile {name!r}; choose from {', '.join(PROFILES)}") from None


def _encryption_infos(data: bytes) -> list[tuple[int, tuple[int, ...]]]:
    """(content alg, recipient algs) of every encryption info the manifest's directives consume."""
    from ..encryption.info import parse_info
    from ..limits import DEFAULT_LIMITS
    from .codepoints import EnvelopeKey, Parameter
    from .decode import decode_envelope, decode_severed_sequence
    from .processor import observe

    env = decode_envelope(data)
    severed = {}
    for key in (EnvelopeKey.PAYLOAD_FETCH, EnvelopeKey.INSTALL):
        seq = decode_severed_sequence(env, int(key), DEFAULT_LIMITS)
        if seq is not None:
            severed[int(key)] = seq
    out = []
    seen: set[bytes] = set()
    for o in observe(env.manifest, severed).observations:
        info = o.param(Parameter.ENCRYPTION_INFO)
        if isinstance(info, bytes) and info not in seen:
            seen.add(info)
            parsed = parse_info(info)
            out.append((parsed.content_alg, tuple(r.alg for r in parsed.recipients)))
    return out


def conforms(data: bytes, prof: Profile, auth_algs: list[int] | None = None) -> Conformance:
    """Whether the envelope ``data`` conforms to ``prof`` (see the module docstring).

    ``auth_algs``: the algorithms of the signatures it will carry, to check an envelope
    before it is signed (so a signature, and an HSS-LMS one-time key, is not spent on an
    envelope that is then refused).
    """
    from ..suit.decode import decode_envelope

    env = decode_envelope(data)
    if env.auth.digest.alg != prof.digest:
        return Conformance(prof, False, f"manifest digest algorithm {env.auth.digest.alg}, the profile needs {prof.digest}")
    algs = auth_algs if auth_algs is not None else [b.message.alg for b in env.auth.blocks]
    if prof.auth not in algs:
        return Conformance(prof, False, f"no authentication block with algorithm {prof.auth} (the blocks use {algs})")
    try:
        infos = _encryption_infos(data)
    except FwsignError as exc:
        return Conformance(prof, False, f"encryption info: {exc.message}")
    for content, recipients in infos:
        if content != prof.content:
            return Conformance(prof, True, f"content encryption {content}, the profile needs {prof.content}")
        bad = [r for r in recipients if r != prof.key_exchange]
        if bad:
            return Conformance(prof, True, f"recipient key exchange {bad[0]}, the profile needs {prof.key_exchange}")
    return Conformance(prof, bool(infos))


__all__ = ["PROFILES", "Conformance", "Profile", "conforms", "profile"]
