"""The replicated forms of the two store URLs: Redis Sentinel and libpq multi-host."""
from __future__ import annotations

import pytest

from idp.config import load_settings
from idp.errors import ConfigError
from idp.store.db import Database, normalize_url
from idp.store.redis_url import parse_redis_url


def test_sentinel_url_names_every_sentinel_the_service_and_the_database():
    target = parse_redis_url("redis+sentinel://:s3cret@h1:26380,h2,[::1]:26381/idp-main/2")
    assert target.is_sentinel and target.service == "idp-main" and target.db == 2
    assert target.sentinels == (("h1", 26380), ("h2", 26379), ("::1", 26381))
    assert target.password == "s3cret" and target.username is None and not target.ssl
    # Replicated: a write counts once one replica holds it (README, "Redis Sentinel").
    assert (target.wait_replicas, target.wait_timeout_ms) == (1, 500)


def test_sentinel_url_options():
    target = parse_redis_url("rediss+sentinel://h1:1/m?wait_replicas=2&wait_timeout=50"
                             "&sentinel_password=x")
    assert target.ssl and target.db == 0 and target.sentinel_password == "x"
    assert (target.wait_replicas, target.wait_timeout_ms) == (2, 50)


def test_plain_url_waits_for_no_replica_unless_asked():
    assert parse_redis_url("redis://127.0.0.1:6379/0").wait_replicas == 0
    target = parse_redis_url("redis://127.0.0.1:6379/0?wait_replicas=1&health_check_interval=5")
    assert target.wait_replicas == 1
    assert target.url == "redis://127.0.0.1:6379/0?health_check_interval=5"  # ours removed


@pytest.mark.parametrize("url,message", [
    ("memcached://h1/0", "must be a redis://"),
    ("redis+sentinel://h1:26379", "mastername"),
    ("redis+sentinel://h1:26379/m/0/extra", "mastername"),
    ("redis+sentinel://h1:x/m", "Sentinel port"),
    ("redis+sentinel://:26379/m", "host name"),
    ("redis+sentinel://h1/m/zero", "database number"),
    ("redis+sentinel://h1/m?socket_timeout=1", "unknown query parameter"),
    ("redis+sentinel://h1/m?wait_replicas=-1", "wait_replicas"),
    ("redis://h1/0?wait_timeout=0", "wait_timeout"),
    ("redis://h1/0?sentinel_password=x", "sentinel_password"),
])
def test_bad_redis_urls_are_refused_at_start(url, message):
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, redis_url=url)
    assert message in str(info.value) and "IDP_REDIS_URL" in str(info.value)


def test_sentinel_url_is_accepted_by_settings():
    url = "redis+sentinel://h1:26379,h2:26379,h3:26379/mymaster/0"
    assert load_settings(env={}, redis_url=url).redis_url == url


def test_libpq_multi_host_url_reaches_psycopg_with_every_host():
    url = "postgresql://idp:pw@h1:5433,h2/idp?target_session_attrs=read-write&connect_timeout=2"
    assert normalize_url(url) == ("postgresql+psycopg://idp:pw@/idp?host=h1%3A5433&host=h2%3A5432"
                                  "&target_session_attrs=read-write&connect_timeout=2")
    # psycopg (the audit writer) gets libpq's own URI back, every host in it.
    conninfo = Database(url).libpq_conninfo()
    assert conninfo == ("postgresql://idp:pw@h1:5433,h2:5432/idp"
                        "?connect_timeout=2&target_session_attrs=read-write")
    from psycopg.conninfo import conninfo_to_dict
    assert conninfo_to_dict(conninfo) == {
        "host": "h1,h2", "port": "5433,5432", "dbname": "idp", "user": "idp", "password": "pw",
        "target_session_attrs": "read-write", "connect_timeout": "2"}


def test_single_host_urls_are_unchanged():
    assert normalize_url("postgresql://u@h1:5432/idp") == "postgresql+psycopg://u@h1:5432/idp"
    assert Database("postgresql://u@h1:5432/idp").libpq_conninfo() == "postgresql://u@h1:5432/idp"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.postgres
def test_a_write_refused_by_a_read_only_server_is_503_not_500():
    """A standby (or a primary a failover manager demoted) answers writes with 25006."""
    from sqlalchemy import text

    from idp.errors import DatabaseUnavailable
    from tests.helpers.pg import pg_database

    with pg_database() as url:
        database = Database(url)
        try:
            with pytest.raises(DatabaseUnavailable):
                with database.session() as s:
                    s.execute(text("SET TRANSACTION READ ONLY"))
                    s.execute(text("CREATE TABLE t (x int)"))
        finally:
            database.dispose()


@pytest.mark.redis
def test_a_primary_without_replicas_confirms_no_single_use_write():
    """wait_replicas=1 and nobody to confirm: every write but a counter fails closed, and a
    take hands nothing out (the lone-primary case after a failover left no replica)."""
    import redis

    from idp.errors import StoreUnavailable
    from idp.store.redis_store import RedisStore
    from tests.helpers.redis import redis_prefix, redis_url

    url = redis_url()
    if redis.Redis.from_url(url).info("replication").get("connected_slaves"):
        pytest.skip("the test Redis has replicas")
    with redis_prefix(url) as prefix:
        plain = RedisStore(url, prefix=prefix)
        plain.put("code:x", {"v": 1}, 60)
        confirming = RedisStore(url + "?wait_replicas=1&wait_timeout=20", prefix=prefix)
        for name, args in [("put", ("k", 1, 10)), ("take", ("code:x",)), ("add", ("m", 1, 10)),
                           ("delete", ("k",))]:
            with pytest.raises(StoreUnavailable):
                getattr(confirming, name)(*args)
        assert confirming.incr("n", 10) == 1  # counters are not confirmed
        assert confirming.get("code:x") is None  # taken on the primary, and not handed out
        plain.close()
        confirming.close()
