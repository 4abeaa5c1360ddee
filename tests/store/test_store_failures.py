"""Short-lived stores fail closed and fast when their backend is gone."""
from __future__ import annotations

import socket
import time

import pytest

from idp.config import load_settings
from idp.errors import StoreUnavailable
from idp.store.db import Database
from idp.store.ephemeral import make_ephemeral_store
from idp.store.redis_store import RedisStore
from idp.store.sql_store import SqlStore
from tests.helpers.pg import pg_database
from tests.helpers.redis import redis_url

OPERATIONS = [
    ("put", ("k", 1, 10)), ("get", ("k",)), ("take", ("k",)), ("add", ("k", 1, 10)),
    ("incr", ("k", 10)), ("delete", ("k",)), ("ttl", ("k",)),
]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("name,args", OPERATIONS)
def test_redis_down_is_store_unavailable_fast(name, args):
    store = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        getattr(store, name)(*args)
    assert time.monotonic() - started < 2
    assert info.value.status == 503


def test_redis_unroutable_host_times_out_fast():
    # TEST-NET-1 is never routed: the connect timeout, not the OS, must end the wait.
    store = RedisStore("redis://192.0.2.1:6379/0")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.get("k")
    assert time.monotonic() - started < 2


def test_sql_store_on_a_gone_postgres_is_store_unavailable():
    with pg_database() as url:
        database = Database(url)
        database.upgrade()
        store = SqlStore(database)
        store.put("k", 1, 10)
    # The database (and its connections) are gone now: dropped WITH (FORCE).
    for name, args in OPERATIONS:
        with pytest.raises(StoreUnavailable):
            getattr(store, name)(*args)
    store.close()
    database.dispose()


def test_sql_store_without_a_reachable_server_is_store_unavailable():
    database = Database(f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres")
    with pytest.raises(StoreUnavailable):
        SqlStore(database).get("k")


def test_sql_store_on_missing_sqlite_dir_is_store_unavailable(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'gone' / 'x.sqlite3'}")
    with pytest.raises(StoreUnavailable):
        SqlStore(database).put("k", 1, 10)


def test_redis_recovers_after_connection_loss():
    """A pooled connection killed under us (Redis restart) heals on the next call."""
    import redis

    url = redis_url()
    store = RedisStore(url, prefix="idptest:recover:")
    store.put("k", 1, 10)
    admin = redis.Redis.from_url(url)
    # Kill only our own pooled connection: the Redis server is shared with other suites.
    admin.client_kill_filter(_id=store._redis.client_id())
    assert store.get("k") == 1
    store.delete("k")
    admin.close()


def test_factory_picks_redis_or_sql(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'f.sqlite3'}")
    assert isinstance(make_ephemeral_store(load_settings(env={}), database), SqlStore)
    settings = load_settings(env={}, redis_url="redis://127.0.0.1:6379/0")
    assert isinstance(make_ephemeral_store(settings, database), RedisStore)
    database.dispose()
