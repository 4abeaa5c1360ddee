"""Authlib grants filled with this OP's storage hooks (RFC 6749 sections 4.1, 4.4, 6).

The grants only find and consume credentials; tokens are minted by ``TokenIssuer`` (the
server's token generator) and the ID token is added by ``IdTokenExtension``.
"""
from __future__ import annotations

import hashlib
import logging
import time

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc7636 import CodeChallenge

from .grant_store import Principal

log = logging.getLogger(__name__)
ALL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def code_key(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class AuthorizationCode:
    """What ``/authorize`` stored under ``code:<hash>``, in Authlib's AuthorizationCodeMixin shape."""

    def __init__(self, data: dict):
        self.data = data

    def get_redirect_uri(self):
        return self.data["redirect_uri"]

    def get_scope(self):
        return self.data["scope"]

    def get_nonce(self):
        return self.data.get("nonce")

    def get_auth_time(self):
        return self.data["auth_time"]

    def get_acr(self):
        return self.data["acr"]

    def get_amr(self):
        return self.data["amr"]


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    @property
    def ctx(self):
        return self.server.ctx

    def query_authorization_code(self, code, client):
        if not isinstance(code, str) or len(code) > 256:
            return None
        key = code_key(code)
        # Taken once; its grant is remembered for 600 s, for a replay to revoke it.
        data = self.ctx.store.take_marking("code:" + key, "code-used:" + key, "grant_id", 600)
        if data is None:
            # RFC 6749 section 4.1.2: a code used twice revokes what it issued.
            used = self.ctx.store.get("code-used:" + key)
            if used and self.ctx.grant_store.revoke(used["grant_id"], "code_replay"):
                self.ctx.audit("token.code_replay", "failure", client_id=client.client_id,
                               reason="authorization code replayed; grant revoked")
            return None
        if data["client_id"] != client.client_id:
            return None
        return AuthorizationCode(data)

    def delete_authorization_code(self, authorization_code):
        """Nothing to do: the code was taken atomically when it was found."""

    def authenticate_user(self, authorization_code):
        data = authorization_code.data
        claims = self.ctx.sealer.open(data["claims_sealed"], aad=data["grant_id"])
        if claims is None:
            return None
        principal = Principal(subject=data["subject"], auth_time=data["auth_time"],
                              acr=data["acr"], amr=data["amr"], claims=claims, sid=data.get("sid"),
                              grant_id=data["grant_id"], nonce=data.get("nonce"),
                              claims_request=data.get("claims_request"))
        client = self.request.client
        ttl = client.ttl("refresh_token_ttl", self.ctx.settings.refresh_token_ttl)
        # Stored by Provider.generate_token with the first refresh token, in one transaction.
        principal.pending_grant = (client.client_id, data["scope"], ttl)
        return principal


class PkceS256(CodeChallenge):
    """PKCE with S256 only (plain is refused); required for public clients."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.data.get("code_challenge")

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.data.get("code_challenge_method")


class RefreshToken:
    def __init__(self, row, principal, scope):
        self.row = row
        self.principal = principal
        self.scope = scope

    def check_client(self, client):
        return self.row.client_id == client.client_id

    def get_scope(self):
        return self.scope


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    @property
    def ctx(self):
        return self.server.ctx

    def _validate_request_token(self, client):
        if not self.request.form.get("refresh_token"):
            raise InvalidRequestError("Missing 'refresh_token' in request.")
        return super()._validate_request_token(client)

    def authenticate_refresh_token(self, refresh_token):
        ctx = self.ctx
        both = ctx.grant_store.find_refresh_token_and_grant(refresh_token)
        row, found = both if both is not None else (None, None)
        if row is None or row.revoked_at is not None:
            return None
        if row.used_at is not None:
            # A rotated token came back: someone holds a stolen copy. Revoke the family
            # (RFC 9700 section 4.14.2).
            if ctx.grant_store.revoke(row.grant_id, "refresh_token_reuse"):
                ctx.audit("token.refresh_reuse", "failure", client_id=row.client_id,
                          reason="rotated refresh token reused; grant revoked")
            return None
        if row.expires_at <= time.time():
            return None
        if found is None:  # the grant is gone, revoked or expired
            return None
        principal, client_id, scope = found
        if client_id != row.client_id:
            return None
        return RefreshToken(row, principal, row.scope or scope)

    def issue_token(self, user, refresh_token):
        scope = self.request.payload.scope or refresh_token.get_scope()
        token = self.generate_token(user=user, scope=scope, include_refresh_token=False)
        # RFC 6749 section 6: the new refresh token has exactly the scope of the one it
        # replaces, even when this request asked for less.
        # The old token is marked used only here, once the whole request is valid (a refused
        # request must not burn it into a later "reuse"), in the transaction that stores its
        # successor.
        new = self.ctx.refresh_token_for(self.request.client, user.grant_id,
                                         refresh_token.get_scope(), replaces=refresh_token.row)
        if new is None:
            raise InvalidGrantError("The refresh token was used concurrently.")
        token["refresh_token"] = new
        return token

    def authenticate_user(self, refresh_token):
        return refresh_token.principal

    def revoke_old_credential(self, refresh_token):
        """Nothing to do: the token was marked used when its successor was stored."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_token_request(self):
        super().validate_token_request()
        requested = (self.request.payload.scope or "").split()
        allowed = set(self.request.client.scopes)
        if any(s not in allowed for s in requested):
            raise InvalidScopeError("The client may not request this scope.")


class IdTokenExtension:
    """Adds the ID token to code and refresh responses that have the ``openid`` scope."""

    def __init__(self, ctx):
        self.ctx = ctx

    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.process_token)

    def process_token(self, grant, response):
        _, token, _ = response
        principal = grant.request.user
        if "openid" not in (token.get("scope") or "").split() or principal is None:
            return token
        client = grant.request.client
        refresh = grant.GRANT_TYPE == "refresh_token"
        token["id_token"] = self.ctx.id_token_for(
            client, principal, token["scope"], access_token=token.get("access_token"),
            nonce=None if refresh else principal.nonce)
        return token
