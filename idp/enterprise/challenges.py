"""Licence challenges in the short-lived store.

``chal:<id>`` holds the challenge (nonce, audience, client, transaction, expiry) until it is
answered or expires; ``chal-result:<id>`` holds the outcome for the browser's next poll.
A challenge is taken once: two answers (or two nodes) can never both complete it.

The holder endpoints carry no cookie (the holder's phone is another device), so anyone who
sees a challenge id can post to it.  An answer that does not verify therefore changes
nothing the browser sees; it is only counted (``chal-bad:<id>``), and the
``MAX_INVALID``-th invalid answer expires the challenge, so it cannot be guessed at forever.
"""
from __future__ import annotations

import secrets
import time


MAX_INVALID = 5


class Challenges:
    def __init__(self, store, ttl: int, max_invalid: int = MAX_INVALID):
        self.store = store
        self.ttl = ttl
        self.max_invalid = max_invalid

    def create(self, *, txn_id: str, client_id: str, client_name: str, aud: str) -> dict:
        cid = secrets.token_urlsafe(24)
        data = {"challenge": cid, "nonce": secrets.token_urlsafe(24), "aud": aud,
                "client_id": client_id, "client_name": client_name, "txn": txn_id,
                "expires_at": int(time.time()) + self.ttl}
        self.store.put("chal:" + cid, data, self.ttl)
        self.store.put("txn-chal:" + txn_id, cid, self.ttl)
        return data

    def get(self, cid) -> dict | None:
        if not isinstance(cid, str) or not 16 <= len(cid) <= 64:
            return None
        return self.store.get("chal:" + cid)

    def take(self, cid: str) -> dict | None:
        return self.store.take("chal:" + cid)

    def invalid_answer(self, data: dict) -> bool:
        """Count an answer that did not verify; True when it used the challenge up."""
        cid = data["challenge"]
        if self.store.incr("chal-bad:" + cid, self.ttl) < self.max_invalid:
            return False
        if self.take(cid) is None:  # answered or expired meanwhile
            return False
        self.set_result(cid, {"state": "expired", "reason": "too_many_invalid_responses",
                              "txn": data["txn"]})
        return True

    def current_for(self, txn_id: str) -> str | None:
        return self.store.get("txn-chal:" + txn_id)

    def set_result(self, cid: str, result: dict) -> None:
        self.store.put("chal-result:" + cid, result, self.ttl + 60)

    def result(self, cid: str) -> dict | None:
        return self.store.get("chal-result:" + cid)

    def take_result(self, cid: str) -> dict | None:
        return self.store.take("chal-result:" + cid)


def public_view(data: dict) -> dict:
    """What the holder app may read (DESIGN section 9 step 2)."""
    return {k: data[k] for k in ("challenge", "nonce", "aud", "client_name", "expires_at")}
