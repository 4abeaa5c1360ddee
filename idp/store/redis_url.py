"""``IDP_REDIS_URL``: one Redis, or a primary found through Redis Sentinel.

    redis://[[user]:password@]host:port/db      one Redis (redis-py's own URL form)
    rediss://...  unix:///path?db=0             the same over TLS / a Unix socket
    redis+sentinel://[[user]:password@]h1:26379,h2:26379,h3:26379/mastername[/db]
    rediss+sentinel://...                       the same, TLS to the Redis nodes

The Sentinel form names the Sentinels (any number, default port 26379) and the service
name they monitor; the OP asks them for the current primary and asks again after a
connection fails, so a promoted replica is followed without a restart.  The password is
the Redis nodes'; ``sentinel_password`` (query) is the Sentinels' own, if they have one.

Write confirmation (query parameters, read here and removed before redis-py sees the URL):
``wait_replicas=N`` replicas must acknowledge a write (Redis ``WAIT``) before the OP acts on
it, else the write counts as failed (503); default 1 in the Sentinel form, 0 otherwise.
``wait_timeout=MS`` bounds that wait (default 500).  Why: see README, "Redis Sentinel".

Pure parsing (no redis import), so settings can be validated at start.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme -> TLS
PLAIN_SCHEMES = {"redis", "rediss", "unix"}
SENTINEL_PORT = 26379
DEFAULT_WAIT_TIMEOUT_MS = 500


@dataclass(frozen=True)
class RedisTarget:
    wait_replicas: int
    wait_timeout_ms: int
    url: str = ""  # the plain form, for redis.Redis.from_url
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)


def parse_redis_url(url: str) -> RedisTarget:
    """Parse either form; ``ValueError`` says what is wrong (without echoing passwords)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in {"wait_replicas", "wait_timeout", "sentinel_password"}}
    rest = [(k, v) for k, v in query if k not in ours]
    sentinel = parts.scheme in SENTINEL_SCHEMES
    if not sentinel and parts.scheme not in PLAIN_SCHEMES:
        raise ValueError("must be a redis://, rediss://, unix://, redis+sentinel:// or "
                         "rediss+sentinel:// URL")
    wait = _count(ours.get("wait_replicas"), 1 if sentinel else 0, "wait_replicas", 0, 16)
    timeout = _count(ours.get("wait_timeout"), DEFAULT_WAIT_TIMEOUT_MS, "wait_timeout", 1, 10000)
    if not sentinel:
        if "sentinel_password" in ours:
            raise ValueError("sentinel_password belongs to the redis+sentinel:// form")
        return RedisTarget(wait, timeout, url=urlunsplit(parts._replace(query=urlencode(rest))))
    if rest:
        raise ValueError(f"unknown query parameter {rest[0][0]!r} in the Sentinel form")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    path = [p for p in parts.path.split("/") if p]
    if not 1 <= len(path) <= 2:
        raise ValueError("the Sentinel form is redis+sentinel://host:port,.../mastername[/db]")
    return RedisTarget(
        wait, timeout, sentinels=_hosts(hosts), service=unquote(path[0]),
        db=_count(path[1] if len(path) == 2 else None, 0, "database number", 0, 1 << 20),
        username=unquote(username) or None, password=unquote(password) or None,
        sentinel_password=ours.get("sentinel_password") or None,
        ssl=SENTINEL_SCHEMES[parts.scheme])


def _hosts(netloc: str) -> tuple[tuple[str, int], ...]:
    found = []
    for item in netloc.split(","):
        if item.startswith("["):  # [IPv6]:port
            host, _, port = item[1:].partition("]")
            port = port.lstrip(":")
        else:
            host, _, port = item.partition(":")
        if not host:
            raise ValueError("every Sentinel needs a host name")
        found.append((host, _count(port or None, SENTINEL_PORT, "Sentinel port", 1, 65535)))
    return tuple(found)


def _count(raw: str | None, default: int, name: str, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)
