"""Bearer access tokens for the mini-program API (RFC 6750, RFC 9068).

The token must be an access token this OP signed (``typ: at+jwt``), not revoked, issued by
the client-credentials grant to a client that is still enabled, with the ``liveness``
scope.  Failures carry ``WWW-Authenticate`` as RFC 6750 section 3 asks.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request

from ..errors import Unauthorized

SCOPE = "liveness"


@dataclass(frozen=True)
class Caller:
    client: object
    token: dict

    @property
    def client_id(self) -> str:
        return self.client.client_id


def _challenge(exc: Unauthorized, scope: str | None = None) -> Unauthorized:
    parts = ['Bearer realm="api"', f'error="{exc.error}"',
             f'error_description="{exc.description}"']
    if scope:
        parts.append(f'scope="{scope}"')
    exc.headers["WWW-Authenticate"] = ", ".join(parts)
    return exc


def require_token(scope: str = SCOPE) -> Caller:
    provider = current_app.extensions["idp"].provider
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        raise _challenge(Unauthorized("a bearer access token is required"))
    try:
        claims = provider.minter.decode(value.strip(), typ="at+jwt")
        if provider.store.get("revoked-jti:" + str(claims.get("jti"))) is not None:
            raise Unauthorized("the access token was revoked")
        if claims.get("gid") or claims.get("sub") != claims.get("client_id"):
            raise Unauthorized("use an access token of the client-credentials grant")
        client = provider.clients.active(claims.get("client_id"))
        if client is None:
            raise Unauthorized("the client of this access token is disabled or deleted")
    except Unauthorized as exc:
        raise _challenge(exc) from None
    if scope not in str(claims.get("scope", "")).split():
        raise _challenge(Unauthorized(f"the access token lacks the {scope} scope",
                                      error="insufficient_scope", status=403), scope)
    return Caller(client, claims)
