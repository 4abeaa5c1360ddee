"""Checking the audit trail against signed checkpoints (``idp audit verify --checkpoints``).

One pass over the chain in id order, from genesis or from the archive anchor.  Each
problem gets its own message: an edited row (its hash does not match its content),
deleted rows (a link to a hash no row has), reordered rows (a link to a later row), a
rewritten chain (a checkpointed event whose hash differs from what was signed), truncation
(the chain ends before a checkpointed event), a checkpoint missing from the sink (a gap in
``seq`` or a broken ``prev`` link) and a checkpoint not signed by this OP.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from ..store import audit
from ..store.models import AuditAnchor, AuditCheckpoint, AuditEvent
from .checkpoints import jws_digest
from .jws import CHECKPOINT_TYP, CheckpointError


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Checkpoint:
    origin: str  # "line 3" / "seq 3 in the database"
    token: str
    claims: dict

    @property
    def seq(self) -> int:
        return self.claims["seq"]


@dataclass
class Report:
    events: int = 0  # in the chain, archived ones included
    head_id: int | None = None
    problems: list[str] = field(default_factory=list)
    checkpoints: int = 0
    last: Checkpoint | None = None
    after_last: int | None = None
    anchor: dict | None = None
    archived_checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_lines(text: str) -> list[tuple[str, str]]:
    """(origin, token) per non-empty line: a sink's JSON line or a bare compact JWS."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        token = line
        if line.startswith("{"):
            try:
                token = json.loads(line).get("jws") or ""
            except (ValueError, AttributeError):
                token = ""
        found.append((f"line {number}", token))
    return found


def from_database(session) -> list[tuple[str, str]]:
    rows = session.execute(select(AuditCheckpoint.seq, AuditCheckpoint.jws)
                           .order_by(AuditCheckpoint.seq)).all()
    return [(f"seq {seq} in the database", token) for seq, token in rows]


_NEEDED = {"seq": int, "event_id": int, "hash": str, "count": int}


def check_checkpoints(sources, verifier, report: Report) -> list[Checkpoint]:
    """Verified checkpoints in seq order; every bad or missing one is a problem."""
    good: dict[int, Checkpoint] = {}
    for origin, token in sources:
        try:
            claims = verifier.verify(token, CHECKPOINT_TYP)
        except CheckpointError as exc:
            report.problems.append(f"checkpoint at {origin} is not valid: {exc}")
            continue
        if any(not isinstance(claims.get(k), t) for k, t in _NEEDED.items()):
            report.problems.append(f"checkpoint at {origin} lacks seq, event_id, hash or count")
            continue
        point = Checkpoint(origin, token, claims)
        seen = good.get(point.seq)
        if seen is not None and seen.token != token:
            report.problems.append(f"two different signed checkpoints for seq {point.seq} "
                                   f"({seen.origin} and {origin}): the trail was forked")
        good.setdefault(point.seq, point)
    ordered = [good[seq] for seq in sorted(good)]
    for before, after in zip(ordered, ordered[1:]):
        if after.seq != before.seq + 1:
            missing = (f"seq {before.seq + 1}" if after.seq == before.seq + 2
                       else f"seq {before.seq + 1} to {after.seq - 1}")
            report.problems.append(f"checkpoint {missing} missing: the checkpoints jump from "
                                   f"seq {before.seq} to seq {after.seq} (dropped from the sink)")
        elif after.claims.get("prev") != jws_digest(before.token):
            report.problems.append(f"checkpoint seq {after.seq} does not link to seq "
                                   f"{before.seq} (its prev differs)")
        if (after.claims["event_id"] < before.claims["event_id"]
                or after.claims["count"] < before.claims["count"]):
            report.problems.append(f"checkpoint seq {after.seq} covers fewer events than seq "
                                   f"{before.seq}: the trail was truncated between them")
    report.checkpoints = len(ordered)
    return ordered


def _link_problem(session, row, prev_row_id: int | None) -> str:
    target = session.execute(select(AuditEvent.id).where(AuditEvent.hash == row.prev_hash)
                             .limit(1)).scalar_one_or_none()
    where = f"event {row.id} ({row.event} at {when(row.ts)})"
    if target is None:
        after = f"after event {prev_row_id}" if prev_row_id else "at the start of the trail"
        return (f"events deleted {after}: {where} links to an event the trail no longer has")
    if target > row.id:
        return f"events reordered: {where} links to event {target}, which comes after it"
    return (f"events reordered or inserted: {where} links to event {target}, not to event "
            f"{prev_row_id} before it")


