"""Remembered consent, per subject, client and scopes (OIDC Core section 3.1.2.4)."""
from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..store.models import Consent


def has_consent(ctx, subject: str, client_id: str, scope: str) -> bool:
    # Every /authorize of a signed-in user asks: no ORM (on PostgreSQL, no Core either).
    if ctx.db.dialect == "postgresql":
        row = ctx.db.pg_statement("SELECT scope, expires_at FROM consents WHERE subject = %s "
                                  "AND client_id = %s", (subject, client_id), fetch=True)
    else:
        table = Consent.__table__
        with ctx.db.connect(write=False) as conn:
            row = conn.execute(select(table.c.scope, table.c.expires_at).where(
                table.c.subject == subject, table.c.client_id == client_id)).first()
    if row is None or row.expires_at <= time.time():
        return False
    return set(scope.split()) <= set((row.scope or "").split())


def remember_consent(ctx, subject: str, client_id: str, scope: str) -> None:
    # Two first consents of one person to one client can race (two tabs, two nodes): the
    # INSERT that loses finds the winner's row on a second pass and merges into it.
    try:
        _remember(ctx, subject, client_id, scope)
    except IntegrityError:
        _remember(ctx, subject, client_id, scope)


def _remember(ctx, subject: str, client_id: str, scope: str) -> None:
    now = time.time()
    with ctx.db.session() as s:
        row = s.get(Consent, (subject, client_id))
        if row is None:
            s.add(Consent(subject=subject, client_id=client_id, scope=scope, granted_at=now,
                          expires_at=now + ctx.settings.consent_ttl))
        else:
            merged = list(dict.fromkeys((row.scope or "").split() + scope.split()))
            row.scope, row.granted_at = " ".join(merged), now
            row.expires_at = now + ctx.settings.consent_ttl
