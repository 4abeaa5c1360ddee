"""Writing audit events: concurrent appends keep one valid hash chain (SQLite: group commit;
PostgreSQL: staged, then chained by a sequencer, tests/production/test_audit_staging.py)."""
from __future__ import annotations

import threading

import pytest

from idp.errors import DatabaseUnavailable
from idp.oidc.auditlog import AuditLog
from idp.store.audit import verify_chain
from idp.store.db import Database
from idp.store.models import AuditEvent
from tests.helpers.pg import pg_database


def _hammer(log: AuditLog, threads=16, each=25):
    errors = []

    def work(i):
        try:
            for j in range(each):
                log.append(event="token", outcome="success", client_id=f"c{i}",
                           details={"n": j, "text": "测试"})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors


def _check(db: Database, expected: int):
    with db.session(write=False) as s:
        assert s.query(AuditEvent).count() == expected
        assert verify_chain(s) is None


def test_concurrent_appends_keep_the_chain_on_sqlite(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    db.upgrade()
    log = AuditLog(db)
    _hammer(log)
    _check(db, 16 * 25)
    db.dispose()


@pytest.mark.postgres
def test_concurrent_appends_from_two_processes_keep_the_chain_on_postgres():
    with pg_database() as url:
        db = Database(url)
        db.upgrade()
        other = Database(url)  # a second "process": its own engine and sequencer
        first, second = AuditLog(db), AuditLog(other)
        done = threading.Thread(target=_hammer, args=(second, 8, 25))
        done.start()
        _hammer(first, 8, 25)
        done.join(60)
        first.flush()  # what every reader of the whole trail does first
        _check(db, 16 * 25)
        db.dispose()
        other.dispose()


def test_a_failed_commit_reaches_every_waiter(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    db.upgrade()
    log = AuditLog(db)

    class Broken:
        dialect = "sqlite"

        def session(self, **kw):
            raise DatabaseUnavailable()

    log.db = Broken()
    with pytest.raises(DatabaseUnavailable):
        log.append(event="token", outcome="success")
    with pytest.raises(ValueError):
        log.append(event="token", outcome="maybe")
    log.db = db
    log.append(event="token", outcome="success")
    _check(db, 1)
    db.dispose()
