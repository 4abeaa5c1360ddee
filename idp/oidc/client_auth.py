"""``private_key_jwt`` client authentication (OIDC Core section 9, RFC 7523 section 3).

Keys come from the client's registered ``jwks`` or are fetched from its ``jwks_uri`` (bounded
size and time, cached briefly, fetched again when an assertion names a kid the cached set
lacks, so a client can rotate its keys); only asymmetric algorithms are accepted, so
``alg: none`` and HS256 keyed with a public key are refused; every assertion ``jti`` is
single use.
"""
from __future__ import annotations

import threading
import time

import requests
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from ..jsonbody import loads
from .provider import safe_description

ASSERTION_ALGS = ["RS256", "PS256", "ES256"]
MAX_JWKS_BYTES = 64 * 1024
JWKS_CACHE_SECONDS = 300
JWKS_REFETCH_SECONDS = 30  # an unknown kid triggers a new fetch at most this often


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, ctx):
        super().__init__(validate_jti=True, leeway=30)
        self.ctx = ctx
        self._jwks_cache: dict[str, tuple[float, dict]] = {}
        self._current = threading.local()  # the kid of the assertion being checked

    def __call__(self, query_client, request):
        assertion = request.form.get("client_assertion") or ""
        if len(assertion) > 8192:
            raise InvalidClientError(description="client_assertion is too large")
        try:
            kid = jws.extract_compact(assertion.encode()).headers().get("kid")
        except (JoseError, ValueError, TypeError, UnicodeError, AttributeError):
            kid = None
        self._current.kid = kid if isinstance(kid, str) else None
        return super().__call__(query_client, request)

    def get_audiences(self):
        issuer = self.ctx.issuer
        return [issuer, issuer + "/token"]

    def process_assertion_claims(self, assertion, resolve_key):
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except BadSignatureError:
            raise InvalidClientError(description="client assertion rejected: the signature does "
                                     "not verify with the client's registered keys") from None
        except (JoseError, ValueError, TypeError) as exc:
            reason = getattr(exc, "description", None) or str(exc)
            raise InvalidClientError(description=safe_description(
                f"client assertion rejected: {reason}")) from None
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims, jti):
        if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
            raise InvalidClientError(description="client assertion jti must be 8 to 256 characters")
        exp = claims.get("exp")
        ttl = max(int(exp - time.time()) + self.leeway, 1) if isinstance(exp, (int, float)) else 600
        # RFC 7523 section 3: the jti is single use (add-if-absent in the shared store).
        return self.ctx.store.add(f"jti:{claims['sub']}:{jti}", 1, min(ttl, 86400))

    def resolve_client_public_key(self, client):
        jwks = client.metadata.get("jwks") or self._fetch(client.metadata.get("jwks_uri"))
        if not jwks:
            raise InvalidClientError(description="the client has no registered keys")
        try:
            return KeySet.import_key_set(jwks)
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidClientError(
                description="the client's registered keys are invalid") from None

    def _fetch(self, uri):
        if not uri:
            return None
        hit = self._jwks_cache.get(uri)
        if hit:
            age = time.monotonic() - hit[0]
            kid = getattr(self._current, "kid", None)
            known = {k.get("kid") for k in hit[1].get("keys", []) if isinstance(k, dict)}
            fresh = age < JWKS_CACHE_SECONDS
            if fresh and (kid is None or kid in known or age < JWKS_REFETCH_SECONDS):
                return hit[1]
        try:
            with requests.get(uri, timeout=3, stream=True, allow_redirects=False) as resp:
                resp.raise_for_status()
                body = resp.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
            if len(body) > MAX_JWKS_BYTES:
                raise ValueError("the document is too large")
            jwks = loads(body, what="the JWK set")
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise ValueError("the document is not a JWK set")
        except (requests.RequestException, ValueError) as exc:
            raise InvalidClientError(description=safe_description(
                f"cannot fetch the client's jwks_uri: {type(exc).__name__}")) from None
        self._jwks_cache[uri] = (time.monotonic(), jwks)
        return jwks
