"""One exception hierarchy for everything fwsign rejects.

Every error carries a stable, machine-readable ``reason`` code (documented in the
README and used by the CLI's ``--json`` output) and, where it applies, the ``path``
inside the structure that failed (``manifest.common.shared-sequence[4]``). Callers
match on the reason code, never on the message text.
"""

from __future__ import annotations

from fwsign import _tables


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


class KeyStateError(FwsignError):
    """The state of a stateful (hash-based) signing key cannot be read, reserved or written safely."""

    reason = "key-state-invalid"
    exit_code = 2


class KeyExhausted(KeyStateError):
    """Every one-time key of a stateful (hash-based) signing key has been used or reserved."""

    reason = "key-exhausted"


#: Stable reason codes and what they mean (printed in the README and by --help), from
#: fwsign/model_tables.toml, the source bootloader-ref's bootref_reason() is generated from.
REASONS: dict[str, str] = dict(_tables.REASONS)


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


class RolloutInvalid(TufRejected):
    """A signed rollout file is malformed, over its size limit, or names another device class."""

    reason = "rollout-invalid"


class RolloutStateError(RepoError):
    """The rollout cannot make that change now (halted, paused, last stage, minimum stage time)."""

    reason = "rollout-state"
    exit_code = 1


# --- Simulated device and the C reference verifier ---------------------------------------


class PowerCutError(FwsignError):
    """Power was cut (injected) before the device finished; the next boot shows what survived."""

    reason = "power-cut"
    exit_code = 1


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


# --- Repository writers, slow mirrors, audit log anchors ----------------------------------


class RepoLocked(RepoError):
    """Another command holds the repository's publish lock and did not finish within the wait."""

    reason = "repo-locked"
    exit_code = 2


class SlowRetrieval(NetworkError):
    """A download fell below the minimum speed or passed its deadline (TUF's slow-retrieval attack)."""

    reason = "slow-retrieval"
    exit_code = 2


# --- Delta updates (docs/delta.md) ------------------------------------------------------


class PatchError(DecodeError):
    """A delta patch is not well-formed FWD1, does not fit its source, or overruns its target."""

    reason = "patch-invalid"


# --- SUIT reports ----------------------------------------------------------------------


class ReportReplayed(VerificationError):
    """A SUIT report does not answer the nonce asked for, or repeats one already accepted."""

    reason = "report-replayed"


# --- Update management (draft-ietf-suit-update-management; processing model section 14) ---


class UseBeforePassed(VerificationError):
    """condition-use-before: the device's time is at or after the manifest's use-before."""

    reason = "use-before-passed"


class BatteryLow(VerificationError):
    """condition-minimum-battery: the battery holds less than the manifest asks for."""

    reason = "battery-low"


class NotAuthorized(VerificationError):
    """condition-update-authorized: the device's application did not authorize the update."""

    reason = "not-authorized"


class VersionMismatch(VerificationError):
    """condition-version: the component's version is outside the allowed range."""

    reason = "version-mismatch"


class ImageMatches(VerificationError):
    """condition-image-not-match: the component already holds the excluded image."""

    reason = "image-matches"


class Deferred(VerificationError):
    """directive-wait: the event it waits for has not occurred; nothing was installed."""

    reason = "deferred"


# --- the fleet collector -----------------------------------------------------------------


class UnknownDevice(VerificationError):
    """A report arrived for a device the collector has no key for."""

    reason = "unknown-device"


class WrongDevice(VerificationError):
    """A report is signed with a key other than the one registered for the device it is posted for."""

    reason = "wrong-device"


class DatabaseUnavailable(FwsignError):
    """The collector's database cannot take a write now (gone, full, read-only)."""

    reason = "database-unavailable"
    exit_code = 2
