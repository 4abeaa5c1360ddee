"""Minting and checking the JWTs this OP signs: access tokens, ID tokens, logout tokens.

* Access tokens follow RFC 9068 (``typ: at+jwt``) so platforms can verify them offline.
* ID tokens follow OIDC Core section 2 (``kid`` in every header, ``at_hash`` section 3.1.3.6).
* Logout tokens follow OIDC Back-Channel Logout section 2.4 (``typ: logout+jwt``).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from joserfc import jwt
from joserfc.errors import JoseError

from ..errors import Unauthorized


def half_hash(value: str, alg: str) -> str:
    """Left half of the SHA-256 hash, base64url (``at_hash``, ``c_hash``); RS256/ES256 use SHA-256."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _header_segment(header: dict) -> bytes:
    return _b64(json.dumps(header, separators=(",", ":")).encode())


def _rs256_compact(header: dict | bytes, claims: dict, private_key) -> str:
    """RFC 7515 compact JWS with RS256 (what joserfc produces, ~20% less CPU per token);
    ``header`` may be its encoded segment already (``TokenMinter`` keeps them per kid)."""
    head = header if isinstance(header, bytes) else _header_segment(header)
    signing_input = (head + b"." +
                     _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()))
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64(signature)).decode("ascii")


class TokenMinter:
    def __init__(self, issuer: str, keyring, sessions=None, store=None):
        self.issuer = issuer
        self.keyring = keyring
        self.sessions = sessions
        self.store = store
        self._heads: dict[tuple[str, str], bytes] = {}  # (kid, typ) -> RS256 header segment

    def _sign(self, claims: dict, alg: str = "RS256", typ: str = "JWT") -> str:
        key = self.keyring.signing_key(alg)
        if alg == "RS256":  # the hot path: RSASSA-PKCS1-v1_5 straight from cryptography
            head = self._heads.get((key.kid, typ))
            if head is None:  # a few kids (rotation) times a few types
                if len(self._heads) > 64:
                    self._heads.clear()
                head = self._heads[(key.kid, typ)] = _header_segment(
                    {"alg": alg, "kid": key.kid, "typ": typ})
            return _rs256_compact(head, claims, key.private_key)
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": typ}, claims, key, algorithms=[alg])

    def access_token(self, *, client_id: str, scope: str, ttl: int, sub: str | None = None,
                     principal=None, extra: dict | None = None) -> tuple[str, dict]:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": sub or client_id, "aud": client_id,
                  "client_id": client_id, "iat": now, "exp": now + ttl,
                  "jti": secrets.token_urlsafe(16), "scope": scope}
        if principal is not None:
            claims.update({"auth_time": principal.auth_time, "acr": principal.acr,
                           "amr": principal.amr, "gid": principal.grant_id})
            if principal.sid:
                claims["sid"] = principal.sid
        if extra:
            claims.update(extra)
        return self._sign(claims, "RS256", "at+jwt"), claims

    def id_token(self, *, client, sub: str, principal, nonce: str | None, user_claims: dict,
                 access_token: str | None, ttl: int) -> str:
        alg = client.metadata.get("id_token_signed_response_alg") or "RS256"
        now = int(time.time())
        claims = dict(user_claims)
        claims.update({"iss": self.issuer, "sub": sub, "aud": client.client_id,
                       "iat": now, "exp": now + ttl, "auth_time": principal.auth_time,
                       "acr": principal.acr, "amr": principal.amr})
        if principal.sid:
            claims["sid"] = principal.sid
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["at_hash"] = half_hash(access_token, alg)
        return self._sign(claims, alg)

    def logout_token(self, *, client_id: str, sub: str, sid: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": client_id, "iat": now, "exp": now + 120,
                  "jti": secrets.token_urlsafe(16), "sub": sub,
                  "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
        if sid:
            claims["sid"] = sid
        return self._sign(claims, "RS256", "logout+jwt")

    def sign(self, claims: dict, *, typ: str, alg: str = "RS256") -> str:
        """Sign other OP assertions (e.g. ``liveness+jwt``)."""
        return self._sign(claims, alg, typ)

    # -- verification ----------------------------------------------------------------------
    def decode(self, token, *, typ: str | None = None, verify_exp: bool = True) -> dict:
        """Verify a JWT this OP signed; raise ``Unauthorized`` with a reason otherwise."""
        if not isinstance(token, str) or len(token) > 8192 or token.count(".") != 2:
            raise Unauthorized("the token is malformed")
        try:
            from joserfc import jws
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError, TypeError, UnicodeError):
            raise Unauthorized("the token is malformed") from None
        kid, alg = header.get("kid"), header.get("alg")
        key = self.keyring.public_key(kid) if isinstance(kid, str) else None
        if key is None or alg not in {"RS256", "ES256"} or key.alg != alg:
            raise Unauthorized("the token was not signed by a key of this issuer")
        if typ and header.get("typ") != typ:
            raise Unauthorized(f"the token is not of type {typ}")
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except (JoseError, ValueError, TypeError):
            raise Unauthorized("the token signature is invalid") from None
        if claims.get("iss") != self.issuer:
            raise Unauthorized("the token was issued by another issuer")
        exp = claims.get("exp")
        if verify_exp and (not isinstance(exp, int) or exp <= time.time()):
            raise Unauthorized("the token has expired")
        return claims
