"""``EphemeralStore`` on Redis: every operation is one atomic Redis command (or script)."""
from __future__ import annotations

import json
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..errors import StoreUnavailable
from .ephemeral import DEFAULT_PREFIX, check_ttl

# INCR, and set the TTL only when this increment created the key, in one atomic step
# (a crash between INCR and EXPIRE would otherwise leave a counter that never expires).
_INCR = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
# Errors that mean "Redis is not there (or not writable) right now": fail closed.
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)


class RedisStore:
    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX,
                 connect_timeout: float = 0.5, timeout: float = 1.0):
        self.prefix = prefix
        # Short timeouts and a single immediate retry (it heals a pooled connection that
        # died with a Redis restart) so an outage costs a request ~1 s, not a minute.
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=timeout,
            retry=Retry(NoBackoff(), 1), health_check_interval=30,
        )
        self._incr = self._redis.register_script(_INCR)

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except _UNAVAILABLE as error:
            raise StoreUnavailable() from error

    def put(self, key: str, value: Any, ttl: int) -> None:
        self._call(self._redis.set, self.prefix + key, json.dumps(value), ex=check_ttl(ttl))

    def get(self, key: str) -> Any | None:
        raw = self._call(self._redis.get, self.prefix + key)
        return None if raw is None else json.loads(raw)

    def take(self, key: str) -> Any | None:
        raw = self._call(self._redis.getdel, self.prefix + key)
        return None if raw is None else json.loads(raw)

    def add(self, key: str, value: Any, ttl: int) -> bool:
        added = self._call(self._redis.set, self.prefix + key, json.dumps(value),
                           ex=check_ttl(ttl), nx=True)
        return bool(added)

    def incr(self, key: str, ttl: int) -> int:
        return int(self._call(self._incr, keys=[self.prefix + key], args=[check_ttl(ttl)]))

    def delete(self, key: str) -> None:
        self._call(self._redis.delete, self.prefix + key)

    def ttl(self, key: str) -> int | None:
        # PTTL rounded up, to match the SQL store (TTL would round to nearest).
        remaining = self._call(self._redis.pttl, self.prefix + key)
        return None if remaining < 0 else max(1, -(-remaining // 1000))

    def close(self) -> None:
        self._redis.close()
