"""Authenticated encryption of small JSON blobs kept in shared stores.

User claims (names, ID numbers) must not sit in the database or Redis in clear: grants,
SSO sessions and codes keep them sealed with AES-256-GCM under a key derived (HKDF-SHA256)
from the server secret and a purpose label, so a blob sealed for one purpose cannot be
opened as another.
"""
from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"idp",
                info=purpose.encode()).derive(secret.encode())


class Sealer:
    def __init__(self, secret: str, purpose: str):
        self._aead = AESGCM(derive_key(secret, "seal:" + purpose))

    def seal_bytes(self, data: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, aad)

    def open_bytes(self, blob: bytes, aad: bytes = b"") -> bytes | None:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], aad)
        except (InvalidTag, ValueError):
            return None

    def seal(self, obj, aad: str = "") -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self.seal_bytes(raw, aad.encode())).decode()

    def open(self, text: str, aad: str = ""):
        try:
            blob = base64.urlsafe_b64decode(text.encode())
        except (ValueError, TypeError):
            return None
        raw = self.open_bytes(blob, aad.encode())
        return None if raw is None else json.loads(raw)
