"""SSO sessions: server-side state in the short-lived store, bound to an HttpOnly cookie.

The cookie holds only the random session id; the session (``sess:<sid>``) holds the subject,
when and how the user authenticated (``auth_time``, ``acr``, ``amr``), the user's claims
sealed with AES-GCM, and the relying parties that received tokens in it (for back-channel
logout, with the ``sub`` each one knows).
"""
from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field

from ..interaction import acr_level

COOKIE = "idp_session"


@dataclass
class SsoSession:
    sid: str
    subject: str
    auth_time: int
    acr: str
    amr: list[str]
    claims_sealed: str
    expires_at: float
    clients: dict[str, str] = field(default_factory=dict)  # client_id -> sub it received

    def to_dict(self) -> dict:
        return asdict(self)


class Sessions:
    PREFIX = "sess:"

    def __init__(self, store, sealer, ttl: int):
        self.store = store
        self.sealer = sealer
        self.ttl = ttl

    def get(self, sid) -> SsoSession | None:
        if not isinstance(sid, str) or not 16 <= len(sid) <= 64:
            return None
        data = self.store.get(self.PREFIX + sid)
        if not data:
            return None
        session = SsoSession(**data)
        return session if session.expires_at > time.time() else None

    def claims(self, session: SsoSession) -> dict:
        return self.sealer.open(session.claims_sealed, aad=session.sid) or {}

    def login(self, current: SsoSession | None, *, subject: str, acr: str, amr: list[str],
              claims: dict) -> SsoSession:
        """Create a session, or extend the current one when the same subject logs in again.

        A new authentication always records a new ``auth_time``; the acr of an existing
        session is raised (step-up), never lowered.
        """
        now = int(time.time())
        if current and current.subject == subject:
            session = current
            if acr_level(acr) >= acr_level(session.acr):
                session.acr, session.amr = acr, list(amr)
            session.auth_time = now
        else:
            if current:
                self.end(current.sid)
            sid = secrets.token_urlsafe(24)
            session = SsoSession(sid=sid, subject=subject, auth_time=now, acr=acr, amr=list(amr),
                                 claims_sealed="", expires_at=now + self.ttl)
        session.claims_sealed = self.sealer.seal(claims, aad=session.sid)
        session.expires_at = now + self.ttl
        self.save(session)
        return session

    def save(self, session: SsoSession) -> None:
        remaining = int(session.expires_at - time.time())
        if remaining > 0:
            self.store.put(self.PREFIX + session.sid, session.to_dict(), remaining)

    def add_client(self, session: SsoSession, client_id: str, sub: str) -> None:
        if session.clients.get(client_id) != sub:
            session.clients[client_id] = sub
            self.save(session)

    def end(self, sid: str) -> SsoSession | None:
        """End a session; tokens bound to it stop introspecting as active."""
        data = self.store.take(self.PREFIX + sid)
        # Remember the end for as long as any access token of the session may live.
        self.store.put(ended_key(sid), 1, max(self.ttl, 3600))
        return SsoSession(**data) if data else None

    def ended(self, sid: str | None) -> bool:
        return bool(sid) and self.store.get(ended_key(sid)) is not None


def ended_key(sid: str) -> str:
    """The short-lived store's marker of an ended SSO session (read with other keys at once)."""
    return "sid-ended:" + sid
