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

from sqlalchemy import insert, select, update

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
    # (client_id, scope, ttl) of a grant not stored yet: a code redemption stores it with its
    # first refresh token when the tokens are minted (``Provider.generate_token``).
    pending_grant: tuple | None = None


_G = Grant.__table__
_R = RefreshToken.__table__
# What a refresh-token request needs in one read: the token and its grant.
_TOKEN_AND_GRANT = select(
    *_R.c, _G.c.client_id.label("grant_client_id"), _G.c.subject, _G.c.sid,
    _G.c.scope.label("grant_scope"), _G.c.claims_enc, _G.c.auth_time, _G.c.acr, _G.c.amr,
    _G.c.expires_at.label("grant_expires_at"), _G.c.revoked_at.label("grant_revoked_at"),
).select_from(_R.outerjoin(_G, _G.c.grant_id == _R.c.grant_id))


# PostgreSQL's hot statements, run straight through psycopg (Database.pg_statement).
_CREATE_WITH_TOKEN_PG = (
    "WITH g AS (INSERT INTO grants (grant_id, client_id, subject, sid, scope, claims_enc, "
    "auth_time, acr, amr, created_at, expires_at) VALUES (%(grant_id)s, %(client_id)s, "
    "%(subject)s, %(sid)s, %(scope)s, %(claims_enc)s, %(auth_time)s, %(acr)s, "
    "CAST(%(amr)s AS JSON), %(created_at)s, %(expires_at)s) RETURNING grant_id) "
    "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scope, issued_at, expires_at) "
    "SELECT %(r_token_hash)s, g.grant_id, %(r_client_id)s, %(r_scope)s, %(r_issued_at)s, "
    "%(r_expires_at)s FROM g")
_ROTATE_PG = (
    "WITH old AS (UPDATE refresh_tokens SET used_at = %(used_at)s WHERE token_hash = "
    "%(old_hash)s AND used_at IS NULL AND revoked_at IS NULL RETURNING token_hash) "
    "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scope, issued_at, expires_at) "
    "SELECT %(token_hash)s, %(grant_id)s, %(client_id)s, %(scope)s, %(issued_at)s, "
    "%(expires_at)s FROM old")
# The redemption's ``token`` audit event, staged in the same statement (store/audit_staging.py).
_AUDIT_CTE = ("a AS (INSERT INTO audit_pending (ts, event, outcome, client_id, subject, ip, method, "
              "reason, details) SELECT %(a_ts)s, %(a_event)s, %(a_outcome)s, %(a_client_id)s, "
              "%(a_subject)s, %(a_ip)s, %(a_method)s, %(a_reason)s, CAST(%(a_details)s AS JSON){}) ")
_CREATE_AUDITED_PG = _CREATE_WITH_TOKEN_PG.replace(
    "RETURNING grant_id) ", "RETURNING grant_id), " + _AUDIT_CTE.format(" FROM g"), 1)
_ROTATE_AUDITED_PG = _ROTATE_PG.replace(
    "RETURNING token_hash) ", "RETURNING token_hash), " + _AUDIT_CTE.format(" FROM old"), 1)
_GRANT_PG = ("SELECT client_id, scope, subject, sid, claims_enc, auth_time, acr, amr, expires_at, "
             "revoked_at FROM grants WHERE grant_id = %s")
_TOKEN_AND_GRANT_PG = (
    "SELECT r.token_hash, r.grant_id, r.client_id, r.scope, r.issued_at, r.expires_at, "
    "r.used_at, r.revoked_at, g.client_id AS grant_client_id, g.subject, g.sid, "
    "g.scope AS grant_scope, g.claims_enc, g.auth_time, g.acr, g.amr, "
    "g.expires_at AS grant_expires_at, g.revoked_at AS grant_revoked_at "
    "FROM refresh_tokens r LEFT JOIN grants g ON g.grant_id = r.grant_id WHERE r.token_hash = %s")


