"""The audit hash chain: appends link up, tampering and deletion are found, and
concurrent appenders (threads with their own sessions) keep one linear chain."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, update

from idp.store.audit import GENESIS, append_event, iter_events, verify_chain
from idp.store.models import AuditEvent


def _append(db, n: int, **kw) -> list[int]:
    ids = []
    for i in range(n):
        with db.session() as s:
            ids.append(append_event(s, event="login", outcome="success", client_id="c1",
                                    subject=f"s***{i}", ip="203.0.113.7", method="face",
                                    details={"i": i, "amr": ["face"]}, **kw).id)
    return ids


def test_chain_links_and_verifies(db):
    ids = _append(db, 5)
    with db.session(write=False) as s:
        rows = sorted(iter_events(s), key=lambda e: e.id)
        assert [r.id for r in rows] == ids
        assert rows[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
        assert verify_chain(s) is None


def test_empty_chain_verifies(db):
    with db.session(write=False) as s:
        assert verify_chain(s) is None


def test_tampered_reason_is_found_at_that_row(db):
    ids = _append(db, 5)
    with db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(reason="edited"))
    with db.session(write=False) as s:
        assert verify_chain(s) == ids[2]


def test_tampered_details_are_found(db):
    ids = _append(db, 3)
    with db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == ids[0]).values(details={"i": 9}))
    with db.session(write=False) as s:
        assert verify_chain(s) == ids[0]


def test_deleted_row_is_found_at_the_next_row(db):
    ids = _append(db, 5)
    with db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    with db.session(write=False) as s:
        assert verify_chain(s) == ids[2]


def test_bad_outcome_rejected(db):
    with pytest.raises(ValueError):
        with db.session() as s:
            append_event(s, event="login", outcome="maybe")


def test_iter_events_filters(db):
    with db.session() as s:
        append_event(s, event="login", outcome="success", client_id="a")
        append_event(s, event="login", outcome="failure", client_id="a", reason="bad face")
        append_event(s, event="token", outcome="success", client_id="b")
    with db.session(write=False) as s:
        assert [e.event for e in iter_events(s, client_id="b")] == ["token"]
        assert [e.reason for e in iter_events(s, outcome="failure")] == ["bad face"]
        assert [e.client_id for e in iter_events(s)] == ["b", "a", "a"]  # newest first
        assert len(list(iter_events(s, limit=2))) == 2
        first = list(iter_events(s))[-1]
        assert list(iter_events(s, until=first.ts)) == []
        assert len(list(iter_events(s, since=first.ts))) == 3


def test_read_then_append_in_one_session(db):
    """A session that reads before appending still appends (SQLite lock upgrade)."""
    _append(db, 1)
    with db.session() as s:
        list(iter_events(s))
        append_event(s, event="x", outcome="info")
    with db.session(write=False) as s:
        assert verify_chain(s) is None


def test_concurrent_appends_keep_a_linear_chain(db):
    threads, per_thread = 8, 15
    barrier = threading.Barrier(threads)
    errors = []

    def worker(n):
        barrier.wait()
        try:
            for i in range(per_thread):
                with db.session() as s:
                    append_event(s, event="login", outcome="info", details={"t": n, "i": i})
        except Exception as error:  # collected and asserted below
            errors.append(error)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with db.session(write=False) as s:
        assert len(list(iter_events(s, limit=1000))) == threads * per_thread
        assert verify_chain(s) is None
