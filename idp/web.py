"""Cross-cutting HTTP behaviour: error rendering, security headers, CSRF, body limits, cookies.

Errors: every ``IdpError`` (and werkzeug's HTTP errors) is rendered as
``{"error", "error_description"}`` JSON for protocol endpoints and APIs, and as an HTML page
for browser pages.  Unexpected exceptions become a logged 500 without details; a dependency
outage becomes 503.

CSRF: double-submit with a signed token.  A random value lives in an HttpOnly SameSite=Lax
cookie; pages embed ``HMAC(secret, value)`` in ``<meta name="csrf-token">`` and forms; a
protected POST must send it as the ``csrf_token`` field or the ``X-CSRF-Token`` header.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from flask import g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from .errors import CSRFError, IdpError, PayloadTooLarge

log = logging.getLogger(__name__)
CSRF_COOKIE = "idp_csrf"
JSON_PREFIXES = ("/token", "/introspect", "/revoke", "/userinfo", "/jwks.json", "/.well-known",
                 "/api/", "/admin/api/", "/elicense/challenges/", "/par", "/register")
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
       "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def security_headers(hsts: bool) -> list[tuple[str, str]]:
    """The headers every answer carries (the app's and the fast paths' alike)."""
    headers = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
               ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")]
    if hsts:
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return headers
HTTP_ERRORS = {400: "invalid_request", 401: "invalid_token", 403: "access_denied",
               404: "not_found", 405: "invalid_request", 413: "invalid_request",
               415: "invalid_request", 429: "too_many_requests"}


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes["application/json"] > \
        request.accept_mimetypes["text/html"]


def render_error(error: IdpError):
    if wants_json():
        response = jsonify(error.to_dict())
    else:
        response = render_template("error.html", error=error), error.status
        from flask import make_response
        response = make_response(response)
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def _http_error(exc: HTTPException):
    if exc.code == 413:
        return render_error(PayloadTooLarge("the request body is larger than this endpoint accepts"))
    error = IdpError(exc.description or exc.name, error=HTTP_ERRORS.get(exc.code, "invalid_request"),
                     status=exc.code or 400)
    if exc.code == 405 and exc.valid_methods:
        error.headers["Allow"] = ", ".join(exc.valid_methods)
    return render_error(error)


def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(IdpError("an internal error occurred", error="server_error", status=500))


# -- CSRF ---------------------------------------------------------------------------------------
def csrf_token() -> str:
    """The token for the current browser (creates its cookie value on first use)."""
    value = request.cookies.get(CSRF_COOKIE)
    if not value or len(value) > 64:
        value = g.get("new_csrf_cookie") or secrets.token_urlsafe(24)
        g.new_csrf_cookie = value
    return _sign(value)


def _sign(value: str, key: str | None = None) -> str:
    from flask import current_app
    key = (key or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


def _csrf_matches(cookie: str, sent: str) -> bool:
    """Signed with the current root secret, or with an older one of the ring: a page served
    by a node still on the previous secret stays usable during a rotation (issue 15)."""
    from flask import current_app
    keys = [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", ())]
    return any(hmac.compare_digest(_sign(cookie, key), sent) for key in keys)


def require_csrf() -> None:
    """Refuse a state-changing request without the browser's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if not cookie or not sent or not _csrf_matches(cookie, sent):
        raise CSRFError("the CSRF token is missing or wrong; reload the page and try again")


# -- wiring ---------------------------------------------------------------------------------------
def init_app(app, settings) -> None:
    upload_endpoints = app.config.setdefault("UPLOAD_ENDPOINTS", set())

    @app.before_request
    def _limits():
        g.session_cookie = None
        if request.endpoint in upload_endpoints:
            return
        request.max_content_length = settings.max_body_bytes
        if (request.content_length is None and "wsgi.input_terminated" in request.environ
                and "chunked" in request.headers.get("Transfer-Encoding", "").lower()):
            _buffer_chunked_body(settings.max_body_bytes)

    @app.after_request
    def _headers(response):
        h = response.headers
        for name, value in security_headers(bool(settings.cookie_secure)):
            h.setdefault(name, value)
        if response.mimetype == "text/html":
            h.setdefault("Cache-Control", "no-store")
        new_csrf = g.get("new_csrf_cookie")
        if new_csrf:
            response.set_cookie(CSRF_COOKIE, new_csrf, httponly=True, samesite="Lax",
                                secure=settings.cookie_secure, path="/")
        cookie = g.get("session_cookie")
        if cookie is not None:
            from .oidc.sessions import COOKIE
            sid, max_age = cookie
            if sid:
                response.set_cookie(COOKIE, sid, max_age=max_age, httponly=True, samesite="Lax",
                                    secure=settings.cookie_secure, path="/")
            else:
                response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax",
                                       secure=settings.cookie_secure)
        return response

    app.register_error_handler(IdpError, render_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.jinja_env.globals["csrf_token"] = csrf_token


def _buffer_chunked_body(limit: int) -> None:
    """Read a body sent without Content-Length (chunked) up to ``limit`` bytes.

    Werkzeug stops reading such a stream at the limit without an error, so a too-large
    form would be parsed truncated; reading one byte more tells the two cases apart.
    """
    import io
    raw = request.environ["wsgi.input"].read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge("the request body is larger than this endpoint accepts")
    request.environ["wsgi.input"] = io.BytesIO(raw)
    request.environ["CONTENT_LENGTH"] = str(len(raw))


def set_session_cookie(sid: str | None, max_age: int = 0) -> None:
    g.session_cookie = (sid, max_age)
