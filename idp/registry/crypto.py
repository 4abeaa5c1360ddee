"""Field encryption for registry rows, and keys derived from the server secret.

Each personal field is sealed with AES-256-GCM under a random 96-bit nonce (NIST SP 800-38D
section 8.2.2: random nonces are safe for up to 2**32 messages per key).  The associated
data names the row (its ``id_hash``) and the column, so a ciphertext copied into another
row, or from the name column into the template column, fails to decrypt instead of
attaching one person's face to another's ID number.

Blob layout: ``version (1 byte) | nonce (12) | ciphertext + tag (16)``; the version byte
leaves room for key rotation without guessing.
"""
from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
# HKDF salt (RFC 5869 section 3.1): a fixed, application-specific value is allowed and
# separates our derivations from any other use of the same secret.
_SALT = b"idp/registry/hkdf-salt/v1"


class DecryptError(Exception):
    """The ciphertext is corrupt, was moved to another row, or was sealed with another key."""


def derive_key(secret: str, purpose: str, *, length: int = KEY_BYTES) -> bytes:
    """HKDF-SHA256 (RFC 5869) of the server secret; ``purpose`` separates the keys."""
    if not secret:
        raise ValueError("derive_key needs a non-empty secret")
    if not purpose:
        raise ValueError("derive_key needs a purpose")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT,
                info=purpose.encode("utf-8"))
    return hkdf.derive(secret.encode("utf-8"))


class FieldCipher:
    """AES-256-GCM with random nonces; ``aad`` binds a ciphertext to where it is stored."""

    def __init__(self, key: bytes):
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ValueError("FieldCipher needs a 32-byte key (AES-256)")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if (not isinstance(blob, (bytes, bytearray))
                or len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[:1] != VERSION):
            raise DecryptError("not a field ciphertext")
        nonce, sealed = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
        try:
            return self._aead.decrypt(bytes(nonce), bytes(sealed), aad)
        except InvalidTag:
            raise DecryptError("authentication failed") from None


def row_aad(id_hash: str, column: str) -> bytes:
    """Associated data for one field of one registry row."""
    return f"registry_persons|{column}|{id_hash}".encode("ascii")
