"""Retention without breaking the chain: ``idp audit archive --before DATE --out FILE``.

The cut is always at a signed checkpoint (the newest one whose event is older than DATE),
so what leaves the database is covered by a signature and what stays starts from a stated
anchor: that checkpoint, kept in ``audit_anchor``.  The file is JSON lines:

1. a header: where the archived stretch starts (genesis or the previous anchor, with its
   checkpoint) and the checkpoint that ends it;
2. one line per event, every column the hash covers plus ``id``, ``prev_hash``, ``hash``;
3. a trailer: a JWS (``typ: audit-archive+jwt``) over the SHA-256 of all lines before it.

The file is written and synced first, without holding the trail's append lock (logins go
on); then one transaction deletes the events, moves the anchor and appends the
``audit.archive`` event: a crash leaves nothing removed (run it again with a new file name).  ``verify_archive`` checks a file offline.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from sqlalchemy import delete, select

from ..errors import IdpError
from ..store import audit, audit_staging
from ..store.models import AuditAnchor, AuditCheckpoint, AuditEvent
from . import jws
from .jws import ARCHIVE_TYP, CHECKPOINT_TYP, CheckpointError

FORMAT = "idp-audit-archive/1"


class ArchiveError(IdpError):
    """The archive cannot be made, or a file is not a valid archive."""

    def __init__(self, description: str):
        super().__init__(description, error="invalid_request", status=400)


def _event_line(row) -> dict:
    data = {name: getattr(row, name) for name in audit._FIELDS}
    data.update(id=row.id, prev_hash=row.prev_hash, hash=row.hash)
    return data


def _dumps(obj) -> bytes:
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def _covering(session, before: float, after_id: int):
    return session.execute(
        select(AuditCheckpoint).join(AuditEvent, AuditEvent.id == AuditCheckpoint.event_id)
        .where(AuditEvent.ts < before, AuditCheckpoint.event_id > after_id)
        .order_by(AuditCheckpoint.seq.desc()).limit(1)).scalar_one_or_none()


def archive(db, verifier, keyring, issuer: str, *, before: float, out: str | Path,
            actor: str = "cli") -> dict:
    out = Path(out)
    if out.exists():
        raise ArchiveError(f"{out} exists; archives are never overwritten")
    audit_staging.flush(db)  # every committed event in the chain first
    # Writing the file needs no lock: the archived rows are committed and never change.
    with db.session(write=False) as s:
        start = _start(s.get(AuditAnchor, 1))
        point = _covering(s, before, start["event_id"])
        if point is None:
            raise ArchiveError("no checkpoint covers events before that date: nothing to "
                               "archive (run `idp audit checkpoint`, or pick a later date)")
        try:
            verifier.verify(point.jws, CHECKPOINT_TYP)
        except CheckpointError as exc:
            raise ArchiveError(f"checkpoint seq {point.seq} is not valid: {exc}") from None
        point = {"seq": point.seq, "event_id": point.event_id, "hash": point.hash,
                 "count": point.count, "jws": point.jws}
        digest = _write(s, out, issuer, keyring, start, point)
    summary = {"file": str(out), "events": point["count"] - start["count"],
               "to_event": point["event_id"], "checkpoint_seq": point["seq"], "sha256": digest}
    # One transaction: delete, move the anchor, record it.  Appends by other requests go on
    # meanwhile (they touch only the tail); the append lock is taken only by the last step.
    with db.session() as s:
        anchor = s.execute(select(AuditAnchor).where(AuditAnchor.id == 1)
                           .with_for_update()).scalar_one_or_none()
        if _start(anchor)["event_id"] != start["event_id"]:
            out.unlink()
            raise ArchiveError("another archive ran meanwhile; nothing was removed, run it again")
        def record():
            audit.append_event(s, event="audit.archive", outcome="success", method=actor,
                               details=summary)

        later = s.scalar(select(AuditEvent.id).where(AuditEvent.id > point["event_id"]).limit(1))
        if later is None:
            # Cut at the head: record first, so a row stays behind the anchor (appends link
            # to the table's last row, and SQLite would restart the ids of an empty table).
            record()
        s.execute(delete(AuditEvent).where(AuditEvent.id > start["event_id"],
                                           AuditEvent.id <= point["event_id"]))
        if anchor is None:
            anchor = AuditAnchor(id=1)
            s.add(anchor)
        anchor.event_id, anchor.hash, anchor.count = point["event_id"], point["hash"], point["count"]
        anchor.checkpoint_jws, anchor.archived_at = point["jws"], time.time()
        if later is not None:
            record()
    return summary


def _start(anchor) -> dict:
    if anchor is None:
        return {"event_id": 0, "hash": audit.GENESIS, "count": 0, "checkpoint": None}
    return {"event_id": anchor.event_id, "hash": anchor.hash, "count": anchor.count,
            "checkpoint": anchor.checkpoint_jws}


def _write(session, out: Path, issuer: str, keyring, start: dict, point: dict) -> str:
    """Write and sync the archive file (re-hashing every event); return its SHA-256."""
    tmp = out.with_name(out.name + ".part")
    digest = hashlib.sha256()
    prev, count = start["hash"], start["count"]
    try:
        with open(tmp, "wb") as fh:
            def write(obj):
                data = _dumps(obj)
                digest.update(data)
                fh.write(data)
            write({"format": FORMAT, "issuer": issuer, "from": start, "checkpoint": point["jws"],
                   "events": point["count"] - start["count"]})
            rows = session.execute(
                select(AuditEvent).where(AuditEvent.id > start["event_id"],
                                         AuditEvent.id <= point["event_id"])
                .order_by(AuditEvent.id).execution_options(yield_per=1000)).scalars()
            for row in rows:
                fields = {name: getattr(row, name) for name in audit._FIELDS}
                if row.prev_hash != prev or row.hash != audit.event_hash(prev, fields):
                    raise ArchiveError(f"event {row.id} does not verify: run `idp audit verify`; "
                                       "a broken chain is never archived")
                write(_event_line(row))
                prev, count = row.hash, count + 1
            if prev != point["hash"] or count != point["count"]:
                raise ArchiveError(f"the trail does not reach checkpoint seq {point['seq']} intact")
            trailer = jws.sign(keyring, ARCHIVE_TYP, {
                "iss": issuer, "iat": int(time.time()), "sha256": digest.hexdigest(),
                "checkpoint_seq": point["seq"], "first_id": start["event_id"] + 1,
                "last_id": point["event_id"], "events": count - start["count"]})
            fh.write(_dumps({"signature": trailer}))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest.hexdigest()


def verify_archive(path: str | Path, verifier) -> dict:
    """Check an archive file offline; raise ArchiveError naming the first problem."""
    try:
        lines = Path(path).read_bytes().splitlines(keepends=True)
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror}") from None
    if len(lines) < 2:
        raise ArchiveError("not an audit archive: too short")
    try:
        header = json.loads(lines[0])
        trailer = json.loads(lines[-1])
    except ValueError:
        raise ArchiveError("not an audit archive: header or trailer is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ArchiveError("not an audit archive (unknown format)")
    try:
        signed = verifier.verify(trailer.get("signature", ""), ARCHIVE_TYP)
        point = verifier.verify(header.get("checkpoint", ""), CHECKPOINT_TYP)
        start = header["from"]
        if start.get("checkpoint"):
            first = verifier.verify(start["checkpoint"], CHECKPOINT_TYP)
            if (first.get("event_id"), first.get("hash"), first.get("count")) != \
                    (start["event_id"], start["hash"], start["count"]):
                raise ArchiveError("the archive's starting anchor does not match its checkpoint")
    except CheckpointError as exc:
        raise ArchiveError(f"archive signature: {exc}") from None
    except (KeyError, TypeError, AttributeError):
        raise ArchiveError("not an audit archive: header fields missing") from None
    body = b"".join(lines[:-1])
    if hashlib.sha256(body).hexdigest() != signed.get("sha256"):
        raise ArchiveError("the archive was changed after it was signed (SHA-256 differs)")
    prev, count, last_id = start["hash"], start["count"], start["event_id"]
    for number, raw in enumerate(lines[1:-1], 2):
        try:
            event = json.loads(raw)
            fields = {name: event[name] for name in audit._FIELDS}
            if event["id"] <= last_id:
                raise ArchiveError(f"line {number}: event {event['id']} is out of order")
            ok = event["prev_hash"] == prev and event["hash"] == audit.event_hash(prev, fields)
        except (ValueError, KeyError, TypeError):
            raise ArchiveError(f"line {number}: not an archived event") from None
        if not ok:
            raise ArchiveError(f"line {number}: event {event['id']} does not verify")
        prev, count, last_id = event["hash"], count + 1, event["id"]
    if (prev, count, last_id) != (point.get("hash"), point.get("count"), point.get("event_id")):
        raise ArchiveError(f"the events do not end at checkpoint seq {point.get('seq')}")
    return {"events": count - start["count"], "first_id": start["event_id"] + 1,
            "last_id": last_id, "checkpoint_seq": point.get("seq"), "to_hash": prev}
