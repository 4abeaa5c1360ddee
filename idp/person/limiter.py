"""Attempt limits for face logins (DESIGN section 6, step 5).

Failures are counted per key (an ID number's keyed hash, a client IP) in the short-lived
store for ``window`` seconds; the ``limit``-th failure locks the key for ``lockout``
seconds.  Every check and count goes through the store, whose outage raises
``StoreUnavailable`` (503): the limiter fails closed, never open.
"""
from __future__ import annotations

import hashlib
import hmac

from ..errors import TooManyRequests
from ..sealing import derive_key


class LockedOut(TooManyRequests):
    """Too many failed attempts; this login is locked for a while. Try again later."""


class AttemptLimiter:
    COUNT = "attempts:"
    LOCK = "lockout:"

    def __init__(self, store, secret: str, *, limit: int, window: int, lockout: int):
        self.store = store
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self._key = derive_key(secret, "person/attempt-keys")

    def id_key(self, id_number: str) -> str:
        """The counter key of an ID number: a keyed hash, so the store never holds the number."""
        return "id:" + hmac.new(self._key, id_number.encode(), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def ip_key(ip: str | None) -> str:
        return "ip:" + (ip or "unknown")

    def check(self, keys) -> None:
        """Raise ``LockedOut`` (429, with Retry-After) when any key is locked."""
        for key in keys:
            remaining = self.store.ttl(self.LOCK + key)
            if remaining is not None:
                raise LockedOut(headers={"Retry-After": str(remaining)})

    def failure(self, keys) -> bool:
        """Count a failure on every key; True when this failure locked one of them."""
        locked = False
        for key in keys:
            if self.store.incr(self.COUNT + key, self.window) >= self.limit:
                self.store.put(self.LOCK + key, 1, self.lockout)
                self.store.delete(self.COUNT + key)
                locked = True
        return locked

    def success(self, keys) -> None:
        """A login succeeded: forget the failures of these keys (never of an IP: an attacker
        must not clear their own count by logging in as themselves)."""
        for key in keys:
            if not key.startswith("ip:"):
                self.store.delete(self.COUNT + key)
