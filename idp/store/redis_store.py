"""``EphemeralStore`` on Redis: every operation is one atomic Redis command (or script).

With replicas (the Sentinel form of ``IDP_REDIS_URL``), every write except ``incr`` is sent
together with ``WAIT n`` in one round trip, and counts as done only when ``n`` replicas hold
it: a take-once, add-if-absent or revocation acknowledged by a primary that then died
before replicating would otherwise come back on the promoted replica (README, "Redis
Sentinel").  An unconfirmed write raises ``StoreUnavailable``: the caller answers 503 and
acts on nothing it read.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..errors import StoreUnavailable
from .ephemeral import DEFAULT_PREFIX, check_ttl
from .redis_url import RedisTarget, parse_redis_url

log = logging.getLogger(__name__)

# INCR, and set the TTL only when this increment created the key, in one atomic step
# (a crash between INCR and EXPIRE would otherwise leave a counter that never expires).
_INCR = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
# GETDEL, and when it found a value, remember one of its fields under a marker key.
_TAKE_MARKING = """
local raw = redis.call('GETDEL', KEYS[1])
if raw then
  local mark = {}
  mark[ARGV[1]] = cjson.decode(raw)[ARGV[1]]
  redis.call('SET', KEYS[2], cjson.encode(mark), 'EX', ARGV[2])
end
return raw
"""
# Errors that mean "Redis is not there (or not writable) right now": fail closed.
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)


class RedisStore:
    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX,
                 connect_timeout: float = 0.5, timeout: float = 1.0):
        self.prefix = prefix
        target = parse_redis_url(url)
        self._wait = (target.wait_replicas, target.wait_timeout_ms)
        # Short timeouts and a single immediate retry (it heals a pooled connection that
        # died with a Redis restart, or re-asks the Sentinels after a failover) so an outage
        # costs a request ~1 s, not a minute.  A socket outlives the WAIT it carries.
        options = dict(socket_connect_timeout=connect_timeout,
                       socket_timeout=max(timeout, target.wait_timeout_ms / 1000 + 0.5),
                       retry=Retry(NoBackoff(), 1), health_check_interval=30)
        self._redis = _connect(target, options)
        self._incr = self._redis.register_script(_INCR)
        self._take_marking = self._redis.register_script(_TAKE_MARKING)

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except _UNAVAILABLE as error:
            raise StoreUnavailable() from error

    def _confirmed(self, command: str, *args, **kwargs):
        """Run one write; with ``wait_replicas``, only return once enough replicas hold it."""
        return self._confirm(command, lambda client: getattr(client, command)(*args, **kwargs))

    def _confirmed_script(self, script, *, keys, args):
        """A script's writes, confirmed as ``_confirmed`` confirms a command's."""
        return self._confirm("script", lambda client: script(keys=keys, args=args, client=client))

    def _confirm(self, what: str, issue):
        """``issue(client)`` on the connection, or, with ``wait_replicas``, in a pipeline
        followed by WAIT: fewer replicas acknowledging it in time fails closed."""
        replicas, timeout_ms = self._wait
        if not replicas:
            return self._call(issue, self._redis)
        pipe = self._redis.pipeline(transaction=False)
        issue(pipe)
        pipe.wait(replicas, timeout_ms)
        result, acked = self._call(pipe.execute)
        if acked < replicas:
            log.warning("redis %s not confirmed by %d replica(s) within %d ms: failing closed",
                        what, replicas, timeout_ms)
            raise StoreUnavailable()
        return result

    def put(self, key: str, value: Any, ttl: int) -> None:
        self._confirmed("set", self.prefix + key, json.dumps(value), ex=check_ttl(ttl))

    def get(self, key: str) -> Any | None:
        raw = self._call(self._redis.get, self.prefix + key)
        return None if raw is None else json.loads(raw)

    def get_many(self, keys: list[str]) -> list[Any | None]:
        raws = self._call(self._redis.mget, [self.prefix + key for key in keys])
        return [None if raw is None else json.loads(raw) for raw in raws]

    def take(self, key: str) -> Any | None:
        raw = self._confirmed("getdel", self.prefix + key)
        return None if raw is None else json.loads(raw)

    def take_marking(self, key: str, mark: str, field: str, ttl: int) -> Any | None:
        raw = self._confirmed_script(self._take_marking, keys=[self.prefix + key, self.prefix + mark],
                                     args=[field, check_ttl(ttl)])
        return None if raw is None else json.loads(raw)

    def add(self, key: str, value: Any, ttl: int) -> bool:
        added = self._confirmed("set", self.prefix + key, json.dumps(value),
                                ex=check_ttl(ttl), nx=True)
        return bool(added)

    def incr(self, key: str, ttl: int) -> int:
        # Not confirmed: counters only slow attackers down, and a failover that loses a
        # few counts costs less than a replica round trip on every request.
        return int(self._call(self._incr, keys=[self.prefix + key], args=[check_ttl(ttl)]))

    def delete(self, key: str) -> None:
        self._confirmed("delete", self.prefix + key)

    def ttl(self, key: str) -> int | None:
        # PTTL rounded up, to match the SQL store (TTL would round to nearest).
        remaining = self._call(self._redis.pttl, self.prefix + key)
        return None if remaining < 0 else max(1, -(-remaining // 1000))

    def close(self) -> None:
        self._redis.close()


def _connect(target: RedisTarget, options: dict) -> redis.Redis:
    if not target.is_sentinel:
        return redis.Redis.from_url(target.url, **options)
    from redis.sentinel import Sentinel

    sentinel_options = {k: v for k, v in options.items() if k.startswith("socket_")}
    if target.sentinel_password:
        sentinel_options["password"] = target.sentinel_password
    # The Sentinels are asked for the primary's address before each new connection; a
    # connection to a demoted primary is dropped on its first READONLY reply (redis-py).
    sentinel = Sentinel(target.sentinels, sentinel_kwargs=sentinel_options)
    return sentinel.master_for(target.service, db=target.db, username=target.username,
                               password=target.password, ssl=target.ssl, **options)
