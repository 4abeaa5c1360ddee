"""Fixtures: migrated databases (SQLite file, throw-away PostgreSQL) and short-lived stores.

Every test taking ``db`` runs on both SQLite and PostgreSQL; every test taking ``backend``
runs on SqlStore-on-SQLite, SqlStore-on-PostgreSQL and RedisStore.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Callable

import pytest

from idp.store.db import Database
from idp.store.ephemeral import EphemeralStore
from idp.store.redis_store import RedisStore
from idp.store.sql_store import SqlStore
from tests.helpers.pg import pg_database
from tests.helpers.redis import redis_prefix, redis_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    else:
        with pg_database() as url:
            yield url


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def shared_pg():
    """One migrated PostgreSQL database for the store tests (they isolate by key prefix)."""
    with pg_database() as url:
        database = Database(url)
        database.upgrade()
        yield database
        database.dispose()


class FakeClock:
    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    name: str
    store: EphemeralStore
    advance: Callable[[float], None]  # let this much time pass for the store


@pytest.fixture(params=["sql-sqlite", "sql-postgresql", "redis"])
def backend(request, tmp_path):
    if request.param == "redis":
        url = redis_url()
        with redis_prefix(url) as prefix:
            store = RedisStore(url, prefix=prefix)
            yield Backend("redis", store, time.sleep)
            store.close()
        return
    if request.param == "sql-sqlite":
        database = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        database.upgrade()
    else:
        database = request.getfixturevalue("shared_pg")
    clock = FakeClock()

    def advance(seconds: float) -> None:
        clock.now += seconds

    prefix = f"t{secrets.token_hex(6)}:"
    store = SqlStore(database, prefix=prefix, clock=clock)
    yield Backend(request.param, store, advance)
    store.close()
    if request.param == "sql-sqlite":
        database.dispose()
