"""One exception hierarchy for everything fwsign rejects.

Every error carries a stable, machine-readable ``reason`` code (documented in the
README and used by the CLI's ``--json`` output) and, where it applies, the ``path``
inside the structure that failed (``manifest.common.shared-sequence[4]``). Callers
match on the reason code, never on the message text.
"""

from __future__ import annotations


class FwsignError(Exception):
    """Root of all fwsign errors."""

    reason: str = "error"
    #: Exit code the CLI uses: 1 = verification rejected, 2 = usage / unreadable input.
    exit_code: int = 1

    def __init__(self, message: str, *, path: str = "", reason: str | None = None) -> None:
        self.message = message
        self.path = path
        if reason is not None:
            self.reason = reason
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line naming what failed, where, and why."""
        where = f" at {self.path}" if self.path else ""
        return f"{self.reason}{where}: {self.message}"


# --- Parsing ------------------------------------------------------------------------


class DecodeError(FwsignError, ValueError):
    """The bytes are not a well-formed, strictly encoded structure."""

    reason = "malformed"


class TruncatedError(DecodeError, EOFError):
    """The input ended inside an item."""

    reason = "truncated"


class LimitError(DecodeError):
    """A configured limit (size, depth, count) was exceeded."""

    reason = "limit-exceeded"


class UnsupportedError(DecodeError):
    """A well-formed but unknown critical member, command or algorithm."""

    reason = "unsupported"


# --- Verification ------------------------------------------------------------------


class VerificationError(FwsignError):
    """A check on a well-formed envelope failed."""

    reason = "rejected"


class DigestMismatch(VerificationError):
    reason = "digest-mismatch"


class SignatureInvalid(VerificationError):
    reason = "signature-invalid"


class NoTrustedKey(VerificationError):
    reason = "no-trusted-key"


class PolicyError(VerificationError):
    """The envelope is authentic but not acceptable under the given policy."""

    reason = "policy"


class RollbackError(PolicyError):
    reason = "rollback"


class IdentityMismatch(PolicyError):
    reason = "identity-mismatch"


class ImageMismatch(VerificationError):
    reason = "image-mismatch"


class SeveredMemberMissing(VerificationError):
    """A severed command sequence that the run needs was not supplied."""

    reason = "severed-member-missing"


class AbortError(VerificationError):
    """condition-abort ran outside a soft-failure scope, or soft-failure was set where it may not be."""

    reason = "abort"


class MissingCheck(VerificationError):
    """The manifest would install or invoke without the checks the processing model requires."""

    reason = "missing-check"


# --- Keys and usage -----------------------------------------------------------------


class KeyLoadError(FwsignError):
    """A key could not be loaded or does not fit the requested use."""

    reason = "key-invalid"
    exit_code = 2


class UsageError(FwsignError):
    """Bad arguments or unreadable input files."""

    reason = "usage"
    exit_code = 2


#: Stable reason codes and what they mean (printed in the README and by --help).
REASONS: dict[str, str] = {
    "malformed": "bytes are not a well-formed, strictly encoded SUIT/COSE structure",
    "truncated": "input ended inside an item",
    "limit-exceeded": "a size, depth or count limit was exceeded",
    "unsupported": "unknown critical member, command, algorithm or tag",
    "digest-mismatch": "manifest does not match the digest in the authentication wrapper",
    "signature-invalid": "a signature or MAC does not verify with the key it names",
    "no-trusted-key": "fewer authentication blocks verify with trusted keys than required",
    "severed-digest-mismatch": "a severable member does not match its digest in the manifest",
    "severed-member-missing": "a severed member needed for the check is absent",
    "rollback": "sequence number is lower than the minimum accepted",
    "vendor-mismatch": "vendor identifier differs from the expected one",
    "class-mismatch": "class identifier differs from the expected one",
    "image-mismatch": "image digest or size differs from the manifest",
    "missing-check": "the manifest installs or invokes without the vendor, class or image checks it must make",
    "image-missing": "an image check was asked for but no image was given",
    "key-invalid": "a key could not be loaded or does not fit the algorithm",
    "usage": "bad arguments or unreadable input",
    "profile-invalid": "a device or link profile of the energy model is unknown or malformed",
}


# --- TUF repository and update client -------------------------------------------------


class RepoError(FwsignError):
    """The TUF repository is missing, inconsistent, or the request does not fit it."""

    reason = "repo-invalid"
    exit_code = 2


class ThresholdNotMet(RepoError):
    """A role version lacks signatures; it stays pending until key holders sign it."""

    reason = "threshold-not-met"
    exit_code = 1


class MetadataTooLarge(RepoError):
    """A metadata file would exceed what a default TUF client accepts."""

    reason = "metadata-too-large"
    exit_code = 1


class TufRejected(VerificationError):
    """The TUF client refused repository metadata or a target (the reason names the check)."""

    reason = "tuf-rejected"


class NetworkError(FwsignError):
    """The repository could not be reached or a file could not be fetched."""

    reason = "network"
    exit_code = 2


REASONS.update({
    "repo-invalid": "the TUF repository is missing or inconsistent, or the request does not fit it",
    "threshold-not-met": "a role version is pending: fewer key holders signed it than its threshold",
    "metadata-too-large": "a metadata file would exceed a default TUF client's size limit",
    "tuf-rejected": "the TUF client refused repository metadata or a target",
    "tuf-signature": "metadata is not signed by a threshold of the keys trusted for its role",
    "tuf-expired": "metadata has expired (indefinite freeze protection)",
    "tuf-rollback": "metadata version is lower than one already trusted (rollback protection)",
    "tuf-hash-mismatch": "a file does not match the length or hashes its signed metadata gives",
    "tuf-too-large": "a download exceeded the length its metadata or the client limits allow",
    "tuf-not-found": "the repository holds no release for this device class",
    "network": "the repository could not be reached or a file could not be fetched",
})


# --- Simulated device and the C reference verifier ---------------------------------------


class PowerCutError(FwsignError):
    """Power was cut (injected) before the device finished; the next boot shows what survived."""

    reason = "power-cut"
    exit_code = 1


REASONS.update({
    "device-mismatch": "device identifier differs from the device's own",
    "abort": "the manifest aborted (condition-abort, or soft-failure set outside try-each/run-sequence)",
    "port-error": "the device's hardware port reported a fault (flash, payload source)",
    "no-bootable-image": "no slot holds an image that verifies: the device stays in its bootloader",
    "power-cut": "power was cut before the operation finished (simulated device)",
})


# --- Encrypted payloads (draft-ietf-suit-firmware-encryption) --------------------------


class EncryptionInfoError(DecodeError):
    """The encryption info (parameter 19) is not a COSE_Encrypt as SUIT uses it."""

    reason = "encryption-info-invalid"


class NoRecipient(VerificationError):
    """No recipient of the encryption info is addressed to the decryption keys given."""

    reason = "no-recipient"


class KeyUnwrapError(VerificationError):
    """The wrapped content-encryption key does not unwrap (wrong key or tampered)."""

    reason = "key-unwrap-failed"


class DecryptionError(VerificationError):
    """The ciphertext does not authenticate (tampered or truncated) or cannot be decrypted."""

    reason = "decryption-failed"


class NonceReuse(VerificationError):
    """An IV/nonce would be used a second time with the same content-encryption key."""

    reason = "nonce-reuse"


REASONS.update({
    "encryption-info-invalid": "the encryption info is not a well-formed COSE_Encrypt as SUIT payload encryption uses it",
    "no-recipient": "no recipient of the encryption info is addressed to the decryption key(s) given",
    "key-unwrap-failed": "the wrapped content-encryption key does not unwrap with the key given (wrong key or tampered)",
    "decryption-failed": "the encrypted payload does not authenticate (tampered or truncated ciphertext)",
    "nonce-reuse": "an IV/nonce would be reused with the same content-encryption key",
})


# --- Release policy, delegation and audit log ---------------------------------------------


class PolicyFileError(UsageError):
    """A release policy file is unreadable or malformed."""

    reason = "policy-invalid"


class DelegationError(VerificationError):
    """A trust-domains delegation chain does not verify back to a trusted anchor."""

    reason = "delegation-invalid"


class AuditLogError(FwsignError):
    """An audit log is malformed, or a record was edited, removed or reordered."""

    reason = "audit-log-invalid"
    exit_code = 1


REASONS.update({
    "policy-invalid": "a release policy file is unreadable or malformed",
    "policy-no-rule": "the release policy has no rule for the envelope's device class",
    "delegation-invalid": "a delegation chain (CWT) is malformed, not signed by a trusted issuer, or too long",
    "delegation-expired": "a delegation in the chain has expired or is not yet valid",
    "delegation-scope": "the manifest's vendor or class is outside the scope a delegation grants",
    "audit-log-invalid": "an audit log record was edited, removed or reordered, or its signed head does not verify",
})


# --- Repository writers, slow mirrors, audit log anchors ----------------------------------


class RepoLocked(RepoError):
    """Another command holds the repository's publish lock and did not finish within the wait."""

    reason = "repo-locked"
    exit_code = 2


class SlowRetrieval(NetworkError):
    """A download fell below the minimum speed or passed its deadline (TUF's slow-retrieval attack)."""

    reason = "slow-retrieval"
    exit_code = 2


REASONS.update({
    "repo-locked": "another command is changing the repository; it did not finish within the lock timeout",
    "slow-retrieval": "a download fell below the minimum speed or passed its deadline; nothing was installed",
    "audit-log-truncated": "the audit log ends before the head anchored in the signed repository metadata",
})
