"""Encrypted payloads for SUIT manifests (draft-ietf-suit-firmware-encryption-26).

The manifest keeps the digest and size of the *plaintext* image, so a device checks what
it will run after decryption; parameter 19 (encryption-info) carries a COSE_Encrypt with
a detached ciphertext: the payload file (or integrated payload) is the ciphertext.

* :func:`new_info` makes a content key and IV and wraps the key for each recipient;
  :func:`encrypt_stream` turns plaintext chunks into ciphertext chunks.
* :func:`parse_info` strictly parses untrusted encryption info; :func:`open_info`
  unwraps the content key with a device's key; :func:`decrypt_stream` decrypts chunks.
* :mod:`fwsign.encryption.keys` loads and generates key-agreement keys and KEKs;
  :mod:`fwsign.encryption.files` encrypts files with nothing half-written.
"""

from __future__ import annotations

from .algs import CONTENT_ALGS, CONTENT_NAMES, ContentAlg, KeyAlg
from .core import (
    Opened,
    ciphertext_size,
    decrypt_chunks,
    decrypt_stream,
    enc_structure,
    encrypt_stream,
    kdf_context,
    new_info,
    open_info,
)
from .info import EncryptionInfo, Recipient, parse_info
from .keys import DecryptionKey, Kek, RecipientKey, load_decryption_key, load_recipient

__all__ = [
    "CONTENT_ALGS",
    "CONTENT_NAMES",
    "ContentAlg",
    "DecryptionKey",
    "EncryptionInfo",
    "Kek",
    "KeyAlg",
    "Opened",
    "Recipient",
    "RecipientKey",
    "ciphertext_size",
    "decrypt_chunks",
    "decrypt_stream",
    "enc_structure",
    "encrypt_stream",
    "kdf_context",
    "load_decryption_key",
    "load_recipient",
    "new_info",
    "open_info",
    "parse_info",
]
