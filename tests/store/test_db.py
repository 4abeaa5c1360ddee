"""Database: URL handling, SQLite pragmas, session commit/rollback, outage mapping."""
from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import text

from idp.errors import DatabaseUnavailable
from idp.store.db import Database, normalize_url
from idp.store.models import Client


@pytest.mark.parametrize("url", ["postgres://u@h/d", "postgresql://u@h/d",
                                 "postgresql+psycopg://u@h/d"])
def test_postgres_urls_use_psycopg3(url):
    assert normalize_url(url) == "postgresql+psycopg://u@h/d"


def test_sqlite_pragmas(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with database.session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    database.dispose()


def test_in_memory_sqlite_is_one_database():
    database = Database("sqlite://")
    database.upgrade()
    with database.session() as s:
        s.add(Client(client_id="c", client_name="C"))
    with database.session(write=False) as s:
        assert s.get(Client, "c").client_name == "C"
    database.dispose()


def test_session_commits_and_rolls_back(db):
    with db.session() as s:
        s.add(Client(client_id="c1", client_name="One"))
    with pytest.raises(RuntimeError):
        with db.session() as s:
            s.add(Client(client_id="c2", client_name="Two"))
            s.flush()
            raise RuntimeError("boom")
    with db.session(write=False) as s:
        assert s.get(Client, "c1") is not None
        assert s.get(Client, "c2") is None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_postgres_is_503():
    database = Database(f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres")
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as info:
        with database.session() as s:
            s.execute(text("SELECT 1"))
    assert info.value.status == 503
    assert time.monotonic() - started < 5
    database.dispose()


def test_sqlite_unopenable_file_is_503(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}")
    with pytest.raises(DatabaseUnavailable):
        with database.session() as s:
            s.execute(text("SELECT 1"))
    database.dispose()


def test_programming_errors_are_not_hidden(db):
    with pytest.raises(Exception) as info:
        with db.session() as s:
            s.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(info.value, DatabaseUnavailable)


# -- PostgreSQL: the pool's liveness check and the direct statements -------------------------
def _terminate_backends(url: str) -> int:
    """Kill every server process of this database (a restart or failover, seen from a pool)."""
    import psycopg
    from sqlalchemy.engine import make_url
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    name = make_url(url).database
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()",
                                (name,)).fetchall())


@pytest.mark.postgres
def test_pooled_connections_killed_by_the_server_are_replaced_at_checkout():
    """What pool_pre_ping did: a connection the server closed (restart, failover, idle
    kill) is found dead when it is taken from the pool and replaced, so no request fails;
    here for connections back in the pool a moment ago, which are checked locally."""
    from tests.helpers.pg import pg_database
    with pg_database() as url:
        database = Database(url)
        for _ in range(2):
            with database.session() as s:
                assert s.execute(text("SELECT 1")).scalar() == 1
            assert database.pg_statement("SELECT 1 AS one", (), fetch=True).one == 1
            assert _terminate_backends(url) >= 2
            time.sleep(0.2)  # the FATAL message and the close reach our sockets
        with database.session() as s:
            assert s.execute(text("SELECT 1")).scalar() == 1
        with database.connect(write=False) as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert database.pg_statement("SELECT 2 AS two", (), fetch=True).two == 2
        database.dispose()


@pytest.mark.postgres
def test_direct_statements_map_outages_and_keep_bugs():
    from tests.helpers.pg import pg_database
    with pg_database() as url:
        database = Database(url)
        database.upgrade()
        assert database.pg_statement("UPDATE clients SET client_name = 'x' WHERE false", ()) == 0
        with pytest.raises(Exception) as info:
            database.pg_statement("SELECT * FROM no_such_table", (), fetch=True)
        assert not isinstance(info.value, DatabaseUnavailable)
        # A server that takes no writes (standby, demoted primary: SQLSTATE 25006) is a 503.
        # (one connection in the pool, so the second statement runs on the first's)
        database.pg_statement("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", ())
        with pytest.raises(DatabaseUnavailable):
            database.pg_statement("UPDATE clients SET client_name = 'x' WHERE false", ())
        database.dispose()
    unreachable = Database(f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres")
    with pytest.raises(DatabaseUnavailable):
        unreachable.pg_statement("SELECT 1", ())
    unreachable.dispose()


@pytest.mark.postgres
def test_direct_statements_keep_a_few_connections_at_hand_and_replace_dead_ones(monkeypatch):
    """``pg_statement`` keeps up to LENDER_IDLE connections checked out between statements
    (no pool checkout per statement); they pass the pool's liveness rule when reused: a
    local check after a short idle, a SELECT 1 after a longer one, and a dead one is
    replaced together with its idle siblings."""
    import threading

    from idp.store import db as dbmod
    from tests.helpers.pg import pg_database
    with pg_database() as url:
        database = Database(url)
        pids = {database.pg_statement("SELECT pg_backend_pid() AS pid", (), fetch=True).pid
                for _ in range(20)}
        assert len(pids) == 1  # one thread: the same connection every time
        errors = []

        def many():
            try:
                for _ in range(30):
                    assert database.pg_statement("SELECT 1 AS one", (), fetch=True).one == 1
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=many) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert len(database._lender._idle) <= dbmod.LENDER_IDLE
        for ping_after in (dbmod.PING_AFTER_IDLE, 0.0):  # local check, then the SELECT 1
            monkeypatch.setattr(dbmod, "PING_AFTER_IDLE", ping_after)
            before = database.pg_statement("SELECT pg_backend_pid() AS pid", (), fetch=True).pid
            assert _terminate_backends(url) >= 1
            time.sleep(0.2)  # the FATAL message and the close reach our sockets
            after = database.pg_statement("SELECT pg_backend_pid() AS pid", (), fetch=True).pid
            assert after != before
        database.dispose()
        assert database._lender._idle == []
