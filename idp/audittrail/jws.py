"""Signing and checking audit checkpoints and archives as compact JWS (RFC 7515).

A checkpoint is a JWT (RFC 7519) with its own ``typ`` (RFC 8725 section 3.11: explicit
typing, so no other token this OP signs can pass for one) signed with the OP's active RS256
key.  Verification accepts only keys this OP has held (published, retired or removed from
the JWKS; read from ``keys/`` through the key ring, or from a JWKS file for an offline
check), and only within the time that key was allowed to sign: a leaked retired key cannot
make a checkpoint dated after its retirement.
"""
from __future__ import annotations

import base64
import json

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

CHECKPOINT_TYP = "audit-checkpoint+jwt"
ARCHIVE_TYP = "audit-archive+jwt"
ALG = "RS256"
SKEW = 120  # seconds: nodes' clocks and key-ring caches differ a little


class CheckpointError(Exception):
    """A checkpoint or archive signature that does not hold; the message says why."""


def sign(keyring, typ: str, claims: dict) -> str:
    key = keyring.signing_key(ALG)
    header = {"alg": ALG, "kid": key.kid, "typ": typ}
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[ALG])


def unverified(token: str) -> tuple[dict, dict]:
    """(header, claims) without checking anything: for messages about a bad token."""
    try:
        head, body, _ = token.split(".")
        return (json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))),
                json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    except (ValueError, TypeError, AttributeError):
        raise CheckpointError("not a compact JWS") from None


class Verifier:
    """Checks tokens against the OP's keys; ``windows`` maps kid -> (from, until) signing times."""

    def __init__(self, keys: dict, windows: dict | None = None, issuer: str | None = None):
        self.keys = keys
        self.windows = windows or {}
        self.issuer = issuer

    @classmethod
    def from_keyring(cls, keyring, issuer: str) -> "Verifier":
        keys, windows = keyring.history()
        return cls(keys, windows, issuer)

    @classmethod
    def from_jwks(cls, data: dict, issuer: str | None = None) -> "Verifier":
        try:
            keyset = KeySet.import_key_set(data)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(f"not a usable JWKS: {exc}") from None
        return cls({key.kid: key for key in keyset.keys if key.kid}, {}, issuer)

    def verify(self, token: str, typ: str) -> dict:
        header, _ = unverified(token)
        kid = header.get("kid")
        if header.get("typ") != typ:
            raise CheckpointError(f"typ is {header.get('typ')!r}, not {typ!r}")
        if header.get("alg") != ALG:
            raise CheckpointError(f"alg is {header.get('alg')!r}, not {ALG}")
        key = self.keys.get(kid)
        if key is None:
            raise CheckpointError(f"signed with key {kid!r}, which is not one of this OP's "
                                  "signing keys (forged, or signed by another server)")
        try:
            obj = jws.deserialize_compact(token, key, algorithms=[ALG])
        except JoseError:
            raise CheckpointError(f"signature does not verify with this OP's key {kid}") from None
        try:
            claims = json.loads(obj.payload)
        except ValueError:
            raise CheckpointError("payload is not JSON") from None
        if not isinstance(claims, dict):
            raise CheckpointError("payload is not a JSON object")
        if self.issuer and claims.get("iss") != self.issuer:
            raise CheckpointError(f"issuer {claims.get('iss')!r} is not {self.issuer!r}")
        start, end = self.windows.get(kid, (None, None))
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)):
            raise CheckpointError("no iat")
        if start is not None and iat < start - SKEW:
            raise CheckpointError(f"dated before key {kid} could sign")
        if end is not None and iat > end + SKEW:
            raise CheckpointError(f"dated after key {kid} stopped signing (retired key)")
        return claims
