"""Field encryption for registry rows, and keys derived from the server secret.

Each personal field is sealed with AES-256-GCM under a random 96-bit nonce (NIST SP 800-38D
section 8.2.2: random nonces are safe for up to 2**32 messages per key).  The associated
data names the row (its ``id_hash``) and the column, so a ciphertext copied into another
row, or from the name column into the template column, fails to decrypt instead of
attaching one person's face to another's ID number.

Blob layout: ``version (1 byte) | nonce (12) | ciphertext + tag (16)`` for the legacy root
secret (id ``0``), and ``2 | len | key id | nonce | ciphertext + tag`` once root secrets are
versioned (``idp/rootsecrets``): a row is opened with the key it records, and
``idp secrets rotate`` re-encrypts the rows whose key is not the current one.
"""
from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
VERSION_KEYED = b"\x02"
LEGACY_ID = "0"
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
    """AES-256-GCM with random nonces; ``aad`` binds a ciphertext to where it is stored.

    ``keys``: one 32-byte key (the legacy id ``0``), or ``{key id: key}`` with the current
    key first."""

    def __init__(self, keys):
        if isinstance(keys, bytes):
            keys = {LEGACY_ID: keys}
        if (not isinstance(keys, dict) or not keys
                or any(not isinstance(k, bytes) or len(k) != KEY_BYTES for k in keys.values())):
            raise ValueError("FieldCipher needs a 32-byte key (AES-256)")
        self._aeads = {kid: AESGCM(key) for kid, key in keys.items()}
        self.current_id = next(iter(keys))

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aeads[self.current_id].encrypt(nonce, plaintext, aad)
        if self.current_id == LEGACY_ID:
            return VERSION + sealed
        kid = self.current_id.encode("ascii")
        return VERSION_KEYED + bytes([len(kid)]) + kid + sealed

    @staticmethod
    def key_id(blob: bytes) -> str | None:
        """The id of the key a blob was sealed with (None: not a field ciphertext)."""
        if not isinstance(blob, (bytes, bytearray)) or not blob:
            return None
        if blob[:1] == VERSION:
            return LEGACY_ID
        if blob[:1] == VERSION_KEYED and len(blob) > 2:
            return bytes(blob[2:2 + blob[1]]).decode("ascii", "replace")
        return None

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        kid = self.key_id(blob)
        body = (blob[1:] if kid == LEGACY_ID else blob[2 + blob[1]:]) if kid else b""
        if kid is None or len(body) < NONCE_BYTES + TAG_BYTES:
            raise DecryptError("not a field ciphertext")
        aead = self._aeads.get(kid)
        if aead is None:
            raise DecryptError(f"sealed with root secret id {kid!r}, which is not configured")
        nonce, sealed = body[:NONCE_BYTES], body[NONCE_BYTES:]
        try:
            return aead.decrypt(bytes(nonce), bytes(sealed), aad)
        except InvalidTag:
            raise DecryptError("authentication failed") from None


def row_aad(id_hash: str, column: str) -> bytes:
    """Associated data for one field of one registry row."""
    return f"registry_persons|{column}|{id_hash}".encode("ascii")
