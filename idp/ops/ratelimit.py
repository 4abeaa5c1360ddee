"""Fixed-window rate limits on the token, login and liveness API endpoints.

Settings (requests per minute, 0 = off): ``rate_limit_token`` (``POST /token``),
``rate_limit_login`` (POSTs under ``/login/`` and licence-holder responses),
``rate_limit_api`` (``/api/v1/liveness/...``).  Each applies per client IP, and
``IDP_RATE_LIMIT_CLIENT_FACTOR`` (default 10) times that per client (one client serves
many users).  Counters live in the short-lived store (``incr`` with a TTL, one key per
window), so every node shares them.  Over the limit: 429 ``too_many_requests`` with
``Retry-After``.

The per-client count only includes requests whose client authenticated (anything but a 401),
so nobody can exhaust another platform's budget by sending its client id with a bad secret.

When the store is down the limiter fails closed (503) for login and the liveness API: they
need the store anyway and must never run unthrottled.  For the token endpoint it fails open:
client secrets are 256-bit random values (nothing to guess), and the grants that need the
store (authorization code) fail closed by themselves, so client credentials and refresh keep
working through a Redis outage.  The store is then not asked again for ``OPEN_SECONDS``
(a circuit breaker, so a hung Redis does not add its timeout to every token request).
"""
from __future__ import annotations

import base64
import json
import logging
import math
import re
import time
from urllib.parse import unquote

from flask import g, request

from ..errors import ServiceUnavailable, TooManyRequests
from .metrics import count_rate_limited

log = logging.getLogger(__name__)
WINDOW = 60
OPEN_SECONDS = 5.0
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._~:@-]{1,64}$")
_TOKEN_SUFFIXES = ("/response",)


def _scope(path: str, method: str, endpoint: str | None) -> str | None:
    if endpoint == "oidc.token":
        return "token"
    if method == "POST" and (path.startswith("/login/") or
                             (path.startswith("/elicense/challenges/") and path.endswith(_TOKEN_SUFFIXES))):
        return "login"
    if path.startswith("/api/v1/liveness/") or path == "/api/v1/liveness":
        return "api"
    return None


def _jwt_claim(token: str, *names) -> str | None:
    """A claim of an unverified JWT payload (only to pick a counter; the view verifies)."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError):
        return None
    for name in names:
        if isinstance(data, dict) and isinstance(data.get(name), str):
            return data[name]
    return None


def claimed_client(scope: str, store) -> str | None:
    """The client this request says it comes from (not yet authenticated)."""
    auth = request.headers.get("Authorization", "")
    cid = None
    if scope == "token":
        if auth[:6].lower() == "basic ":
            try:
                cid = unquote(base64.b64decode(auth[6:]).decode().partition(":")[0])
            except (ValueError, UnicodeError):
                cid = None
        else:
            cid = request.form.get("client_id")
            if not cid and request.form.get("client_assertion"):
                cid = _jwt_claim(request.form["client_assertion"], "sub")
    elif scope == "api" and auth[:7].lower() == "bearer ":
        cid = _jwt_claim(auth[7:].strip(), "client_id")
    elif scope == "login":
        parts = request.path.split("/")
        if len(parts) > 2 and parts[1] == "login":
            txn = store.get("txn:" + parts[2]) if 16 <= len(parts[2]) <= 64 else None
            cid = txn.get("client_id") if isinstance(txn, dict) else None
    return cid if isinstance(cid, str) and _CLIENT_ID.match(cid) else None


class RateLimiter:
    def __init__(self, store, limits: dict[str, int], client_factor: int = 10,
                 clock=time.time):
        self.store = store
        self.limits = limits
        self.client_factor = client_factor
        self.clock = clock
        self._open_until = 0.0  # token scope: store failed, skip it until then

    def _refuse(self, scope: str, retry_after: int):
        count_rate_limited(scope)
        raise TooManyRequests(f"too many requests; retry in {retry_after} s",
                              headers={"Retry-After": str(retry_after)})

    def before(self) -> None:
        scope = _scope(request.path, request.method, request.endpoint)
        limit = self.limits.get(scope or "", 0)
        if not scope or limit <= 0:
            return
        if scope == "token" and time.monotonic() < self._open_until:
            return
        now = self.clock()
        window = int(now // WINDOW)
        retry_after = max(1, math.ceil((window + 1) * WINDOW - now))
        try:
            ip = request.remote_addr or "-"
            if self.store.incr(f"rl:{scope}:ip:{ip}:{window}", WINDOW + 1) > limit:
                self._refuse(scope, retry_after)
            cid = claimed_client(scope, self.store)
            if cid:
                key = f"rl:{scope}:client:{cid}:{window}"
                if int(self.store.get(key) or 0) >= limit * self.client_factor:
                    self._refuse(scope, retry_after)
                g.rate_limit_client_key = key
        except ServiceUnavailable:
            if scope != "token":
                raise  # fail closed: 503
            self._open_until = time.monotonic() + OPEN_SECONDS
            log.warning("rate limiter: the short-lived store is unavailable; token endpoint "
                        "unthrottled for %.0f s", OPEN_SECONDS)

    def after(self, response):
        key = g.pop("rate_limit_client_key", None)
        if key and response.status_code != 401:
            try:
                self.store.incr(key, WINDOW + 1)
            except ServiceUnavailable:
                pass  # the response is already decided; the next request fails as it should
        return response


def init_app(app) -> None:
    state = app.extensions["idp"]
    s = state.settings
    limits = {"token": s.rate_limit_token, "login": s.rate_limit_login, "api": s.rate_limit_api}
    if not any(v > 0 for v in limits.values()):
        return
    limiter = RateLimiter(state.store, limits, s.rate_limit_client_factor)
    state.services["rate_limiter"] = limiter
    app.before_request(limiter.before)
    app.after_request(limiter.after)
