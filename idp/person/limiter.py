"""Attempt limits for face logins (DESIGN section 6, step 5).

Every *start* of a face check (a new challenge, a restart, an API session) counts as an
attempt, so actions cannot be re-rolled for free.  Attempts are counted per key in the
short-lived store for ``window`` seconds; a start that would exceed a key's ceiling locks
that key for ``lockout`` seconds and is refused.  The keys and their ceilings:

- ``pair`` (ID number, client IP): the ordinary limit, what a citizen retrying meets;
- ``id`` (ID number from any IP): a higher ceiling, so that typing someone's number from one
  place cannot lock them out everywhere, while a distributed attack on one number still stops;
- ``ip`` (client IP for any number) and ``client`` (an API client): ceilings on one source
  trying many numbers or many anonymous sessions.

ID numbers appear only as keyed hashes.  Every check and count goes through the store, whose
outage raises ``StoreUnavailable`` (503): the limiter fails closed, never open.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ..errors import TooManyRequests
from ..sealing import derive_key


class LockedOut(TooManyRequests):
    """Too many attempts; this login is locked for a while. Try again later."""


@dataclass(frozen=True)
class Key:
    name: str    # store key suffix: "pair:<hash>", "id:<hash>", "ip:<addr>", "client:<id>"
    limit: int   # attempts allowed per window

    @property
    def kind(self) -> str:
        return self.name.partition(":")[0]


class AttemptLimiter:
    COUNT = "attempts:"
    LOCK = "lockout:"

    def __init__(self, store, secret: str, *, limit: int, window: int, lockout: int,
                 id_limit: int | None = None, ip_limit: int | None = None):
        self.store = store
        self.limit = limit
        self.id_limit = id_limit or 4 * limit
        self.ip_limit = ip_limit or 6 * limit
        self.window = window
        self.lockout = lockout
        self._key = derive_key(secret, "person/attempt-keys")

    def _hash(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]

    # -- keys --------------------------------------------------------------------------------
    def id_key(self, id_number: str) -> Key:
        """An ID number from anywhere: a keyed hash, so the store never holds the number."""
        return Key("id:" + self._hash(id_number), self.id_limit)

    def pair_key(self, id_number: str, ip: str | None) -> Key:
        return Key("pair:" + self._hash(f"{id_number}\x00{ip or 'unknown'}"), self.limit)

    def ip_key(self, ip: str | None, limit: int | None = None) -> Key:
        return Key("ip:" + (ip or "unknown"), limit or self.ip_limit)

    @staticmethod
    def client_key(client_id: str, limit: int) -> Key:
        return Key("client:" + client_id, limit)

    def person_keys(self, id_number: str | None, ip: str | None) -> list[Key]:
        keys = [self.pair_key(id_number, ip), self.id_key(id_number)] if id_number else []
        return keys + [self.ip_key(ip)]

    # -- decisions ---------------------------------------------------------------------------
    def check(self, keys) -> None:
        """Raise ``LockedOut`` (429, with Retry-After) when any key is locked."""
        for key in keys:
            remaining = self.store.ttl(self.LOCK + key.name)
            if remaining is not None:
                raise LockedOut(headers={"Retry-After": str(max(1, remaining))})

    def attempt(self, keys) -> None:
        """Count one attempt on every key (after ``check``); an attempt beyond a key's ceiling
        locks that key and is refused.  Every key is counted even when one locks, so a
        refused attempt still costs the other keys."""
        over = False
        for key in keys:
            if self.store.incr(self.COUNT + key.name, self.window) > key.limit:
                self.store.put(self.LOCK + key.name, 1, self.lockout)
                self.store.delete(self.COUNT + key.name)
                over = True
        if over:
            raise LockedOut(headers={"Retry-After": str(self.lockout)})

    def success(self, keys) -> None:
        """A login succeeded: forget the attempts on this person's keys (never those of an IP
        or a client: an attacker must not clear their own count by logging in as themselves)."""
        for key in keys:
            if key.kind in ("pair", "id"):
                self.store.delete(self.COUNT + key.name)
