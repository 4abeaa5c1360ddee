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


class Subjects:
    def __init__(self, secret: str):
        self._subject_key = derive_key(secret, "subject-key")
        self._pairwise_key = derive_key(secret, "pairwise-sub")

    def person(self, id_number: str) -> str:
        return "p:" + hmac.new(self._subject_key, b"person:" + id_number.encode(), hashlib.sha256).hexdigest()[:40]

    def entity(self, uscc: str) -> str:
        return "e:" + hmac.new(self._subject_key, b"entity:" + uscc.encode(), hashlib.sha256).hexdigest()[:40]

    def sub_for(self, subject: str, client) -> str:
        if client.metadata.get("subject_type") == "public":
            return subject
        mac = hmac.new(self._pairwise_key, f"{client.sector}\x00{subject}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
