"""Redis for tests: skip with a reason when it does not answer; random key prefixes.

``IDP_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``).
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import Iterator

import pytest

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """The test Redis URL, or skip the test if Redis does not answer there."""
    import redis

    url = os.environ.get("IDP_TEST_REDIS_URL", DEFAULT_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as error:
        pytest.skip(f"Redis does not answer at {url}: {error}")
    finally:
        client.close()
    return url


@contextmanager
def redis_prefix(url: str | None = None) -> Iterator[str]:
    """Yield a random key prefix (``idptest:<hex>:``) and delete its keys afterwards."""
    import redis

    url = url or redis_url()
    prefix = f"idptest:{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
