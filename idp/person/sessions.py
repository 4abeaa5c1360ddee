"""Liveness capture sessions: single-use, short-lived, bound to their owner and a nonce.

A session is opened by the person login page (bound to the login transaction) or by the
mini-program API (bound to the client).  It lives in the short-lived store under
``lv:<id>`` for ``ttl`` seconds and is *taken* (atomically removed) by the frames request,
so of two uploads at most one is ever evaluated.  The person it is about (ID number, name,
reference template) is sealed with AES-GCM bound to the session id: the store never holds
them in clear.  API sessions also keep a small state record (``lvs:<id>``) that outlives
the session, so their owner can read how it ended.
"""
from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass, field

from ..errors import InvalidRequest

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class InvalidSession(InvalidRequest):
    """The liveness session is unknown, expired, already used or belongs to another login; start again."""

    error = "invalid_session"


@dataclass
class Challenge:
    session: str
    nonce: str
    actions: list[str]
    expires_in: int
    mode: str = "passive"
    capture: dict | None = None  # what the capturing page needs to guide (``guidance.plan``)

    def to_dict(self) -> dict:
        out = {"session": self.session, "nonce": self.nonce, "actions": list(self.actions),
               "expires_in": self.expires_in, "mode": self.mode}
        if self.capture is not None:
            out["capture"] = self.capture
        return out


@dataclass
class PendingSession:
    id: str
    binding: str
    mode: str  # passive | active
    actions: list[str]
    created_at: float
    person: dict | None = field(default=None, repr=False)  # id_number, name, reference
    taken_at: float = 0.0

    @property
    def elapsed_ms(self) -> float:
        """Time from the session's start to its upload, on the server's clock."""
        return (self.taken_at - self.created_at) * 1000.0


class LivenessSessions:
    PENDING = "lv:"
    STATE = "lvs:"

    def __init__(self, store, sealer, ttl: int, *, state_ttl: int = 3600, clock=time.time):
        self.clock = clock  # wall clock shared by every node (the session may move nodes)
        self.store = store
        self.sealer = sealer
        self.ttl = ttl
        self.state_ttl = max(state_ttl, ttl)

    def open(self, *, binding: str, mode: str, actions: list[str], person: dict | None,
             track_state: bool = False, capture: dict | None = None) -> Challenge:
        sid, nonce, now = secrets.token_urlsafe(24), secrets.token_urlsafe(24), self.clock()
        record = {"binding": binding, "nonce": nonce, "mode": mode, "actions": list(actions),
                  "created_at": now,
                  "person": self.sealer.seal(person, aad=sid) if person is not None else None}
        self.store.put(self.PENDING + sid, record, self.ttl)
        if track_state:
            self.store.put(self.STATE + sid, {"binding": binding, "state": "pending", "mode": mode,
                                              "actions": list(actions), "created_at": now,
                                              "expires_at": now + self.ttl,
                                              "with_id_number": person is not None},
                           self.state_ttl)
        return Challenge(sid, nonce, list(actions), self.ttl, mode, capture)

    def take(self, sid, nonce, binding: str) -> PendingSession:
        """Consume the session.  Another owner's touch leaves it as it was (a client must not
        be able to spend a session it does not own); its owner's wrong nonce burns it."""
        if not isinstance(sid, str) or not SESSION_ID.match(sid) or not isinstance(nonce, str):
            raise InvalidSession()
        peek = self.store.get(self.PENDING + sid)
        if not peek or peek["binding"] != binding:
            raise InvalidSession()
        data = self.store.take(self.PENDING + sid)
        now = self.clock()
        if not data or data["binding"] != binding or not hmac.compare_digest(
                data["nonce"].encode(), nonce.encode()):
            raise InvalidSession()
        # The store's expiry is the first bound; this one holds whatever its granularity.
        if not 0 <= now - data["created_at"] <= self.ttl:
            raise InvalidSession()
        person = None
        if data["person"] is not None:
            person = self.sealer.open(data["person"], aad=sid)
            if person is None:
                raise InvalidSession()
        return PendingSession(sid, binding, data["mode"], list(data["actions"]),
                              data["created_at"], person, taken_at=now)

    def finish(self, sid: str, binding: str, result: dict) -> None:
        state = self.state(sid, binding) or {"binding": binding}
        state.update(state="completed", result=result, completed_at=self.clock())
        state.pop("session", None)
        state["binding"] = binding
        self.store.put(self.STATE + sid, state, self.state_ttl)

    def state(self, sid, binding: str) -> dict | None:
        """The session's state for its owner; None for unknown ids and other owners alike."""
        if not isinstance(sid, str) or not SESSION_ID.match(sid):
            return None
        data = self.store.get(self.STATE + sid)
        if not data or data.get("binding") != binding:
            return None
        data = dict(data)
        if data["state"] == "pending" and data["expires_at"] <= self.clock():
            data["state"] = "expired"
        data["session"] = sid
        return data
