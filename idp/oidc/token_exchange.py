"""Liveness assertions and their exchange for tokens (RFC 8693, DESIGN section 8).

A mini-program's liveness session ends with an *assertion*: a JWT signed by the OP
(``typ: liveness+jwt``) for the client that ran the session (``aud``), about the session
(``sub``), valid ~120 s.  When the session named a person and the face matched, the
assertion carries ``person``: the person's internal subject and claims sealed with
AES-GCM under a server key and bound to the ``jti`` -- the client can pass it on but not
read it, and the raw ID number is never in the JWT.

The client exchanges it at ``/token``::

    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token=<assertion>
    subject_token_type=urn:idp:params:oauth:token-type:liveness

for an access token and (with ``openid``) an ID token of that person.  The assertion is
single use (its ``jti`` is added once to the short-lived store), for the same client only.
"""
from __future__ import annotations

import secrets
import time

from authlib.oauth2.rfc6749.errors import (InvalidGrantError, InvalidRequestError,
                                           InvalidScopeError, UnauthorizedClientError)
from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin

from ..errors import Unauthorized
from ..interaction import ACR_FACE, ACR_FACE_ACTIVE
from ..sealing import Sealer
from ..rootsecrets import secret_ring
from .grant_store import Principal
from .grants import CONFIDENTIAL_AUTH_METHODS

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
LIVENESS_TOKEN_TYPE = "urn:idp:params:oauth:token-type:liveness"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ASSERTION_TYP = "liveness+jwt"
ASSERTION_TTL = 120
AMR = {ACR_FACE: ["face", "user"], ACR_FACE_ACTIVE: ["face", "user", "mfa"]}
DEFAULT_SCOPES = ("openid", "profile", "id_number")


class LivenessAssertions:
    """Mint and read liveness assertions."""

    USED = "lva-used:"

    def __init__(self, ctx):
        self.ctx = ctx
        self._sealer = Sealer(secret_ring(ctx.settings), "liveness-assertion")

    def mint(self, *, client_id: str, session: str, live: bool, score, face_match,
             acr: str | None, person: dict | None) -> str:
        """``person`` (``{"subject", "claims"}``) only for a live, matching face."""
        now = int(time.time())
        jti = secrets.token_urlsafe(16)
        claims = {"iss": self.ctx.issuer, "aud": client_id, "sub": session, "jti": jti,
                  "iat": now, "exp": now + ASSERTION_TTL, "live": bool(live),
                  "score": None if score is None else round(float(score), 4)}
        if face_match is not None:
            claims["face_match"] = bool(face_match)
        if person is not None and live and face_match and acr in AMR:
            claims["acr"] = acr
            claims["person"] = self._sealer.seal(person, aad=jti)
        return self.ctx.minter.sign(claims, typ=ASSERTION_TYP)

    def redeem(self, token, client_id: str) -> tuple[dict, dict]:
        """(assertion claims, person) of a valid, unused assertion for ``client_id``."""
        try:
            claims = self.ctx.minter.decode(token, typ=ASSERTION_TYP)
        except Unauthorized as exc:
            raise InvalidGrantError(f"subject_token: {exc.description}") from None
        if claims.get("aud") != client_id:
            raise InvalidGrantError("subject_token was issued to another client")
        if not (claims.get("live") and claims.get("face_match") and claims.get("person")
                and claims.get("acr") in AMR):
            raise InvalidGrantError("subject_token does not prove a live face matching a "
                                    "registered person")
        person = self._sealer.open(claims["person"], aad=claims.get("jti") or "")
        if not isinstance(person, dict):
            raise InvalidGrantError("subject_token is not valid")
        # Single use: of two concurrent redemptions exactly one adds the marker.
        ttl = max(int(claims["exp"] - time.time()) + 60, 1)
        if not self.ctx.store.add(self.USED + claims["jti"], 1, ttl):
            raise InvalidGrantError("subject_token was already used")
        return claims, person


class TokenExchangeGrant(BaseGrant, TokenEndpointMixin):
    """RFC 8693 section 2.1, for liveness assertions as subject tokens."""

    GRANT_TYPE = GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    @property
    def ctx(self):
        return self.server.ctx

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(f"The client may not use grant_type={self.GRANT_TYPE}")
        self.request.client = client
        data = self.request.payload.data
        if not data.get("subject_token") or not data.get("subject_token_type"):
            raise InvalidRequestError("subject_token and subject_token_type are required")
        if data["subject_token_type"] != LIVENESS_TOKEN_TYPE:
            raise InvalidRequestError(f"subject_token_type must be {LIVENESS_TOKEN_TYPE}")
        if data.get("requested_token_type") not in (None, "", ACCESS_TOKEN_TYPE):
            raise InvalidRequestError(f"requested_token_type must be {ACCESS_TOKEN_TYPE}")
        if data.get("actor_token") or data.get("actor_token_type"):
            raise InvalidRequestError("delegation (actor_token) is not supported")
        self.scope = self._scope(client, data.get("scope"))
        try:
            assertion, person = LivenessAssertions(self.ctx).redeem(data["subject_token"],
                                                                    client.client_id)
        except InvalidGrantError as exc:
            self.ctx.audit("token.exchange", "failure", client_id=client.client_id,
                           reason=exc.description)
            raise
        acr = assertion["acr"]
        self.request.user = Principal(subject=person["subject"], auth_time=assertion["iat"],
                                      acr=acr, amr=list(AMR[acr]), claims=person["claims"],
                                      grant_id=self.ctx.new_grant_id())

    @staticmethod
    def _scope(client, requested) -> str:
        allowed = set(client.scopes)
        if requested:
            scopes = list(dict.fromkeys(requested.split()))
            if any(s not in allowed for s in scopes):
                raise InvalidScopeError("The client may not request this scope.")
        else:
            scopes = [s for s in DEFAULT_SCOPES if s in allowed]
        return " ".join(scopes)

    def create_token_response(self):
        ctx, client, principal = self.ctx, self.request.client, self.request.user
        ttl = client.ttl("access_token_ttl", ctx.settings.access_token_ttl)
        ctx.grant_store.create(principal.grant_id, client.client_id, principal, self.scope, ttl + 60)
        token = self.generate_token(user=principal, scope=self.scope, include_refresh_token=False)
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        if "openid" in self.scope.split():
            token["id_token"] = ctx.id_token_for(client, principal, self.scope,
                                                 access_token=token["access_token"])
        ctx.audit("token.exchange", "success", client_id=client.client_id,
                  details={"acr": principal.acr, "subject_token_type": LIVENESS_TOKEN_TYPE})
        return 200, token, self.TOKEN_RESPONSE_HEADER
