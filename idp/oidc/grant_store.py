"""Grants and refresh tokens in the durable store.

A *grant* is one authorization (one code redemption): every token issued from it belongs to
its family and is revoked with it.  Refresh tokens are opaque, stored by SHA-256 hash only,
and rotated on use; presenting a rotated token again is reuse, which revokes the whole grant
(OAuth 2.0 Security BCP, RFC 9700 section 4.14.2).
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field

from sqlalchemy import select, update

from ..store.models import Grant, RefreshToken


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Principal:
    """The authenticated user behind a grant (Authlib's ``request.user``)."""

    subject: str
    auth_time: int
    acr: str
    amr: list[str]
    claims: dict = field(default_factory=dict)
    sid: str | None = None
    grant_id: str | None = None
    nonce: str | None = None
    claims_request: dict | None = None


class GrantStore:
    def __init__(self, database, sealer):
        self.db = database
        self.sealer = sealer

    def create(self, grant_id: str, client_id: str, principal: Principal, scope: str,
               ttl: int) -> None:
        now = time.time()
        # The claims request (OIDC Core 5.5) travels with the user's claims, so userinfo and
        # refreshed ID tokens release what the authorization request named.
        sealed = self.sealer.seal_bytes(
            _json({"claims": principal.claims, "claims_request": principal.claims_request}),
            grant_id.encode())
        with self.db.session() as s:
            s.add(Grant(grant_id=grant_id, client_id=client_id, subject=principal.subject,
                        sid=principal.sid, scope=scope, claims_enc=sealed,
                        auth_time=principal.auth_time, acr=principal.acr, amr=principal.amr,
                        created_at=now, expires_at=now + ttl))

    def principal(self, grant_id: str) -> tuple[Principal, str, str] | None:
        """(principal, client_id, scope) of an unrevoked, unexpired grant."""
        with self.db.session(write=False) as s:
            row = s.get(Grant, grant_id)
            if row is None or row.revoked_at or row.expires_at <= time.time():
                return None
            sealed = _unjson(self.sealer.open_bytes(row.claims_enc or b"", grant_id.encode()))
            principal = Principal(subject=row.subject, auth_time=int(row.auth_time), acr=row.acr,
                                  amr=list(row.amr or []), sid=row.sid, grant_id=grant_id,
                                  claims=sealed.get("claims") or {},
                                  claims_request=sealed.get("claims_request"))
            return principal, row.client_id, row.scope

    def active(self, grant_id) -> bool:
        if not isinstance(grant_id, str):
            return False
        with self.db.session(write=False) as s:
            row = s.execute(select(Grant.revoked_at, Grant.expires_at)
                            .where(Grant.grant_id == grant_id)).first()
        return bool(row) and row.revoked_at is None and row.expires_at > time.time()

    def revoke(self, grant_id: str, reason: str) -> bool:
        with self.db.session() as s:
            result = s.execute(update(Grant).where(Grant.grant_id == grant_id,
                                                   Grant.revoked_at.is_(None))
                               .values(revoked_at=time.time(), revoked_reason=reason))
            s.execute(update(RefreshToken).where(RefreshToken.grant_id == grant_id,
                                                 RefreshToken.revoked_at.is_(None))
                      .values(revoked_at=time.time()))
            return result.rowcount > 0

    def revoke_session(self, sid: str, reason: str) -> list[str]:
        """Revoke the grants of an ended SSO session, except offline_access ones."""
        with self.db.session() as s:
            rows = s.execute(select(Grant.grant_id, Grant.scope).where(
                Grant.sid == sid, Grant.revoked_at.is_(None))).all()
        ids = [r.grant_id for r in rows if "offline_access" not in (r.scope or "").split()]
        for grant_id in ids:
            self.revoke(grant_id, reason)
        return ids

    # -- refresh tokens --------------------------------------------------------------------
    def issue_refresh_token(self, grant_id: str, client_id: str, scope: str, ttl: int,
                            *, replaces: RefreshToken | None = None) -> str | None:
        """Store a new refresh token; with ``replaces``, rotate atomically.

        Rotation marks the old token used and stores its successor in one transaction, so a
        failure in between can neither burn the old token nor leave two live ones; it
        returns None when another request claimed the old token first.
        """
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.session() as s:
            if replaces is not None:
                result = s.execute(update(RefreshToken).where(
                    RefreshToken.token_hash == replaces.token_hash, RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None)).values(used_at=now))
                if result.rowcount != 1:
                    return None
            s.add(RefreshToken(token_hash=token_hash(token), grant_id=grant_id,
                               client_id=client_id, scope=scope, issued_at=now,
                               expires_at=now + ttl))
        return token

    def find_refresh_token(self, token) -> RefreshToken | None:
        if not isinstance(token, str) or len(token) > 256:
            return None
        with self.db.session(write=False) as s:
            return s.get(RefreshToken, token_hash(token))


def _json(obj) -> bytes:
    import json
    return json.dumps(obj, separators=(",", ":")).encode()


def _unjson(raw: bytes | None) -> dict:
    import json
    return json.loads(raw) if raw else {}
