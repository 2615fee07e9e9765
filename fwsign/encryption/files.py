"""Encrypting files at the edge: streamed, written to a temporary file, renamed at the end.

Nothing is left half-written: the ciphertext goes to a temporary file in the target's
directory that is renamed into place only by :meth:`PendingFile.commit`; on any failure
(or :meth:`PendingFile.discard`) the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from .keys import RecipientKey


@dataclass
class PendingFile:
    """A fully written temporary file waiting to be renamed onto ``path``."""

    path: Path
    tmp: Path
    size: int

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


def stream_to_pending(path: Path, chunks: Iterable[bytes], mode: int = 0o644) -> PendingFile:
    """Write ``chunks`` to a temporary file next to ``path`` (fsynced); rename later."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return PendingFile(path, tmp, size)


@dataclass
class EncryptedImage:
    """A plaintext file encrypted for a release: the info for parameter 19 and the ciphertext."""

    info: bytes
    #: Detached ciphertext waiting to be renamed into place, or None when embedded.
    pending: PendingFile | None
    #: The ciphertext in memory when it is integrated into the envelope.
    embedded: bytes | None


def load_recipients(device_keys: Iterable[Path], keks: Iterable[Path]) -> list[RecipientKey]:
    """The recipients of ``--encrypt-for`` (device public keys) and ``--encrypt-kek`` (KEK files)."""
    from ..errors import KeyLoadError
    from .keys import Kek, load_recipient

    recipients = []
    for path, want_kek in [*((p, False) for p in device_keys), *((p, True) for p in keks)]:
        r = load_recipient(path)
        if isinstance(r.key, Kek) != want_kek:
            raise KeyLoadError(f"{path} is {'not ' if want_kek else ''}a key-encryption key: give it with "
                               f"{'--encrypt-for' if want_kek else '--encrypt-kek'}")
        recipients.append(r)
    kids = [r.kid for r in recipients]
    if len(set(kids)) != len(kids):
        raise UsageError("the same recipient key is given twice")
    return recipients


def encrypt_for(firmware: Path, recipients: Sequence[RecipientKey], content_alg: int, out: Path | None) -> EncryptedImage:
    """Encrypt ``firmware`` with a fresh content key and IV; stream to ``out`` (pending) or to memory."""
    from ..streams import read_chunks
    from .core import encrypt_stream, new_info

    info, cek = new_info(recipients, content_alg)
    chunks = encrypt_stream(info, cek, read_chunks(firmware))
    if out is None:
        return EncryptedImage(info.encode(), None, b"".join(chunks))
    return EncryptedImage(info.encode(), stream_to_pending(out, chunks), None)


def encrypt_file(firmware: Path, device_keys: Iterable[Path], keks: Iterable[Path], content_alg: int,
                 out: Path | None) -> EncryptedImage:
    """Encrypt ``firmware`` for every device public key and KEK file; stream to ``out`` (pending) or to memory."""
    return encrypt_for(firmware, load_recipients(device_keys, keks), content_alg, out)


class PendingSet:
    """Several ciphertext files that appear together or not at all.

    :meth:`add` collects pending files; :meth:`commit` renames them all into place and,
    if one rename fails, removes the ones already renamed; :meth:`discard` removes the
    temporary files; :meth:`revert` removes committed files (when the envelope that names
    them could not be written).
    """

    def __init__(self) -> None:
        self.files: list[PendingFile] = []
        self._committed: list[PendingFile] = []

    def add(self, pending: PendingFile) -> None:
        if any(p.path.resolve() == pending.path.resolve() for p in self.files):
            pending.discard()
            self.discard()
            raise UsageError(f"two encrypted images would be written to {pending.path}")
        self.files.append(pending)

    def discard(self) -> None:
        for p in self.files:
            p.discard()

    def commit(self) -> None:
        try:
            for p in self.files:
                p.commit()
                self._committed.append(p)
        except BaseException:
            self.revert()
            self.discard()
            raise

    def revert(self) -> None:
        for p in self._committed:
            with contextlib.suppress(FileNotFoundError):
                p.path.unlink()
        self._committed = []
