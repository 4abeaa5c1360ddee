"""A WSGI cache for the public GET documents: discovery and JWKS.

Relying parties fetch these constantly; serving each through Flask's full request cycle
costs several times more than the document itself.  The first GET of a path goes through
the app as usual; its 200 response (status, headers, body: exactly what the views and
``idp.web`` produced) is kept and replayed with a fresh ``X-Request-Id`` for as long as its
source is unchanged: the key ring's current JWKS object (rebuilt on every key-ring refresh,
so a rotation shows as fast as without this cache) or the discovery document's bytes.
Only plain ``GET``s without a query string are served here; anything else, and any source
that fails (database down), goes to the app.
"""
from __future__ import annotations

import logging
import secrets
import time

from . import metrics
from .reqlog import HEADER, _SANE, access_log

FILL = "idp.fastpath.fill"  # environ flag: an internal render, not a client request


class _Entry:
    __slots__ = ("source", "status", "headers", "body")

    def __init__(self, source, status, headers, body):
        self.source, self.status, self.headers, self.body = source, status, headers, body


class PublicDocumentCache:
    def __init__(self, wsgi_app, sources: dict):
        """``sources``: path -> (endpoint name, function returning the current source object)."""
        self.wsgi_app = wsgi_app
        self.sources = sources
        self._entries: dict[str, _Entry] = {}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        spec = self.sources.get(path)
        if spec is None or environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        endpoint, source_of = spec
        try:
            source = source_of()
        except Exception:  # let the app answer (and report) whatever is wrong
            return self.wsgi_app(environ, start_response)
        entry = self._entries.get(path)
        if entry is None or entry.source is not source:
            entry = self._fill(path, source, environ) if source is not None else None
            if entry is None:
                return self.wsgi_app(environ, start_response)
        rid = environ.get("HTTP_X_REQUEST_ID", "")
        if not _SANE.match(rid):
            rid = secrets.token_hex(16)
        start_response(entry.status, entry.headers + [(HEADER, rid)])
        metrics.REQUESTS.labels(endpoint, "GET", "200").inc()
        metrics.LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("GET %s 200", path, extra={
                "request_id": rid, "method": "GET", "route": path, "status": 200,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "remote_addr": environ.get("REMOTE_ADDR"), "cached": True})
        return [entry.body]

    def _fill(self, path: str, source, environ) -> _Entry | None:
        """Render the document through the app (not counted: the caller's request is)."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        env = {k: v for k, v in environ.items() if not k.startswith("HTTP_") or k in (
            "HTTP_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")}
        env[FILL] = True
        body_iter = self.wsgi_app(env, capture)
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close:
                close()
        headers = [(k, v) for k, v in captured.get("headers", [])
                   if k.lower() not in ("x-request-id", "date", "set-cookie")]
        if captured.get("status", "").startswith("200 ") and \
                not any(k.lower() == "set-cookie" for k, _ in captured["headers"]):
            entry = _Entry(source, captured["status"], headers, body)
            self._entries[path] = entry
            return entry
        return None


def install(app) -> None:
    state = app.extensions["idp"]

    def discovery():
        return state.discovery_bytes

    sources = {"/jwks.json": ("oidc.jwks", state.keyring.jwks),
               "/.well-known/openid-configuration": ("oidc.discovery", discovery),
               "/.well-known/oauth-authorization-server": ("oidc.oauth_metadata", discovery)}
    app.wsgi_app = PublicDocumentCache(app.wsgi_app, sources)
