"""Group commit for the audit trail.

Every audit event is appended to a hash chain under a cluster-wide lock, and each commit
waits for the database to flush its log.  One transaction per event would cap the whole
cluster at a few hundred audited requests a second (every token request is audited), so the
request threads of a process hand their events to one writer thread, which appends all the
events waiting at that moment in one transaction.  ``append`` still returns only after the
event is committed, and raises what the commit raised (``DatabaseUnavailable`` -> 503):
the trail's guarantees are unchanged, only the number of transactions drops.
"""
from __future__ import annotations

import json
import os
import queue
import threading
import time

from sqlalchemy import insert, select

from ..errors import DatabaseUnavailable
from ..store import audit
from ..store.db import PG_UNAVAILABLE
from ..store.models import AuditEvent

MAX_BATCH = 256
IDLE_SECONDS = 5.0  # the writer thread ends after this long without work (restarts on demand)
WAIT_SECONDS = 30.0


class _Item:
    __slots__ = ("fields", "done", "error")

    def __init__(self, fields):
        self.fields = fields
        self.done = threading.Event()
        self.error = None


class AuditLog:
    def __init__(self, database):
        self.db = database
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread = None
        self._pid = None
        self._pg = _PgWriter(database) if database.dialect == "postgresql" else None

    def append(self, **fields) -> None:
        """Append one event (``store.audit.append_event`` fields); return once committed."""
        if fields.get("outcome") not in audit.OUTCOMES:
            raise ValueError(f"outcome must be one of {audit.OUTCOMES}, got {fields.get('outcome')!r}")
        item = _Item(dict(fields, ts=time.time()))
        self._queue.put(item)
        self._ensure_writer()
        if not item.done.wait(WAIT_SECONDS):
            raise DatabaseUnavailable("the audit trail could not be written in time")
        if item.error is not None:
            raise item.error

    def _ensure_writer(self) -> None:
        # Under the lock, so a writer that is just ending for idleness cannot miss an item.
        with self._lock:
            thread = self._thread
            if thread is None or not thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()  # after fork() the parent's thread does not exist here
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        try:
            if self.db.dialect == "postgresql":
                self._pg.append([item.fields for item in batch])
                return
            try:
                with self.db.session() as s:
                    append_events(s, [item.fields for item in batch])
            except _OutOfOrder:  # never seen: redo it one row at a time
                with self.db.session() as s:
                    append_events(s, [item.fields for item in batch], one_by_one=True)
        except BaseException as exc:  # every waiter hears about it
            for item in batch:
                item.error = exc
        finally:
            for item in batch:
                item.done.set()


class _OutOfOrder(Exception):
    pass


def append_events(session, events: list[dict], *, one_by_one: bool = False) -> None:
    """``store.audit.append_event`` for many events: one lock, one read of the chain's tail,
    one multi-row insert.  The hashes are exactly those ``append_event`` would compute."""
    audit._lock(session)
    prev = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none() or audit.GENESIS
    rows = []
    for event in events:
        fields = {name: event.get(name) for name in audit._FIELDS}
        fields["details"] = json.loads(audit._canonical(event.get("details") or {}))
        fields["prev_hash"], fields["hash"] = prev, audit.event_hash(prev, fields)
        prev = fields["hash"]
        rows.append(fields)
    if one_by_one or len(rows) == 1:
        for row in rows:
            session.execute(insert(AuditEvent).values(**row))
        return
    ids = session.execute(insert(AuditEvent).returning(AuditEvent.id, sort_by_parameter_order=True),
                          rows).scalars().all()
    # The chain follows the ids: the database must have numbered the rows in order.
    if any(a > b for a, b in zip(ids, ids[1:])):
        raise _OutOfOrder()


_COLUMNS = ("ts", "event", "outcome", "client_id", "subject", "ip", "method", "reason", "details",
            "prev_hash", "hash")
_INSERT = (f"INSERT INTO audit_events ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(_COLUMNS))})")


class _PgWriter:
    """The writer thread's own psycopg connection: lock and tail in one round trip, the
    inserts and the commit in another (pipeline mode), none of the ORM's per-statement cost."""

    def __init__(self, database):
        self.conninfo = database.libpq_conninfo()
        self.conn = None

    def append(self, events: list[dict]) -> None:
        # A connection kept from before a database outage fails on first use: try once
        # more on a fresh one before telling the request the database is unavailable.
        reused = self.conn is not None and not self.conn.closed
        try:
            self._append(events)
        except DatabaseUnavailable:
            if not reused:
                raise
            self._append(events)

    def _append(self, events: list[dict]) -> None:
        import psycopg
        from psycopg.types.json import Json
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.conninfo, connect_timeout=3)
            conn = self.conn
            with conn.pipeline():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (audit._LOCK_KEY,))
                tail = conn.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
                prev = tail[0] if tail else audit.GENESIS
                rows = []
                for event in events:
                    fields = {name: event.get(name) for name in audit._FIELDS}
                    fields["details"] = json.loads(audit._canonical(event.get("details") or {}))
                    digest = audit.event_hash(prev, fields)
                    rows.append(tuple(fields[c] for c in audit._FIELDS[:-1]) +
                                (Json(fields["details"]), prev, digest))
                    prev = digest
                with conn.cursor() as cur:
                    cur.executemany(_INSERT, rows)  # in order: the ids follow the chain
                conn.commit()
        except psycopg.Error as exc:
            self._discard()
            # A standby, or a primary demoted by a failover manager, refuses writes with
            # SQLSTATE 25006: the database does not take writes now (503), not a bug (500).
            if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)) or \
                    getattr(exc, "sqlstate", None) in PG_UNAVAILABLE:
                raise DatabaseUnavailable() from exc
            raise
        except BaseException:
            self._discard()
            raise

    def _discard(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None
