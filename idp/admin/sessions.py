"""Console sessions: server-side, in the short-lived store, behind the ``idp_admin`` cookie.

The cookie holds a random id; the store keeps ``admin-sess:<sha256(id)>`` for an idle
timeout that each request renews, and a session never outlives ``ABSOLUTE`` seconds.  The
cookie is HttpOnly and SameSite=Strict and scoped to ``/admin``.
"""
from __future__ import annotations

import hashlib
import secrets
import time

COOKIE = "idp_admin"
IDLE = 15 * 60
ABSOLUTE = 8 * 3600


def _key(sid: str) -> str:
    return "admin-sess:" + hashlib.sha256(sid.encode()).hexdigest()


def idle_timeout(settings) -> int:
    """``IDP_ADMIN_SESSION_TTL``: the console's idle timeout (validated in idp/config.py)."""
    return settings.admin_session_ttl


class ConsoleSessions:
    def __init__(self, store, idle: int = IDLE):
        self.store = store
        self.idle = idle

    def start(self, username: str) -> str:
        sid = secrets.token_urlsafe(32)
        self.store.put(_key(sid), {"user": username, "created": time.time()}, self.idle)
        return sid

    def load(self, sid) -> str | None:
        """The user name of a live session (renewing its idle timeout), or None."""
        if not isinstance(sid, str) or not 20 <= len(sid) <= 64:
            return None
        data = self.store.get(_key(sid))
        if not isinstance(data, dict):
            return None
        left = ABSOLUTE - (time.time() - data.get("created", 0))
        if left <= 0:
            self.store.delete(_key(sid))
            return None
        self.store.put(_key(sid), data, max(1, int(min(self.idle, left))))
        return data.get("user")

    def end(self, sid) -> None:
        if isinstance(sid, str) and sid:
            self.store.delete(_key(sid))
