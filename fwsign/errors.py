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
    "image-missing": "an image check was asked for but no image was given",
    "key-invalid": "a key could not be loaded or does not fit the algorithm",
    "usage": "bad arguments or unreadable input",
}
