"""Token requests without Flask's request cycle: client credentials (RFC 6749 section 4.4),
and the redemption of a code (4.1.3) or a refresh token (6).

Machine clients ask ``/token`` for access tokens up to thousands of times a second.  Measured
with py-spy under ``idp serve``, Flask's cycle around that request (request context,
werkzeug request and form objects, routing, the before/after hooks of every area, the
session interface) cost more CPU than Authlib's grant and the RS256 signature together.

This WSGI layer answers the one common shape of that request itself:

* ``POST /token`` without a query string, ``Content-Type: application/x-www-form-urlencoded``
  and a ``Content-Length`` of at most ``MAX_BODY`` bytes (no chunked body);
* a body of ``grant_type=client_credentials``, an optional ``scope``, each once, and the
  client's credentials either in ``Authorization: Basic`` (client_secret_basic) or as
  ``client_id`` + ``client_secret`` (client_secret_post), never both.

Every check is the full path's own code: the request becomes an Authlib ``OAuth2Request``
(which refuses a transport Authlib refuses), the server picks the grant registered for
``client_credentials`` with its extensions, and the grant authenticates the client
(``ClientService.active``: unknown or disabled clients fail; the registered auth method;
the secret's SHA-256 compared in constant time), checks the client may use the grant and
the scopes, and mints the token through ``Provider.generate_token``.  The answer has the
bytes and headers the full path sends (Authlib's JSON through the app's JSON provider,
``no-store``, the security headers of ``idp.web``, ``X-Request-Id``), counts in the same
metrics and writes the same access line.

Code and refresh redemptions (the same shapes: ``code``, ``redirect_uri``,
``code_verifier``; ``refresh_token``, ``scope``) run the registered grant with its
extensions (PKCE, the ID token) the same way.  They spend their code or refresh token before
they can fail, so once the grant has run the app never runs it again: a success is answered
here (its audit event committed with the grant on PostgreSQL, appended here on SQLite), and
every other outcome, a refusal (``OAuth2Error``) or an exception (an outage: 503), is handed
to the app under ``environ["idp.token_outcome"]``; the view renders and audits it exactly as
if it had run the grant itself (``OidcServer.render_outcome``).  Measured in-process, Flask's
cycle was ~30 % of a redemption's CPU beside its two RS256 signatures.

Anything else goes to the app untouched (the body it read is handed on), and the app
answers and audits it as it always has: other grants and parameters, other authentication
methods, every refused request (so error bodies, status codes, ``WWW-Authenticate`` and
the audit trail of failures stay the full path's), receivers on Authlib's
``client_authenticated`` signal, and every request while a token rate limit is configured
(the limiter is a Flask hook).
"""
from __future__ import annotations

import io
import logging
import time
from urllib.parse import parse_qsl

from authlib.integrations.flask_oauth2.signals import client_authenticated
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from werkzeug.datastructures import EnvironHeaders

from ..oidc import token_request
from ..web import security_headers
from . import metrics
from .reqlog import HEADER, access_line, sane_id

log = logging.getLogger(__name__)
MAX_BODY = 4096
FORM = "application/x-www-form-urlencoded"
# The parameters each grant's common request carries besides the client's credentials.
_GRANT_KEYS = {"client_credentials": {"grant_type", "scope"},
               "authorization_code": {"grant_type", "code", "redirect_uri", "code_verifier"},
               "refresh_token": {"grant_type", "refresh_token", "scope"}}
_REQUIRED = {"client_credentials": "grant_type", "authorization_code": "code",
             "refresh_token": "refresh_token"}
_SECRET_POST = {"client_id", "client_secret"}
_PARAMS = ("", "charset=utf-8", 'charset="utf-8"')


