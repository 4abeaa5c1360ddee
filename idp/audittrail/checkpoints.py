"""Signed checkpoints of the audit chain's head, in the spirit of Certificate
Transparency's signed tree heads (RFC 6962 section 3.5).

The hash chain (``store/audit.py``) shows an edited or deleted row inside it, but deleting
the newest rows leaves a shorter chain that still verifies.  So every ``every_events`` events
or ``every_seconds`` seconds the OP signs the head, ``{seq, event_id, hash, count, prev}``,
stores it and hands it to sinks outside the database; a verifier holding those checkpoints
then proves every checkpointed event is still present and unchanged.

A checkpoint is made under the trail's append lock, so two nodes never sign two heads for
one ``seq``, and only after the events since the previous checkpoint have been re-hashed:
the OP never signs a rewritten or truncated chain.  ``prev`` is the SHA-256 of the previous
checkpoint's JWS, so a checkpoint dropped from a sink shows.  The work runs in a background
thread of each serving process, never in a request.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, select, text

from ..store import audit, audit_staging
from ..store.models import AuditAnchor, AuditCheckpoint, AuditEvent
from . import jws

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
# PostgreSQL: the session-level advisory lock of the process that makes a due checkpoint
# (``Checkpointer.checkpoint(force=False)``); not the chain's append lock.
_MAKER_KEY = audit._LOCK_KEY + 1


class ChainBroken(Exception):
    """The chain since the last checkpoint does not verify: nothing is signed."""


@dataclass(frozen=True)
class Head:
    seq: int
    event_id: int
    hash: str
    count: int
    ts: float
    jws: str


def jws_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _head(row) -> Head | None:
    if row is None:
        return None
    return Head(row.seq, row.event_id, row.hash, row.count, row.ts, row.jws)


def last_checkpoint(session) -> Head | None:
    return _head(session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc())
                                 .limit(1)).scalar_one_or_none())


def _segment(session, base: tuple, upto: int, batch: int = 1000) -> tuple:
    """Re-hash events after ``base = (id, hash, count)`` up to ``upto``; the new base."""
    last_id, prev, count = base
    # Plain rows, not ORM objects: this runs over every event once, on every node.
    columns = [getattr(AuditEvent, name) for name in audit._FIELDS]
    rows = session.execute(select(AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash, *columns)
                           .where(AuditEvent.id > last_id, AuditEvent.id <= upto)
                           .order_by(AuditEvent.id).execution_options(yield_per=batch))
    for row in rows:
        fields = dict(zip(audit._FIELDS, row[3:]))
        if row.prev_hash != prev or row.hash != audit.event_hash(prev, fields):
            raise ChainBroken(f"event {row.id} does not verify against the chain since the "
                              f"last checkpoint (run `idp audit verify`)")
        last_id, prev, count = row.id, row.hash, count + 1
    return last_id, prev, count


def _base(session, last: Head | None) -> tuple:
    """(id, hash, count) the next checkpoint counts from: the last one, the anchor, genesis."""
    if last is not None:
        return last.event_id, last.hash, last.count
    anchor = session.get(AuditAnchor, 1)
    return (anchor.event_id, anchor.hash, anchor.count) if anchor else (0, audit.GENESIS, 0)


@contextmanager
def _maker_turn(db):
    """Whether this process may make a due checkpoint now (PostgreSQL: a session-level
    ``pg_try_advisory_lock`` on a pooled connection, held while it is made, released after;
    a connection that dies releases it with its session).  Elsewhere (SQLite: one node)
    always."""
    if db.dialect != "postgresql":
        yield True
        return
    with db.connect(write=False) as conn:  # autocommit: the lock is the session's
        mine = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                 {"k": _MAKER_KEY}).scalar())
        try:
            yield mine
        finally:
            if mine:
                released = False
                try:
                    released = conn.execute(text("SELECT pg_advisory_unlock(:k)"),
                                            {"k": _MAKER_KEY}).scalar()
                finally:
                    if not released:  # never hand a connection holding it back to the pool
                        conn.invalidate()


class Checkpointer:
    def __init__(self, db, keyring, issuer: str, sinks=(), *, every_events: int = 1000,
                 every_seconds: float = 60, clock=time.time):
        self.db = db
        self.keyring = keyring
        self.issuer = issuer
        self.sinks = list(sinks)
        self.every_events = every_events
        self.every_seconds = every_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._thread = None
        self._pid = None
        self._last_seen = 0.0  # monotonic time of the last request that woke the thread
        self._delivered_seq = 0  # sinks of this process have every checkpoint up to this

    # -- making one ------------------------------------------------------------------------
    def checkpoint(self, *, force: bool = True) -> Head | None:
        """Sign the current head; without ``force`` only when one is due.  None: nothing to do.

        Without ``force`` (the polling thread of every serving process) only one process of
        the cluster makes it at a time: the others, which see it due at the same moment,
        return None at once instead of re-hashing the same events before finding it made
        (measured under the code-flow benchmark: that re-hash, ~17 us per event in every
        process, was most of the polling thread's CPU).  ``force`` (the CLI, readers of
        the whole trail) never waits for or skips on that turn."""
        if force:
            return self._checkpoint(force=True)
        with _maker_turn(self.db) as mine:
            if not mine:
                return None  # another process is making it; the next poll looks again
            return self._checkpoint(force=False)

    def _checkpoint(self, *, force: bool) -> Head | None:
        # Events staged until now (PostgreSQL) are chained first: a checkpoint covers every
        # event committed before it was asked for.
        audit_staging.flush(self.db)
        # Re-hash what is already committed before taking the lock, which stops every append
        # of the cluster while held: the first checkpoint of a long trail (an upgrade) may
        # take minutes, and logins must not wait for it.
        with self.db.session(write=False) as s:
            seen = last_checkpoint(s)
            head_id = s.execute(select(func.max(AuditEvent.id))).scalar()
            checked = _segment(s, _base(s, seen), head_id) if head_id else None
        with self.db.session() as s:
            audit._lock(s)  # the head stands still, and no other node signs this seq
            last = last_checkpoint(s)
            head = s.execute(select(AuditEvent.id, AuditEvent.hash, AuditEvent.ts)
                             .order_by(AuditEvent.id.desc()).limit(1)).first()
            if head is None:
                return None
            if last is not None and head.id < last.event_id:
                raise ChainBroken(f"the trail ends at event {head.id}, before event "
                                  f"{last.event_id} of checkpoint {last.seq}: events were deleted")
            if not force and not self._due(last, head.id):
                return None
            same = (last.seq if last else 0) == (seen.seq if seen else 0)
            base = checked if same and checked and checked[0] <= head.id else _base(s, last)
            _, _, count = _segment(s, base, head.id)  # only what arrived meanwhile
            now = self.clock()
            seq = (last.seq if last else 0) + 1
            claims = {"iss": self.issuer, "iat": int(now), "seq": seq, "event_id": head.id,
                      "hash": head.hash, "count": count, "event_ts": head.ts,
                      "prev": jws_digest(last.jws) if last else None}
            token = jws.sign(self.keyring, jws.CHECKPOINT_TYP, claims)
            row = AuditCheckpoint(seq=seq, event_id=head.id, hash=head.hash, count=count,
                                  ts=now, jws=token, sent_at=None)
            s.add(row)
            made = _head(row)
        self.deliver()
        return made

    def _due(self, last: Head | None, head_id: int) -> bool:
        if not self.automatic or (last is not None and head_id == last.event_id):
            return False
        if last is None:
            return True
        if self.every_events and head_id - last.event_id >= self.every_events:
            return True  # ids may skip (rolled-back inserts): at most a little early
        return bool(self.every_seconds) and self.clock() - last.ts >= self.every_seconds

    def deliver(self) -> None:
        """Hand every checkpoint a sink has not yet had to it; a failing sink is retried at
        the next checkpoint (the database copy is never lost)."""
        for sink in self.sinks:
            try:
                sink.catch_up(self.db)
            except Exception as exc:  # noqa: BLE001 - a sink outage must not stop the OP
                log.error("audit checkpoint sink %s failed: %s", sink.name, exc)

    def latest(self) -> Head | None:
        with self.db.session(write=False) as s:
            return last_checkpoint(s)

    # -- the background thread ---------------------------------------------------------------
    @property
    def automatic(self) -> bool:
        return bool(self.every_events or self.every_seconds)

    def wake(self) -> None:
        """Called on every request: keeps one polling thread alive in this process."""
        self._last_seen = time.monotonic()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            thread = self._thread
            if thread is None or not thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()  # after fork() the parent's thread is not here
                self._thread = threading.Thread(target=self._run, name="audit-checkpoint",
                                                daemon=True)
                self._thread.start()

    def _idle_limit(self) -> float:
        # Outlive the last request by one interval, so its events still get a checkpoint.
        return max(self.every_seconds or 0, 30.0) + 5.0

    def _run(self) -> None:
        failures = 0
        while time.monotonic() - self._last_seen < self._idle_limit():
            time.sleep(POLL_SECONDS * min(2 ** failures, 30))
            try:
                self._poll()
                failures = 0
            except ChainBroken as exc:
                log.error("audit checkpoint refused: %s", exc)
                failures = min(failures + 1, 5)
            except Exception as exc:  # noqa: BLE001 - database away: try again later
                log.warning("audit checkpoint skipped: %s", exc)
                failures = min(failures + 1, 5)
        with self._lock:
            if self._thread is threading.current_thread():
                self._thread = None

    def _poll(self) -> None:
        # Events another node staged and could not chain (it died): chained by any node that
        # serves (one indexed read when there are none).
        audit_staging.flush(self.db, only_if_pending=True)
        # Cheap reads first (two indexed lookups); the lock only when a checkpoint is due.
        with self.db.session(write=False) as s:
            last = last_checkpoint(s)
            head_id = s.execute(select(func.max(AuditEvent.id))).scalar()
        if head_id is not None and self._due(last, head_id):
            self.checkpoint(force=False)
        elif last is not None and last.seq > self._delivered_seq:
            self.deliver()  # another node made it: this node's file sink catches up too
            self._delivered_seq = last.seq
