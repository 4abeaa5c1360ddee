"""``private_key_jwt`` client authentication (OIDC Core section 9, RFC 7523 section 3).

Keys come from the client's registered ``jwks`` or are fetched from its ``jwks_uri`` (bounded
size and time, cached briefly); only asymmetric algorithms are accepted, so ``alg: none`` and
HS256 keyed with a public key are refused; every assertion ``jti`` is single use.
"""
from __future__ import annotations

import time

import requests
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ASSERTION_ALGS = ["RS256", "PS256", "ES256"]
MAX_JWKS_BYTES = 64 * 1024


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, ctx):
        super().__init__(validate_jti=True, leeway=30)
        self.ctx = ctx
        self._jwks_cache: dict[str, tuple[float, dict]] = {}

    def __call__(self, query_client, request):
        if len(request.form.get("client_assertion") or "") > 8192:
            raise InvalidClientError(description="client_assertion is too large")
        return super().__call__(query_client, request)

    def get_audiences(self):
        issuer = self.ctx.issuer
        return [issuer, issuer + "/token"]

    def process_assertion_claims(self, assertion, resolve_key):
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidClientError(description=f"client assertion rejected: {getattr(exc, 'description', None) or exc}") from None
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims, jti):
        if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
            return False
        exp = claims.get("exp")
        ttl = max(int(exp - time.time()) + self.leeway, 1) if isinstance(exp, (int, float)) else 600
        return self.ctx.store.add(f"jti:{claims['sub']}:{jti}", 1, min(ttl, 86400))

    def resolve_client_public_key(self, client):
        jwks = client.metadata.get("jwks") or self._fetch(client.metadata.get("jwks_uri"))
        if not jwks:
            raise InvalidClientError(description="the client has no registered keys")
        try:
            return KeySet.import_key_set(jwks)
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidClientError(description="the client's registered keys are invalid") from None

    def _fetch(self, uri):
        if not uri:
            return None
        hit = self._jwks_cache.get(uri)
        if hit and time.monotonic() - hit[0] < 300:
            return hit[1]
        try:
            with requests.get(uri, timeout=3, stream=True) as resp:
                resp.raise_for_status()
                body = resp.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
            if len(body) > MAX_JWKS_BYTES:
                raise ValueError("jwks_uri document is too large")
            import json
            jwks = json.loads(body)
        except (requests.RequestException, ValueError) as exc:
            raise InvalidClientError(description=f"cannot fetch the client's jwks_uri: {exc}") from None
        self._jwks_cache[uri] = (time.monotonic(), jwks)
        return jwks