class GrantStore:
    """Core statements, not the ORM: these run several times per login (code, userinfo,
    refresh), and the ORM's unit of work cost more CPU than the statements themselves."""

    def __init__(self, database, sealer):
        self.db = database
        self.sealer = sealer

    def create(self, grant_id: str, client_id: str, principal: Principal, scope: str,
               ttl: int, *, refresh_ttl: int | None = None, refresh_scope: str | None = None,
               audit: dict | None = None) -> str | None:
        """Store a grant; with ``refresh_ttl``, also its first refresh token, in the same
        transaction (returned), so a code redemption commits once and never leaves a grant
        without its token or a token without its grant.

        ``audit``: an audit event (``AuditLog.append`` fields with ``ts``) that PostgreSQL
        stages in the same statement; ``audit["staged"]`` says whether it was."""
        now = time.time()
        # The claims request (OIDC Core 5.5) travels with the user's claims, so userinfo and
        # refreshed ID tokens release what the authorization request named.
        sealed = self.sealer.seal_bytes(
            _json({"claims": principal.claims, "claims_request": principal.claims_request}),
            grant_id.encode())
        token = secrets.token_urlsafe(32) if refresh_ttl is not None else None
        grant = dict(grant_id=grant_id, client_id=client_id, subject=principal.subject,
                     sid=principal.sid, scope=scope, claims_enc=sealed,
                     auth_time=principal.auth_time, acr=principal.acr, amr=principal.amr,
                     created_at=now, expires_at=now + ttl)
        if token is None:
            with self.db.connect() as conn:
                conn.execute(insert(_G).values(**grant))
            return token
        refresh = dict(token_hash=token_hash(token), grant_id=grant_id, client_id=client_id,
                       scope=scope if refresh_scope is None else refresh_scope, issued_at=now,
                       expires_at=now + refresh_ttl)
        if self.db.dialect == "postgresql":
            # One statement (its own transaction): one round trip instead of BEGIN, two
            # INSERTs and COMMIT, each of which waits for the database under load.
            self.db.pg_statement(_CREATE_AUDITED_PG if audit else _CREATE_WITH_TOKEN_PG, {
                **grant, "amr": _json(principal.amr).decode(),
                **{"r_" + k: v for k, v in refresh.items()}, **_audit_params(audit)})
            _staged(audit)
            return token
        with self.db.connect() as conn:
            conn.execute(insert(_G).values(**grant))
            conn.execute(insert(_R).values(**refresh))
        return token

    def principal(self, grant_id: str) -> tuple[Principal, str, str] | None:
        """(principal, client_id, scope) of an unrevoked, unexpired grant."""
        if not isinstance(grant_id, str):
            return None
        if self.db.dialect == "postgresql":
            row = self.db.pg_statement(_GRANT_PG, (grant_id,), fetch=True)
        else:
            with self.db.connect(write=False) as conn:
                row = conn.execute(select(_G).where(_G.c.grant_id == grant_id)).first()
        if row is None:
            return None
        return self._principal(grant_id, row.client_id, row.scope, row.subject, row.sid,
                               row.claims_enc, row.auth_time, row.acr, row.amr,
                               row.expires_at, row.revoked_at)

    def _principal(self, grant_id, client_id, scope, subject, sid, claims_enc, auth_time, acr,
                   amr, expires_at, revoked_at):
        if revoked_at or expires_at is None or expires_at <= time.time():
            return None
        sealed = _unjson(self.sealer.open_bytes(claims_enc or b"", grant_id.encode()))
        principal = Principal(subject=subject, auth_time=int(auth_time), acr=acr,
                              amr=list(amr or []), sid=sid, grant_id=grant_id,
                              claims=sealed.get("claims") or {},
                              claims_request=sealed.get("claims_request"))
        return principal, client_id, scope

    def active(self, grant_id) -> bool:
        if not isinstance(grant_id, str):
            return False
        with self.db.connect(write=False) as conn:
            row = conn.execute(select(_G.c.revoked_at, _G.c.expires_at)
                               .where(_G.c.grant_id == grant_id)).first()
        return bool(row) and row.revoked_at is None and row.expires_at > time.time()

    def revoke(self, grant_id: str, reason: str) -> bool:
        with self.db.connect() as conn:
            result = conn.execute(update(_G).where(_G.c.grant_id == grant_id,
                                                   _G.c.revoked_at.is_(None))
                                  .values(revoked_at=time.time(), revoked_reason=reason))
            conn.execute(update(_R).where(_R.c.grant_id == grant_id, _R.c.revoked_at.is_(None))
                         .values(revoked_at=time.time()))
            return result.rowcount > 0

    def revoke_session(self, sid: str, reason: str) -> list[str]:
        """Revoke the grants of an ended SSO session, except offline_access ones."""
        with self.db.connect(write=False) as conn:
            rows = conn.execute(select(_G.c.grant_id, _G.c.scope).where(
                _G.c.sid == sid, _G.c.revoked_at.is_(None))).all()
        ids = [r.grant_id for r in rows if "offline_access" not in (r.scope or "").split()]
        for grant_id in ids:
            self.revoke(grant_id, reason)
        return ids

    # -- refresh tokens --------------------------------------------------------------------
    def issue_refresh_token(self, grant_id: str, client_id: str, scope: str, ttl: int,
                            *, replaces=None, audit: dict | None = None) -> str | None:
        """Store a new refresh token; with ``replaces`` (a row of ``find_refresh_token``),
        rotate atomically.

        Rotation marks the old token used and stores its successor in one transaction, so a
        failure in between can neither burn the old token nor leave two live ones; it
        returns None when another request claimed the old token first.  ``audit``: as in
        ``create``, staged only with a successful rotation.
        """
        token = secrets.token_urlsafe(32)
        now = time.time()
        new = dict(token_hash=token_hash(token), grant_id=grant_id, client_id=client_id,
                   scope=scope, issued_at=now, expires_at=now + ttl)
        if replaces is not None and self.db.dialect == "postgresql":
            # The rotation as one statement (atomic by itself; under READ COMMITTED a second
            # rotation of the same token waits for the row and then finds it used): one
            # round trip instead of four.
            rotated = self.db.pg_statement(_ROTATE_AUDITED_PG if audit else _ROTATE_PG, {
                **new, "old_hash": replaces.token_hash, "used_at": now, **_audit_params(audit)})
            if rotated != 1:
                return None
            _staged(audit)
            return token
        with self.db.connect() as conn:
            if replaces is not None:
                result = conn.execute(update(_R).where(
                    _R.c.token_hash == replaces.token_hash, _R.c.used_at.is_(None),
                    _R.c.revoked_at.is_(None)).values(used_at=now))
                if result.rowcount != 1:
                    return None
            conn.execute(insert(_R).values(**new))
        return token

    def find_refresh_token(self, token):
        """The stored row of a refresh token (its columns as attributes), or None."""
        if not isinstance(token, str) or len(token) > 256:
            return None
        with self.db.connect(write=False) as conn:
            return conn.execute(select(_R).where(_R.c.token_hash == token_hash(token))).first()

    def find_refresh_token_and_grant(self, token):
        """(row, (principal, client_id, scope) or None) in one read, or None: the refresh
        grant's two lookups (the token, then its grant) as one statement."""
        if not isinstance(token, str) or len(token) > 256:
            return None
        if self.db.dialect == "postgresql":
            row = self.db.pg_statement(_TOKEN_AND_GRANT_PG, (token_hash(token),), fetch=True)
        else:
            with self.db.connect(write=False) as conn:
                row = conn.execute(_TOKEN_AND_GRANT.where(
                    _R.c.token_hash == token_hash(token))).first()
        if row is None:
            return None
        found = None
        if row.grant_client_id is not None:
            found = self._principal(row.grant_id, row.grant_client_id, row.grant_scope,
                                    row.subject, row.sid, row.claims_enc, row.auth_time, row.acr,
                                    row.amr, row.grant_expires_at, row.grant_revoked_at)
        return row, found


def _audit_params(audit: dict | None) -> dict:
    if not audit:
        return {}
    from ..store.audit import _canonical
    params = {"a_" + k: audit.get(k) for k in ("ts", "event", "outcome", "client_id", "subject",
                                               "ip", "method", "reason")}
    params["a_details"] = _canonical(audit.get("details") or {})
    return params


def _staged(audit: dict | None) -> None:
    if audit is not None:
        audit["staged"] = True


def _json(obj) -> bytes:
    import json
    return json.dumps(obj, separators=(",", ":")).encode()


def _unjson(raw: bytes | None) -> dict:
    import json
    return json.loads(raw) if raw else {}
