"""Bearer authorisation of the admin API (DESIGN section 9a).

The caller presents an RFC 9068 access token this OP minted with the client-credentials
grant, with scope ``admin``, for a client that is still enabled and still an admin client;
a revoked token (``revoked-jti:<jti>``) is refused on every node at once.
"""
from __future__ import annotations

from flask import current_app, request

from ..errors import AccessDenied, InvalidRequest, Unauthorized
from .roles import Actor

SCOPE = "admin"


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise Unauthorized("an access token is required (Authorization: Bearer ...)",
                           headers={"WWW-Authenticate": 'Bearer realm="admin", scope="admin"'})
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidRequest("use the Bearer authorization scheme (RFC 6750 section 2.1)")
    return value.strip()


def api_actor() -> Actor:
    state = current_app.extensions["idp"]
    provider = state.provider
    try:
        claims = provider.minter.decode(bearer_token(), typ="at+jwt")
        if provider.store.get("revoked-jti:" + str(claims.get("jti"))) is not None:
            raise Unauthorized("the access token was revoked")
    except Unauthorized as exc:
        exc.headers.setdefault("WWW-Authenticate", f'Bearer error="invalid_token", '
                                                   f'error_description="{exc.description}"')
        raise
    client_id = claims.get("client_id")
    if SCOPE not in str(claims.get("scope", "")).split():
        raise AccessDenied("the access token lacks the admin scope", error="insufficient_scope",
                           headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="admin"'})
    # Client-credentials tokens are about the client itself: no user grant behind them.
    if claims.get("sub") != client_id or claims.get("gid"):
        raise AccessDenied("the admin API takes client-credentials tokens only")
    client = state.clients.get(client_id)
    if client is None or not client.enabled or not client.is_admin:
        raise AccessDenied("the client of this token is not an enabled admin client")
    return Actor(f"client:{client_id}", "admin")
