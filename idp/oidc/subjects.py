"""Subject identifiers (OIDC Core section 8).

Inside the OP a principal is an internal *subject key*: ``p:`` or ``e:`` followed by an
HMAC of the stable identifier (ID number or USCC), so the raw ID number is never a key.
Relying parties see ``pairwise`` identifiers by default: an HMAC of the subject key and the
client's sector, so two sectors cannot correlate a user; ``public`` clients see the subject
key itself.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from ..sealing import derive_key


def _legacy(purpose: str):
    return lambda secret: derive_key(secret, purpose)


class Subjects:
    """``keys``: the ``DataKeys`` store, so subjects survive root-secret rotation (see
    ``rootsecrets/datakeys.py``); a plain secret string derives the keys from it."""

    def __init__(self, keys):
        self._store = None
        self._keys = None
        if isinstance(keys, str):
            self._keys = (derive_key(keys, "subject-key"), derive_key(keys, "pairwise-sub"))
        else:
            self._store = keys

    def _load(self) -> tuple[bytes, bytes]:
        if self._keys is None:  # first use: one read of data_keys, then memory
            self._keys = (self._store.get("subject-key", _legacy("subject-key")),
                          self._store.get("pairwise-sub", _legacy("pairwise-sub")))
        return self._keys

    def person(self, id_number: str) -> str:
        key = self._load()[0]
        return "p:" + hmac.new(key, b"person:" + id_number.encode(), hashlib.sha256).hexdigest()[:40]

    def entity(self, uscc: str) -> str:
        key = self._load()[0]
        return "e:" + hmac.new(key, b"entity:" + uscc.encode(), hashlib.sha256).hexdigest()[:40]

    def sub_for(self, subject: str, client) -> str:
        if client.metadata.get("subject_type") == "public":
            return subject
        mac = hmac.new(self._load()[1], f"{client.sector}\x00{subject}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
