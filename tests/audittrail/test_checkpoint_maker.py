"""On PostgreSQL one process of the cluster makes a due checkpoint at a time: the others'
polling threads skip at once instead of re-hashing the same events; a forced checkpoint
(CLI, readers of the whole trail) never skips."""
from __future__ import annotations

import psycopg

from idp.audittrail import checkpoints
from tests.helpers.pg import pg_database


def _held_locks(url: str) -> int:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        key = checkpoints._MAKER_KEY
        return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                            "classid = %s AND objid = %s", (key >> 32, key & 0xFFFFFFFF)).fetchone()[0]


def test_a_due_checkpoint_is_made_by_one_process_at_a_time(make_app, tmp_path, monkeypatch):
    with pg_database() as url:
        app = make_app(database_url=url, audit_checkpoint_events=5, audit_checkpoint_seconds=0,
                       audit_checkpoint_file=str(tmp_path / "cp.jsonl"))
        state = app.extensions["idp"]
        cp = state.services["checkpoints"]
        for n in range(8):
            state.provider.audit("test.event", "success", details={"n": n})
        segments = []
        real = checkpoints._segment
        monkeypatch.setattr(checkpoints, "_segment",
                            lambda *a, **k: segments.append(1) or real(*a, **k))
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as other:  # another process's turn
            other.execute("SELECT pg_advisory_lock(%s)", (checkpoints._MAKER_KEY,))
            assert cp.checkpoint(force=False) is None
            assert segments == []  # skipped before re-hashing anything
            forced = cp.checkpoint()  # the CLI's checkpoint does not wait for the turn
            assert forced is not None and forced.count == 8
            other.execute("SELECT pg_advisory_unlock(%s)", (checkpoints._MAKER_KEY,))
        for n in range(6):
            state.provider.audit("test.event", "success", details={"n": n})
        made = cp.checkpoint(force=False)
        assert made is not None and made.seq == 2 and made.count == 14
        assert _held_locks(url) == 0  # released once made
        assert cp.checkpoint(force=False) is None  # not due: nothing new
        assert _held_locks(url) == 0
        state.db.engine.dispose()


def test_sqlite_makes_due_checkpoints_without_a_turn(make_app, tmp_path):
    app = make_app(audit_checkpoint_events=3, audit_checkpoint_seconds=0,
                   audit_checkpoint_file=str(tmp_path / "cp.jsonl"))
    state = app.extensions["idp"]
    for n in range(4):
        state.provider.audit("test.event", "success", details={"n": n})
    made = state.services["checkpoints"].checkpoint(force=False)
    assert made is not None and made.count >= 4
