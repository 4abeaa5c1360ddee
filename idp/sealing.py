"""Authenticated encryption of small JSON blobs kept in shared stores.

User claims (names, ID numbers) must not sit in the database or Redis in clear: grants,
SSO sessions and codes keep them sealed with AES-256-GCM under a key derived (HKDF-SHA256)
from the server secret and a purpose label, so a blob sealed for one purpose cannot be
opened as another.

Root secrets are versioned (``rootsecrets``): a blob records the id of the secret that
sealed it (``MAGIC | len | id | nonce | ciphertext``) and is opened with that secret.  Blobs
of the legacy secret (id ``0``) keep the old layout, ``nonce | ciphertext``, so nodes of the
previous release still read what this one seals until a new secret becomes current.
"""
from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .rootsecrets import LEGACY_ID, as_ring

MAGIC = b"\xffK"


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"idp",
                info=purpose.encode()).derive(secret.encode())


def split_blob(blob: bytes) -> tuple[str, bytes]:
    """(key id, nonce | ciphertext) of a sealed blob; untagged blobs are the legacy id's."""
    if blob[:2] == MAGIC and len(blob) > 3:
        size = blob[2]
        kid = blob[3:3 + size]
        if 1 <= size <= 16 and len(blob) > 3 + size and kid.isascii():
            return kid.decode("ascii"), bytes(blob[3 + size:])
    return LEGACY_ID, bytes(blob)


class Sealer:
    def __init__(self, secret, purpose: str):
        """``secret``: a ``SecretRing`` (or one secret string, the ring ``0:<secret>``)."""
        self.ring = as_ring(secret)
        self._purpose = purpose
        self._aeads: dict[str, AESGCM] = {}

    def _aead(self, kid: str) -> AESGCM | None:
        aead = self._aeads.get(kid)
        if aead is None:
            secret = self.ring.get(kid)
            if secret is None:
                return None
            aead = self._aeads[kid] = AESGCM(derive_key(secret, "seal:" + self._purpose))
        return aead

    def seal_bytes(self, data: bytes, aad: bytes = b"") -> bytes:
        kid = self.ring.current_id
        nonce = os.urandom(12)
        sealed = nonce + self._aead(kid).encrypt(nonce, data, aad)
        if kid == LEGACY_ID:
            return sealed
        return MAGIC + bytes([len(kid)]) + kid.encode("ascii") + sealed

    def open_bytes(self, blob: bytes, aad: bytes = b"") -> bytes | None:
        if not isinstance(blob, (bytes, bytearray)):
            return None
        kid, body = split_blob(blob)
        attempts = [(kid, body)]
        if kid != LEGACY_ID:  # a legacy nonce may start with MAGIC by chance (2**-16)
            attempts.append((LEGACY_ID, bytes(blob)))
        for key_id, data in attempts:
            aead = self._aead(key_id)
            if aead is None or len(data) < 28:
                continue
            try:
                return aead.decrypt(data[:12], data[12:], aad)
            except (InvalidTag, ValueError):
                continue
        return None

    def key_id(self, blob: bytes) -> str:
        """Which secret sealed ``blob`` (by its tag; ``idp secrets rotate`` re-seals the others)."""
        return split_blob(blob)[0]

    def seal(self, obj, aad: str = "") -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self.seal_bytes(raw, aad.encode())).decode()

    def open(self, text: str, aad: str = ""):
        try:
            blob = base64.urlsafe_b64decode(text.encode())
        except (ValueError, TypeError, AttributeError):
            return None
        raw = self.open_bytes(blob, aad.encode())
        return None if raw is None else json.loads(raw)