def _anchor(session, verifier, report: Report):
    """Where the chain in the table starts: genesis, or the archive anchor (checked)."""
    anchor = session.get(AuditAnchor, 1)
    if anchor is None:
        return None, audit.GENESIS, 0, 0
    report.anchor = {"event_id": anchor.event_id, "hash": anchor.hash, "count": anchor.count}
    try:
        signed = verifier.verify(anchor.checkpoint_jws, CHECKPOINT_TYP)
        if (signed.get("event_id"), signed.get("hash"), signed.get("count")) != \
                (anchor.event_id, anchor.hash, anchor.count):
            report.problems.append("the archive anchor does not match the checkpoint it names")
    except CheckpointError as exc:
        report.problems.append(f"the archive anchor's checkpoint is not valid: {exc}")
    return anchor, anchor.hash, anchor.count, anchor.event_id


def verify_trail(session, verifier, sources, *, batch: int = 1000) -> Report:
    report = Report()
    points = check_checkpoints(sources, verifier, report)
    anchor, prev, count, after = _anchor(session, verifier, report)
    pending = []
    for point in points:
        if point.claims["event_id"] < after:
            report.archived_checkpoints += 1
        elif point.claims["event_id"] == after and anchor is not None:
            if point.claims["hash"] != anchor.hash:
                report.problems.append(f"the archive anchor (event {after}) differs from "
                                       f"checkpoint seq {point.seq}")
        else:
            pending.append(point)
    pending.sort(key=lambda p: p.claims["event_id"])
    rows = session.execute(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
                           .execution_options(yield_per=batch)).scalars()
    prev_id = after or None
    for row in rows:
        fields = {name: getattr(row, name) for name in audit._FIELDS}
        if row.hash != audit.event_hash(row.prev_hash, fields):
            report.problems.append(f"event {row.id} ({row.event} at {when(row.ts)}) was edited: "
                                   "its stored hash does not match its content")
        elif row.prev_hash != prev:
            report.problems.append(_link_problem(session, row, prev_id))
        count += 1
        while pending and pending[0].claims["event_id"] < row.id:
            point = pending.pop(0)
            report.problems.append(f"event {point.claims['event_id']} signed in checkpoint seq "
                                   f"{point.seq} is missing from the trail (deleted)")
        # several checkpoints can sign one head (a timer fired with no new event since)
        while pending and pending[0].claims["event_id"] == row.id:
            point = pending.pop(0)
            if point.claims["hash"] != row.hash:
                report.problems.append(
                    f"event {row.id} differs from what checkpoint seq {point.seq} signed "
                    f"({when(point.claims['iat'])}): the trail was rewritten at or before it")
            elif point.claims["count"] != count:
                report.problems.append(
                    f"checkpoint seq {point.seq} counted {point.claims['count']} events up to "
                    f"event {row.id}, the trail has {count}: events before it were deleted or added")
        prev, prev_id = row.hash, row.id
    report.events, report.head_id = count, prev_id
    if pending:
        last = max(pending, key=lambda p: p.claims["event_id"])
        lost = last.claims["count"] - count
        report.problems.append(
            f"TRUNCATED: checkpoint seq {last.seq} ({when(last.claims['iat'])}) covers events up "
            f"to {last.claims['event_id']} ({last.claims['count']} events), but the trail ends at "
            f"event {prev_id or 'none'} ({count} events): at least {max(lost, 1)} of the newest "
            "events were deleted")
    if points:
        report.last = points[-1]
        if not pending:
            report.after_last = count - points[-1].claims["count"]
    return report


def describe(report: Report) -> list[str]:
    """The human summary lines of a clean (or not) report."""
    lines = []
    if report.anchor:
        a = report.anchor
        lines.append(f"chain starts after the archive anchor: event {a['event_id']} "
                     f"(hash {a['hash'][:16]}..., {a['count']} events archived)")
    if report.last is not None:
        c = report.last.claims
        lines.append(f"{report.checkpoints} checkpoints verified; the last is seq {c['seq']} "
                     f"at event {c['event_id']} ({when(c['iat'])})")
        if report.archived_checkpoints:
            lines.append(f"{report.archived_checkpoints} checkpoints cover archived events")
        if report.after_last is not None:
            lines.append(f"{report.after_last} events after the last checkpoint "
                         "(not yet covered by a signature)")
    else:
        lines.append("no checkpoints to verify against: truncation of the newest events "
                     "cannot be detected")
    return lines
