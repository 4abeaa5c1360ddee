"""The short-lived store: one narrow interface, two implementations (Redis, SQL).

Holds login transactions, authorization codes, SSO sessions, nonces, challenges, replay
markers and attempt counters: everything that lives seconds to hours.  Values are
JSON-serialisable (dict/list/str/int/...).  Callers namespace keys by purpose
(``"code:..."``, ``"sess:..."``); the store prepends its own prefix (default ``"idp:"``).
Every implementation raises ``StoreUnavailable`` when its backend does not answer, so
security decisions fail closed (503) rather than open.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

DEFAULT_PREFIX = "idp:"


@runtime_checkable
class EphemeralStore(Protocol):
    def put(self, key: str, value: Any, ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, replacing any previous value."""

    def get(self, key: str) -> Any | None:
        """The value, or None if absent or expired."""

    def get_many(self, keys: list[str]) -> list[Any | None]:
        """``get`` of each key (in order), in one round trip where the backend allows."""

    def take(self, key: str) -> Any | None:
        """Get and delete atomically: of many concurrent takers exactly one gets the value."""

    def take_marking(self, key: str, mark: str, field: str, ttl: int) -> Any | None:
        """``take``; when a value (a dict) was taken, also ``put(mark, {field: value[field]},
        ttl)``, in one round trip where the backend allows (a spent code's marker)."""

    def add(self, key: str, value: Any, ttl: int) -> bool:
        """Store only if absent (an expired entry counts as absent); True if stored."""

    def incr(self, key: str, ttl: int) -> int:
        """Add 1 and return the count; a new (or expired) counter starts at 1 with ``ttl``,
        later increments do not extend it."""

    def delete(self, key: str) -> None:
        """Remove the key if present."""

    def ttl(self, key: str) -> int | None:
        """Remaining lifetime in whole seconds (rounded up), None if absent or expired."""


def check_ttl(ttl: int) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
    return ttl


def make_ephemeral_store(settings, database=None, *, prefix: str = DEFAULT_PREFIX) -> EphemeralStore:
    """Redis when ``settings.redis_url`` is set, otherwise the SQL ``ephemeral`` table."""
    if settings.redis_url:
        from .redis_store import RedisStore

        return RedisStore(settings.redis_url, prefix=prefix)
    if database is None:
        raise ValueError("the SQL short-lived store needs the Database")
    from .sql_store import SqlStore

    return SqlStore(database, prefix=prefix)
