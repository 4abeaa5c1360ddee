"""Deleting expired durable rows: grants with their refresh tokens, refresh tokens, consents.

Every read of these rows already treats an expired row as absent (a missing grant reads as
inactive, a missing consent asks again), so deleting them changes no answer; it keeps the
tables and their indexes small.  A rotated refresh token stays until its own expiry, so
reuse detection works for as long as the token could have been presented.  Rows go in
batches of ``batch`` (one short transaction each), so a large backlog never holds a lock
for long.  ``grace`` keeps rows a little past expiry: nodes' clocks may differ slightly.

The short-lived store purges itself (Redis TTLs; ``SqlStore`` deletes now and then).
"""
from __future__ import annotations

import time

from sqlalchemy import delete, func, or_, select

from .models import Consent, Grant, RefreshToken

DEFAULT_GRACE = 300.0
BATCH = 1000


def _targets(cutoff: float):
    """(name, table, primary key column, condition) in a safe order: children first."""
    expired_grants = select(Grant.grant_id).where(Grant.expires_at < cutoff)
    return (
        ("refresh_tokens", RefreshToken, RefreshToken.token_hash,
         or_(RefreshToken.expires_at < cutoff, RefreshToken.grant_id.in_(expired_grants))),
        ("grants", Grant, Grant.grant_id, Grant.expires_at < cutoff),
        ("consents", Consent, None, Consent.expires_at < cutoff),
    )


def count_expired(database, *, now: float | None = None, grace: float = DEFAULT_GRACE) -> dict[str, int]:
    """How many rows ``purge_expired`` would delete."""
    cutoff = (time.time() if now is None else now) - grace
    with database.session(write=False) as s:
        return {name: s.execute(select(func.count()).select_from(table).where(cond)).scalar_one()
                for name, table, _, cond in _targets(cutoff)}


def purge_expired(database, *, now: float | None = None, grace: float = DEFAULT_GRACE,
                  batch: int = BATCH) -> dict[str, int]:
    """Delete expired rows; return how many of each kind went."""
    if grace < 0 or batch < 1:
        raise ValueError("grace must be >= 0 and batch >= 1")
    cutoff = (time.time() if now is None else now) - grace
    counts = {}
    for name, table, key, cond in _targets(cutoff):
        total = 0
        while True:
            with database.session() as s:
                if key is None:  # composite key (consents): one statement, a small table
                    deleted = s.execute(delete(table).where(cond)).rowcount
                else:
                    chunk = select(key).where(cond).limit(batch)
                    deleted = s.execute(delete(table).where(key.in_(chunk))).rowcount
            total += max(deleted, 0)
            if key is None or deleted < batch:
                break
        counts[name] = total
    return counts
