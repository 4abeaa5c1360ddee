"""A WSGI cache for the public GET documents: discovery and JWKS.

Relying parties fetch these constantly; serving each through Flask's full request cycle
costs several times more than the document itself.  The first GET of a path goes through
the app as usual; its 200 response (status, headers, body: exactly what the views and
``idp.web`` produced) is kept and replayed with a fresh ``X-Request-Id`` for as long as its
source is unchanged: the key ring's current JWKS object (rebuilt on every key-ring refresh,
so a rotation shows as fast as without this cache) or the discovery document's bytes.
An ``If-None-Match`` naming the entry's ``ETag`` (set by the views: a hash of the body) is
answered ``304 Not Modified`` with the same headers and no body.
Only plain ``GET``s without a query string are served here; anything else, and any source
that fails (database down), goes to the app.
"""
from __future__ import annotations

import time

from . import metrics
from .reqlog import HEADER, access_line, sane_id

FILL = "idp.fastpath.fill"  # environ flag: an internal render, not a client request


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 13.1.2: ``*``, or one of the listed tags equal to ``etag`` by the weak
    comparison (``W/`` ignored)."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


class _Entry:
    __slots__ = ("source", "status", "headers", "body", "etag", "not_modified")

    def __init__(self, source, status, headers, body):
        self.source, self.status, self.headers, self.body = source, status, headers, body
        self.etag = next((v for k, v in headers if k.lower() == "etag"), None)
        # RFC 9110 15.4.5: a 304 carries the 200's Cache-Control, ETag, Vary (and the
        # security headers); not its Content-Type or Content-Length.
        self.not_modified = [(k, v) for k, v in headers
                             if k.lower() not in ("content-type", "content-length")]


class PublicDocumentCache:
    def __init__(self, wsgi_app, sources: dict):
        """``sources``: path -> (endpoint name, function returning the current source object)."""
        self.wsgi_app = wsgi_app
        self.sources = sources
        self._entries: dict[str, _Entry] = {}
        # The labelled metric children, looked up once (a label lookup per request cost
        # more than the increment).
        self._metrics = {path: (metrics.REQUESTS.labels(endpoint, "GET", "200"),
                                metrics.LATENCY.labels(endpoint))
                         for path, (endpoint, _) in sources.items()}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        spec = self.sources.get(path)
        if spec is None or environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            source = spec[1]()
        except Exception:  # let the app answer (and report) whatever is wrong
            return self.wsgi_app(environ, start_response)
        entry = self._entries.get(path)
        if entry is None or entry.source is not source:
            entry = self._fill(path, source, environ) if source is not None else None
            if entry is None:
                return self.wsgi_app(environ, start_response)
        rid = sane_id(environ.get("HTTP_X_REQUEST_ID", ""))
        tags = environ.get("HTTP_IF_NONE_MATCH")
        if tags and entry.etag and etag_matches(tags, entry.etag):
            status, code, headers, body = "304 Not Modified", 304, entry.not_modified, b""
        else:
            status, code, headers, body = entry.status, 200, entry.headers, entry.body
        start_response(status, headers + [(HEADER, rid)])
        requests, latency = self._metrics[path]
        (requests if code == 200 else metrics.REQUESTS.labels(
            self.sources[path][0], "GET", str(code))).inc()
        elapsed = time.perf_counter() - started
        latency.observe(elapsed)
        access_line("GET", path, code, rid, round(elapsed * 1000, 2), environ.get("REMOTE_ADDR"),
                    cached=True)
        return [body]

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
