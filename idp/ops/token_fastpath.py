"""The client-credentials token request without Flask's request cycle (RFC 6749 section 4.4).

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

from ..web import security_headers
from . import metrics
from .reqlog import HEADER, access_line, sane_id

log = logging.getLogger(__name__)
MAX_BODY = 4096
FORM = "application/x-www-form-urlencoded"
_POST_KEYS = {"grant_type", "scope", "client_id", "client_secret"}
_BASIC_KEYS = {"grant_type", "scope"}
_PARAMS = ("", "charset=utf-8", 'charset="utf-8"')


class ClientCredentialsFastPath:
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
        self._tokens = metrics.TOKENS.labels("client_credentials")

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != "/token" or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("QUERY_STRING") or "HTTP_TRANSFER_ENCODING" in environ):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        body = self._read_body(environ)
        if body is None:
            return self.wsgi_app(environ, start_response)
        try:
            token = self._issue(environ, body)
        except Exception:  # noqa: BLE001 - the app answers (and reports) whatever this was
            token = None
        if token is None:
            return self.wsgi_app(environ, start_response)
        payload = self.json_dumps(token).encode()
        rid = sane_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response("200 OK", self._head + [("Content-Length", str(len(payload))),
                                               (HEADER, rid)] + self._security)
        self._requests.inc()
        self._tokens.inc()
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

    def _issue(self, environ, body: bytes) -> dict | None:
        """The token response of a request that passes every check, or None (let the app say why)."""
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return None
        form = dict(pairs)
        if len(form) != len(pairs) or form.get("grant_type") != "client_credentials":
            return None  # a repeated parameter, or another grant
        basic = "HTTP_AUTHORIZATION" in environ
        if not form.keys() <= (_BASIC_KEYS if basic else _POST_KEYS):
            return None
        if not basic and not (form.get("client_id") and form.get("client_secret")):
            return None
        if client_authenticated.receivers:
            return None  # someone listens to Authlib's signal: let the full path send it
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        request = _FormRequest(f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}/token",
                               EnvironHeaders(environ), form)
        server = self.provider.server
        grant = server.get_token_grant(request)
        if grant.GRANT_TYPE != "client_credentials":
            return None
        grant.validate_token_request()
        status, token, _ = grant.create_token_response()
        return token if status == 200 and isinstance(token, dict) else None


class _FormRequest(OAuth2Request):
    """What Authlib's Flask request offers the grant and the client authentication methods."""

    def __init__(self, uri: str, headers, form: dict):
        super().__init__("POST", uri, headers=headers)  # refuses what Authlib calls insecure
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
    app.wsgi_app = ClientCredentialsFastPath(app.wsgi_app, state.provider,
                                             json_dumps=app.json.dumps,
                                             hsts=bool(state.settings.cookie_secure))
