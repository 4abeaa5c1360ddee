"""A login transaction belongs to the browser that opened it.

``/authorize`` gives each transaction a random secret in a cookie scoped to that
transaction's pages (``Path=/login/{txn}``, HttpOnly, SameSite=Lax, Secure under an https
issuer) and keeps only the secret's SHA-256 in the transaction.  Every ``/login/{txn}/...``
request (pages, form posts, JSON calls, status polls, consent, frames) must carry it: the
check runs before any view, compares in constant time, and a mismatch is a 403 that reads
nothing but the transaction, so nothing is consumed or changed.  Whoever knows only the
transaction id (it is in the address bar, in referrers, in screenshots) therefore never
receives the SSO session cookie or the authorization code of someone else's login.

One cookie per transaction (each with its own path) lets several logins run in parallel
tabs; the response that ends a transaction (code issued, consent denied, login cancelled)
deletes its cookie.  The module sits below ``oidc/`` (which binds) and ``login/`` (whose pages are checked).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, g, request

from .errors import AccessDenied
from .interaction import LoginTransaction

COOKIE = "idp_login"


class BrowserMismatch(AccessDenied):
    """This login was started in another browser; start again from the service you came from."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def cookie_path(txn_id: str) -> str:
    return f"/login/{txn_id}"


def bind(txn: LoginTransaction) -> None:
    """Give ``txn`` a browser secret (call before saving it); the response sets the cookie."""
    secret = secrets.token_urlsafe(32)
    txn.browser_hash = _digest(secret)
    g.login_binding = (txn.id, secret)


def release(txn_id: str) -> None:
    """The transaction ``txn_id`` ended (code issued, denied or cancelled): the response
    deletes its browser cookie instead of leaving it until it expires."""
    g.login_release = txn_id


def matches(txn: LoginTransaction) -> bool:
    """Does this request come from the browser that opened ``txn``?"""
    expected = txn.browser_hash
    if not expected:
        return False  # fail closed: a transaction without a binding belongs to no browser
    ok = False
    # A browser may send several cookies of this name (other paths); any one may match.
    for value in request.cookies.getlist(COOKIE):
        if 0 < len(value) <= 128:
            ok |= hmac.compare_digest(_digest(value), expected)
    return ok


def _check_login_request() -> None:
    txn_id = (request.view_args or {}).get("txn_id")
    if txn_id is None or not request.path.startswith("/login/"):
        return
    provider = current_app.extensions["idp"].provider
    txn = provider.transactions.load(txn_id)  # unknown or expired: its own 400
    if not matches(txn):
        provider.audit("login", "failure", client_id=txn.client_id, method=txn.method,
                       reason="browser_mismatch", details={"path": request.path[:200]})
        raise BrowserMismatch()


def init_app(app, settings) -> None:
    """Check every ``/login/<txn_id>/...`` route of every blueprint, before its own hooks."""
    app.before_request_funcs.setdefault(None, []).append(_check_login_request)

    @app.after_request
    def _set_cookie(response):
        ended = g.pop("login_release", None)
        if ended is not None:
            response.delete_cookie(COOKIE, path=cookie_path(ended), httponly=True, samesite="Lax",
                                   secure=settings.cookie_secure)
        bound = g.pop("login_binding", None)
        if bound is not None:
            txn_id, secret = bound
            response.set_cookie(COOKIE, secret, max_age=settings.login_ttl,
                                path=cookie_path(txn_id), httponly=True, samesite="Lax",
                                secure=settings.cookie_secure)
        return response
