"""Append-only audit trail with a hash chain.

Each row stores ``hash = sha256(prev_hash + canonical JSON of its fields)`` and the hash of
the row before it, so editing a row breaks its own hash and deleting one breaks the link of
the next.  Appends are serialised across processes (PostgreSQL: a transaction-level
advisory lock; SQLite: the database write lock) so the chain stays linear.  The lock is
held until the caller's transaction ends: append last, commit soon.  Requests on PostgreSQL
do not append here themselves: they stage their events and a sequencer chains them
(``audit_staging.py``); admin changes append here in their own transaction.
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import Iterator

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditAnchor, AuditEvent

GENESIS = "0" * 64
OUTCOMES = ("success", "failure", "info")
_LOCK_KEY = 0x1D9_A0D1_7000  # fixed: every process appending agrees on it
_FIELDS = ("ts", "event", "outcome", "client_id", "subject", "ip", "method", "reason", "details")


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, fields: dict) -> str:
    payload = prev_hash + _canonical({name: fields[name] for name in _FIELDS})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    else:
        # SQLite: a (no-op) write takes the database write lock now, before we read the
        # chain's tail; Database.session() already does so with BEGIN IMMEDIATE.
        session.execute(text("UPDATE audit_events SET id = id WHERE 0 = 1"))


def append_event(session: Session, *, event: str, outcome: str, client_id: str | None = None,
                 subject: str | None = None, ip: str | None = None, method: str | None = None,
                 reason: str | None = None, details: dict | None = None) -> AuditEvent:
    """Append one event to the chain (flushed, so ``id`` is set); the caller commits.

    ``subject`` must already be masked or pairwise: the trail never holds an ID number.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    _lock(session)
    prev = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none() or GENESIS
    fields = {
        "ts": time.time(), "event": event, "outcome": outcome, "client_id": client_id,
        "subject": subject, "ip": ip, "method": method, "reason": reason,
        # Round-trip through JSON so the hash covers exactly what the column will return.
        "details": json.loads(_canonical(details or {})),
    }
    row = AuditEvent(**fields, prev_hash=prev, hash=event_hash(prev, fields))
    session.add(row)
    session.flush()
    return row


def verify_chain(session: Session, *, batch: int = 1000) -> int | None:
    """Return the id of the first event whose hash or link is wrong, or None if intact.

    A deleted row shows up at the row after it; deleted newest rows cannot be detected
    from the table alone: ``idp/audittrail`` checks the trail against signed checkpoints.
    """
    anchor = session.get(AuditAnchor, 1)
    prev, after = (anchor.hash, anchor.event_id) if anchor else (GENESIS, 0)
    rows = session.execute(
        select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
        .execution_options(yield_per=batch)
    ).scalars()
    for row in rows:
        fields = {name: getattr(row, name) for name in _FIELDS}
        if row.prev_hash != prev or row.hash != event_hash(prev, fields):
            return row.id
        prev = row.hash
    return None


def iter_events(session: Session, since: float | None = None, until: float | None = None,
                client_id: str | None = None, outcome: str | None = None,
                limit: int = 100) -> Iterator[AuditEvent]:
    """Events matching the filters, newest first, at most ``limit``."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if since is not None:
        query = query.where(AuditEvent.ts >= since)
    if until is not None:
        query = query.where(AuditEvent.ts < until)
    if client_id is not None:
        query = query.where(AuditEvent.client_id == client_id)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    return iter(session.execute(query).scalars().all())
