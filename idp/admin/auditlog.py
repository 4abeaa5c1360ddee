"""Reading the audit trail: searches with keyset paging, and the dashboard statistics.

Searches go newest first and page by id (``before``), which stays correct while new events
are appended.  Statistics count in SQL per hour bucket (a few small indexed queries), so the
dashboard costs the same at 300,000 logins a day as at ten.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import func, select

from ..errors import InvalidRequest
from ..store.audit import OUTCOMES
from ..store.models import AuditEvent

MAX_LIMIT = 1000
LOGIN_EVENT = "login"
LIVENESS_PREFIX = "liveness"  # liveness.check, liveness.session, ... (any event so named)


def parse_time(value, name: str) -> float | None:
    """Epoch seconds, or ISO 8601 (``2024-05-01``, ``2024-05-01T08:00``; no zone means UTC)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        number = float(text)
        if 0 <= number < 1e11:
            return number
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} must be epoch seconds or an ISO 8601 date/time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def parse_limit(value, default: int = 100) -> int:
    if value in (None, ""):
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest("limit must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def event_json(row) -> dict:
    return {"id": row.id, "ts": row.ts,
            "time": datetime.fromtimestamp(row.ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "event": row.event, "outcome": row.outcome, "client_id": row.client_id,
            "subject": row.subject, "ip": row.ip, "method": row.method, "reason": row.reason,
            "details": row.details or {}, "hash": row.hash}


def search(session, *, since=None, until=None, client_id=None, outcome=None, subject=None,
           event=None, before=None, limit=100) -> tuple[list[dict], int | None]:
    """(events newest first, the ``before`` value of the next page or None)."""
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidRequest(f"outcome must be one of {', '.join(OUTCOMES)}")
    for name, value in (("client_id", client_id), ("subject", subject), ("event", event)):
        if value is not None and (not isinstance(value, str) or len(value) > 128):
            raise InvalidRequest(f"{name} must be at most 128 characters")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    conditions = [
        (since is not None, lambda: AuditEvent.ts >= since),
        (until is not None, lambda: AuditEvent.ts < until),
        (bool(client_id), lambda: AuditEvent.client_id == client_id),
        (bool(outcome), lambda: AuditEvent.outcome == outcome),
        (bool(subject), lambda: AuditEvent.subject == subject),
        (bool(event), lambda: AuditEvent.event == event),
        (before is not None, lambda: AuditEvent.id < before),
    ]
    for wanted, condition in conditions:
        if wanted:
            query = query.where(condition())
    rows = session.execute(query).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [event_json(r) for r in rows], (rows[-1].id if more and rows else None)


def iter_range(session, since=None, until=None, batch: int = 1000):
    """Every event in the range, oldest first (exports)."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if since is not None:
        query = query.where(AuditEvent.ts >= since)
    if until is not None:
        query = query.where(AuditEvent.ts < until)
    yield from session.execute(query.execution_options(yield_per=batch)).scalars()


def _grouped(session, since: float, until: float, *conditions):
    query = (select(AuditEvent.method, AuditEvent.outcome, func.count())
             .where(AuditEvent.ts >= since, AuditEvent.ts < until, *conditions)
             .group_by(AuditEvent.method, AuditEvent.outcome))
    return session.execute(query).all()


def stats(session, *, hours: int = 24, now: float | None = None) -> dict:
    """Logins per hour by method and outcome, and the liveness pass rate per hour."""
    now = time.time() if now is None else now
    end = (int(now) // 3600 + 1) * 3600
    start = end - hours * 3600
    logins, liveness = [], []
    by_method: dict[str, dict[str, int]] = {}
    passed = checked = 0
    for hour in range(start, end, 3600):
        counts = {}
        for method, outcome, n in _grouped(session, hour, hour + 3600, AuditEvent.event == LOGIN_EVENT):
            key = method or "unknown"
            counts[f"{key}/{outcome}"] = counts.get(f"{key}/{outcome}", 0) + n
            by_method.setdefault(key, {}).setdefault(outcome, 0)
            by_method[key][outcome] += n
        logins.append({"hour": hour, "counts": counts})
        ok = bad = 0
        for _method, outcome, n in _grouped(session, hour, hour + 3600,
                                            AuditEvent.event.like(LIVENESS_PREFIX + "%")):
            ok += n if outcome == "success" else 0
            bad += n if outcome == "failure" else 0
        passed, checked = passed + ok, checked + ok + bad
        liveness.append({"hour": hour, "passed": ok, "total": ok + bad,
                         "pass_rate": round(ok / (ok + bad), 4) if ok + bad else None})
    return {"since": start, "until": end,
            "logins": {"total": sum(sum(v.values()) for v in by_method.values()),
                       "by_method": by_method, "per_hour": logins},
            "liveness": {"total": checked, "passed": passed,
                         "pass_rate": round(passed / checked, 4) if checked else None,
                         "per_hour": liveness}}