class TokenFastPath:
    def __init__(self, wsgi_app, provider, *, json_dumps, hsts: bool):
        self.wsgi_app = wsgi_app
        self.provider = provider
        self.json_dumps = json_dumps
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                   ("Pragma", "no-cache")]
        self._head, self._security = headers, security_headers(hsts)
        # Label lookups cost more than the increments: bind the children once.
        self._requests = metrics.REQUESTS.labels("oidc.token", "POST", "200")
        self._latency = metrics.LATENCY.labels("oidc.token")
        self._tokens = {grant: metrics.TOKENS.labels(grant) for grant in _GRANT_KEYS}

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != "/token" or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("QUERY_STRING") or "HTTP_TRANSFER_ENCODING" in environ):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        body = self._read_body(environ)
        if body is None:
            return self.wsgi_app(environ, start_response)
        try:
            grant_type, token = self._issue(environ, body)
        except _HandOver as over:  # a spent code or refresh token: the app renders the outcome
            environ[token_request.OUTCOME] = over.outcome
            return self.wsgi_app(environ, start_response)
        except Exception:  # noqa: BLE001 - the app answers (and reports) whatever this was
            token = None
        if token is None:
            return self.wsgi_app(environ, start_response)
        payload = self.json_dumps(token).encode()
        rid = sane_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response("200 OK", self._head + [("Content-Length", str(len(payload))),
                                               (HEADER, rid)] + self._security)
        self._requests.inc()
        self._tokens[grant_type].inc()
        elapsed = time.perf_counter() - started
        self._latency.observe(elapsed)
        access_line("POST", "/token", 200, rid, round(elapsed * 1000, 2), environ.get("REMOTE_ADDR"))
        return [payload]

    @staticmethod
    def _read_body(environ) -> bytes | None:
        """The form body when it is small and well-framed; the app gets it back either way."""
        mimetype, _, params = environ.get("CONTENT_TYPE", "").partition(";")
        if mimetype.strip().lower() != FORM or params.strip().lower() not in _PARAMS:
            return None
        length = environ.get("CONTENT_LENGTH", "")
        if not length.isdigit() or not 0 < int(length) <= MAX_BODY:
            return None
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)
        return body if len(body) == int(length) else None

    def _issue(self, environ, body: bytes) -> tuple[str, dict | None]:
        """(grant type, the token response of a request that passes every check), or a None
        response (let the app answer), or ``_HandOver`` once a code or refresh token is spent."""
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return "", None
        form = dict(pairs)
        grant_type = form.get("grant_type")
        allowed = _GRANT_KEYS.get(grant_type)
        if len(form) != len(pairs) or allowed is None or not form.get(_REQUIRED[grant_type]):
            return "", None  # a repeated parameter, another grant, a missing parameter
        basic = "HTTP_AUTHORIZATION" in environ
        if not form.keys() <= (allowed if basic else allowed | _SECRET_POST):
            return "", None
        if not basic and not (form.get("client_id") and form.get("client_secret")):
            return "", None
        if client_authenticated.receivers:
            return "", None  # someone listens to Authlib's signal: let the full path send it
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        request = _FormRequest(f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}/token",
                               _Headers(environ), form)
        grant = self.provider.server.get_token_grant(request)
        if grant.GRANT_TYPE != grant_type:
            return "", None
        if grant_type == "client_credentials":  # nothing is spent: the app may run it again
            grant.validate_token_request()
            status, token, _ = grant.create_token_response()
            return grant_type, (token if status == 200 and isinstance(token, dict) else None)
        return grant_type, self._redeem(grant, grant_type, environ.get("REMOTE_ADDR"))

    def _redeem(self, grant, grant_type: str, ip) -> dict:
        """A code or refresh grant, which takes its code or token before it can fail: every
        outcome but a token response goes to the app as ``_HandOver``, never to be retried."""
        handle = token_request.begin(ip, grant_type)
        try:
            grant.validate_token_request()
            status, token, _ = grant.create_token_response()
            if status != 200 or not isinstance(token, dict):
                raise RuntimeError(f"token response {status} from {grant_type}")
            if not token_request.current().event_staged:  # (SQLite: the view's own event)
                self.provider.audit("token", "success", client_id=grant.request.client.client_id,
                                    details={"grant_type": grant_type}, ip=ip)
            return token
        except Exception as exc:  # noqa: BLE001 - OAuth errors and outages alike
            raise _HandOver(exc) from None
        finally:
            token_request.end(handle)


class _HandOver(Exception):
    def __init__(self, outcome: BaseException):
        super().__init__(repr(outcome))
        self.outcome = outcome


class _Headers(EnvironHeaders):
    """The request's headers, always true: Authlib's ``headers or {}`` would otherwise count
    them, and ``EnvironHeaders.__len__`` walks the whole WSGI environ on every token."""

    def __bool__(self) -> bool:
        return True


class _FormRequest(OAuth2Request):
    """What Authlib's Flask request offers the grant and the client authentication methods.

    ``OAuth2Request.__init__`` refuses what Authlib calls an insecure transport, parsing the
    endpoint's URI every time (for ``http://127.0.0.1`` an ``ipaddress`` parse: ~6 % of a
    token's CPU).  The URI is one of a few (scheme and Host of the token endpoint), so the
    attributes that ``__init__`` set for the first request of a URI that passed are kept and
    copied onto the next ones (all of them plain values: tests/oidc/test_token_fastpath.py
    checks that against the installed Authlib); a URI that fails is never kept, and fails
    again every time."""

    _passed: dict[str, dict] = {}  # URI -> the attributes OAuth2Request.__init__ set for it

    def __init__(self, uri: str, headers, form: dict):
        attributes = self._passed.get(uri)
        if attributes is None:
            super().__init__("POST", uri, headers=headers)  # raises InsecureTransportError
            if len(self._passed) < 64:
                self._passed[uri] = dict(vars(self))
        else:
            self.__dict__.update(attributes)
            self.headers = headers
        self.payload = BasicOAuth2Payload(form)
        self._form = form

    @property
    def form(self):
        return self._form

    @property
    def args(self):
        return {}


def install(app) -> None:
    """Wrap the app (inside ProxyFix, so addresses and scheme are the proxied ones)."""
    state = app.extensions["idp"]
    if state.settings.rate_limit_token > 0:
        log.info("token rate limit configured: client-credentials requests take the full path")
        return
    app.wsgi_app = TokenFastPath(app.wsgi_app, state.provider,
                                             json_dumps=app.json.dumps,
                                             hsts=bool(state.settings.cookie_secure))
