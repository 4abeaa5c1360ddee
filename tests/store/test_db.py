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
