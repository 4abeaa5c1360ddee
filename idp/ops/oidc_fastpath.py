"""The two read-mostly requests of a signed-in user's code flow without Flask's request cycle.

A relying party's login of a user who already has an SSO session and whose consent is
remembered is four requests: ``/authorize`` (answered at once with the code), the code at
``/token``, ``/userinfo``, and later refreshes.  Measured with py-spy under ``idp serve``
(``bench/codeflow_bench.py``), Flask's cycle around each (request context, werkzeug request
and response objects, routing, the before/after hooks of every area) was ~14 % of the
worker's Python time.  This WSGI layer answers the success of two of them itself:

* ``GET /authorize`` (query string, ASCII, well formed, each parameter once) when the SSO
  session cookie names a session that satisfies the request (no ``prompt=login``, ``max_age``,
  acr and ``id_token_hint`` checks) and the consent is remembered (no ``prompt=consent``):
  the same ``parse_request``, ``session_satisfies``, ``needs_consent`` and ``issue_code`` as
  the view, and the same 302 (werkzeug's redirect body).
* ``GET /userinfo`` with ``Authorization: Bearer``: ``views.userinfo_claims``, the view's own
  checks, and the same JSON.

Everything up to the answer is read-only (the code is stored last), so whatever does not pass,
or raises, goes to the app untouched, which checks it again and answers as it always has:
every refusal, error page, error redirect, login or consent page, ``prompt=none`` answer.
The answers carry the full path's headers (``idp.web``'s security headers, ``X-Request-Id``),
count in the same metrics and write the same access line.  Tokens are the token fast path's
the token fast path's business (``token_fastpath``): a redeemed code must never be run twice.
"""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_cookie
from werkzeug.utils import redirect

from ..web import security_headers
from . import metrics
from .reqlog import HEADER, access_line, sane_id

MAX_QUERY = 8192


class SignedInFastPath:
    def __init__(self, wsgi_app, provider, *, hsts: bool, on_request=None):
        self.wsgi_app = wsgi_app
        self.provider = provider
        self.on_request = on_request  # e.g. the audit checkpointer's wake(), a before_request hook
        self._security = security_headers(hsts)
        from ..oidc import authorize, views
        from ..oidc.sessions import COOKIE
        self._az, self._views, self._cookie = authorize, views, COOKIE
        self._metrics = {
            "/authorize": (metrics.REQUESTS.labels("oidc.authorize", "GET", "302"),
                           metrics.LATENCY.labels("oidc.authorize"), "oidc.authorize", 302),
            "/userinfo": (metrics.REQUESTS.labels("oidc.userinfo", "GET", "200"),
                          metrics.LATENCY.labels("oidc.userinfo"), "oidc.userinfo", 200)}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if path not in self._metrics or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            answer = self._authorize(environ) if path == "/authorize" else self._userinfo(environ)
        except Exception:  # noqa: BLE001 - the app answers (and reports) whatever this was
            answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        rid = sane_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response(status, headers + [(HEADER, rid)] + self._security)
        if self.on_request is not None:
            self.on_request()
        requests, latency, route, code = self._metrics[path]
        requests.inc()
        elapsed = time.perf_counter() - started
        latency.observe(elapsed)
        access_line("GET", path, code, rid, round(elapsed * 1000, 2), environ.get("REMOTE_ADDR"))
        return [body]

    def _authorize(self, environ):
        query = environ.get("QUERY_STRING", "")
        if not query or len(query) > MAX_QUERY or "HTTP_COOKIE" not in environ:
            return None
        try:
            pairs = parse_qsl(query.encode("latin-1").decode("ascii"), keep_blank_values=True,
                              strict_parsing=True)
        except (UnicodeError, ValueError):
            return None
        if len({k for k, _ in pairs}) != len(pairs):
            return None  # a repeated parameter: the app says what the protocol says
        az, provider = self._az, self.provider
        txn = az.parse_request(provider, MultiDict(pairs))
        if "login" in txn.prompt or "consent" in txn.prompt:
            return None
        client = provider.clients.active(txn.client_id)
        session = provider.sessions.get(parse_cookie(environ).get(self._cookie))
        if not az.session_satisfies(provider, txn, session, client) or \
                az.needs_consent(provider, txn, session.subject):
            return None
        response = redirect(az.issue_code(provider, txn, session), 302)
        headers = [(k, v) for k, v in response.headers.items()]
        headers.append(("Cache-Control", "no-store"))  # idp.web: every text/html answer
        return response.status, headers, response.get_data()

    def _userinfo(self, environ):
        if environ.get("QUERY_STRING") or "HTTP_TRANSFER_ENCODING" in environ or \
                environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
            return None
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        body = json.dumps(self._views.userinfo_claims(self.provider, token)).encode()
        return "200 OK", [("Content-Type", "application/json"),
                          ("Content-Length", str(len(body))), ("Cache-Control", "no-store")], body


def install(app) -> None:
    """Wrap the app (inside ProxyFix, so addresses and scheme are the proxied ones)."""
    state = app.extensions["idp"]

    def wake():  # what the audit trail's before_request hook does (wired after this)
        checkpoints = state.services.get("checkpoints")
        if checkpoints is not None and checkpoints.automatic:
            checkpoints.wake()

    app.wsgi_app = SignedInFastPath(app.wsgi_app, state.provider, on_request=wake,
                                    hsts=bool(state.settings.cookie_secure))
