"""Token introspection (RFC 7662) and revocation (RFC 7009) over this OP's tokens.

Access tokens are JWTs: introspection verifies them and then consults revocation state
(revoked ``jti``, revoked grant, ended SSO session), so it reflects revocation and logout at
once on every node.  Refresh tokens are looked up by hash.
"""
from __future__ import annotations

import time

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from ..errors import Unauthorized
from .grants import CONFIDENTIAL_AUTH_METHODS


JSON_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                ("Pragma", "no-cache")]


class _TokenLookup:
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    @property
    def ctx(self):
        return self.server.ctx

    def check_params(self, request, client):
        # RFC 7009 section 2.1 / RFC 7662 section 2.1: ``token`` is required.  The hint is
        # only a hint: the search covers every token type whatever it says, so an unknown
        # hint is ignored rather than refused.
        if not request.form.get("token"):
            raise InvalidRequestError("token is missing")

    def query_token(self, token_string, token_type_hint=None):
        """Find an access token (a JWT this OP signed) or a refresh token (by hash)."""
        if not isinstance(token_string, str) or not token_string or len(token_string) > 8192:
            return None
        if token_string.count(".") == 2:
            try:
                claims = self.ctx.minter.decode(token_string, typ="at+jwt")
            except Unauthorized:
                return None
            return {"kind": "access_token", "claims": claims}
        row = self.ctx.grant_store.find_refresh_token(token_string)
        if row is not None:
            return {"kind": "refresh_token", "row": row}
        return None

    def token_active(self, token) -> bool:
        ctx = self.ctx
        if ctx.clients.active(self.owner(token)) is None:
            return False  # a disabled client's tokens are refused everywhere
        if token["kind"] == "access_token":
            claims = token["claims"]
            if ctx.store.get("revoked-jti:" + claims["jti"]) is not None:
                return False
            if claims.get("gid") and not ctx.grant_store.active(claims["gid"]):
                return False
            if claims.get("sid") and ctx.sessions.ended(claims["sid"]):
                return False
            return True
        row = token["row"]
        return (row.revoked_at is None and row.used_at is None and row.expires_at > time.time()
                and ctx.grant_store.active(row.grant_id))

    @staticmethod
    def owner(token) -> str:
        return token["claims"]["client_id"] if token["kind"] == "access_token" else token["row"].client_id


class Introspection(_TokenLookup, IntrospectionEndpoint):
    def check_permission(self, token, client, request):
        # A client may introspect its own tokens; admin clients may introspect any.
        return client.is_admin or self.owner(token) == client.client_id

    def introspect_token(self, token):
        if not self.token_active(token):
            return {"active": False}
        if token["kind"] == "access_token":
            claims = token["claims"]
            out = {"active": True, "token_type": "Bearer"}
            for name in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti",
                         "auth_time", "acr", "sid"):
                if name in claims:
                    out[name] = claims[name]
            return out
        row = token["row"]
        return {"active": True, "token_type": "refresh_token", "client_id": row.client_id,
                "scope": row.scope, "exp": int(row.expires_at), "iat": int(row.issued_at),
                "iss": self.ctx.issuer}

    def create_endpoint_response(self, request):
        client = self.authenticate_endpoint_client(request)
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # RFC 7662 section 2.2: a token the caller may not see is simply inactive.
        if token is None or not self.check_permission(token, client, request):
            return 200, {"active": False}, JSON_HEADERS
        return 200, self.introspect_token(token), JSON_HEADERS


class Revocation(_TokenLookup, RevocationEndpoint):
    # RFC 7009 section 2.1: public clients may revoke their own tokens too.
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS + ["none"]

    def create_endpoint_response(self, request):
        client = self.authenticate_endpoint_client(request)
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is not None:
            self.revoke_token(token, request)
        return 200, {}, JSON_HEADERS

    def revoke_token(self, token, request):
        ctx = self.ctx
        if self.owner(token) != request.client.client_id:
            return  # RFC 7009 section 2.2: respond 200 without revealing anything
        if token["kind"] == "access_token":
            claims = token["claims"]
            ttl = max(int(claims["exp"] - time.time()) + 60, 1)
            ctx.store.put("revoked-jti:" + claims["jti"], 1, ttl)
            reason = "access token revoked"
        else:
            # Revoking a refresh token ends its grant and the access tokens it issued.
            ctx.grant_store.revoke(token["row"].grant_id, "revoked_by_client")
            reason = "refresh token revoked; grant revoked"
        ctx.audit("token.revoke", "success", client_id=request.client.client_id, reason=reason)
