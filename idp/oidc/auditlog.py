"""Writing audit events: ``append`` returns only once its event is committed, and raises
what the commit raised (``DatabaseUnavailable`` -> 503), so a request never answers with an
event that may be lost.

Every event ends up in a hash chain under a cluster-wide lock (``store/audit.py``).

* PostgreSQL (production, many nodes): the request commits its event to the staging table
  itself (one INSERT, no lock) and a per-process ``Sequencer`` thread moves staged events
  into the chain shortly after (``store/audit_staging.py``).  Measured under
  ``bench/codeflow_bench.py``, the group commit this replaced made each code and refresh
  redemption wait 6-12 ms for the chain's lock and its writer thread.
* SQLite (one node): group commit.  Request threads hand their events to one writer thread,
  which appends all the events waiting at that moment in one transaction.
"""
from __future__ import annotations

import json
import os
import queue
import threading
import time

from sqlalchemy import insert, select

from ..errors import DatabaseUnavailable
from ..store import audit, audit_staging
from ..store.models import AuditEvent
from ..store.audit_sequencer import Sequencer

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
        self.sequencer = Sequencer(database) if database.dialect == "postgresql" else None

    def append(self, **fields) -> None:
        """Append one event (``store.audit.append_event`` fields); return once committed."""
        if fields.get("outcome") not in audit.OUTCOMES:
            raise ValueError(f"outcome must be one of {audit.OUTCOMES}, got {fields.get('outcome')!r}")
        if self.sequencer is not None:
            audit_staging.stage(self.db, dict(fields, ts=time.time()))
            self.sequencer.wake()
            return
        item = _Item(dict(fields, ts=time.time()))
        self._queue.put(item)
        self._ensure_writer()
        if not item.done.wait(WAIT_SECONDS):
            raise DatabaseUnavailable("the audit trail could not be written in time")
        if item.error is not None:
            raise item.error

    def flush(self) -> None:
        """Chain every staged event now (PostgreSQL); SQLite chains in ``append`` itself."""
        if self.sequencer is not None:
            self.sequencer.flush()

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
