"""``EphemeralStore`` on the SQL ``ephemeral`` table (SQLite or PostgreSQL).

Every operation is ONE statement run outside an explicit transaction, so it is atomic on
its own and costs a single round trip: take-once is ``DELETE ... RETURNING``, add-if-absent
and incr are ``INSERT ... ON CONFLICT DO UPDATE ... WHERE/RETURNING`` upserts.  Expiry is
checked on every read (expired rows are invisible), and expired rows are purged now and
then.  Times come from this process's clock (``clock``), so nodes need NTP-synced clocks.
"""
from __future__ import annotations

import itertools
import json
import math
import sqlite3
import time
from typing import Any, Callable

from sqlalchemy import Integer, Text, case, cast, create_engine, delete, exc, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect

from ..errors import StoreUnavailable
from .db import Database, check_liveness, is_unavailable
from .ephemeral import DEFAULT_PREFIX, check_ttl
from .models import Ephemeral

_t = Ephemeral.__table__
_c = _t.c


class SqlStore:
    def __init__(self, database: Database, *, prefix: str = DEFAULT_PREFIX,
                 clock: Callable[[], float] = time.time, purge_every: int = 200,
                 pool_size: int = 10):
        if database.dialect == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError("the SQL short-lived store needs SQLite >= 3.35 (RETURNING), "
                               f"this is {sqlite3.sqlite_version}")
        self.prefix = prefix
        self.clock = clock
        self._purge_every = purge_every
        self._writes = itertools.count(1)
        self._owns_engine = database.dialect != "sqlite"
        # Autocommit: each single statement is its own transaction (no BEGIN/COMMIT trips).
        if database.dialect == "sqlite":
            self._engine = database.engine.execution_options(sqlite_begin=None)
            self._insert = sqlite_dialect.insert
        else:
            # Its own small pool: the hot path does not queue behind durable work, needs no
            # per-checkout isolation switch, and skips the WAL flush per write.  Losing the
            # last few ms of short-lived writes in a server crash is acceptable here (Redis
            # without fsync makes the same trade); durable tables keep full durability.
            self._engine = check_liveness(create_engine(
                database.url, isolation_level="AUTOCOMMIT",
                pool_size=pool_size, max_overflow=2 * pool_size,
                connect_args={"options": "-c synchronous_commit=off"}))
            self._insert = postgresql.insert

    # -- plumbing ----------------------------------------------------------------------
    def _run(self, statement, *, write: bool = True):
        try:
            with self._engine.connect() as conn:
                result = conn.execute(statement)
                row = result.first() if result.returns_rows else None
                if write and next(self._writes) % self._purge_every == 0:
                    conn.execute(delete(_t).where(_c.expires_at <= self.clock()))
                return row
        except exc.SQLAlchemyError as error:
            if is_unavailable(error):
                raise StoreUnavailable() from error
            raise

    def _upsert(self, key: str, value: str, ttl: int):
        now = self.clock()
        stmt = self._insert(_t).values(key=self.prefix + key, value=value,
                                       expires_at=now + check_ttl(ttl))
        return now, stmt

    # -- EphemeralStore ----------------------------------------------------------------
    def put(self, key: str, value: Any, ttl: int) -> None:
        _, stmt = self._upsert(key, json.dumps(value), ttl)
        self._run(stmt.on_conflict_do_update(
            index_elements=[_c.key],
            set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at}))

    def get(self, key: str) -> Any | None:
        row = self._run(select(_c.value).where(
            _c.key == self.prefix + key, _c.expires_at > self.clock()), write=False)
        return None if row is None else json.loads(row.value)

    def get_many(self, keys: list[str]) -> list[Any | None]:
        return [self.get(key) for key in keys]  # (the embedded store: round trips are cheap)

    def take(self, key: str) -> Any | None:
        # Delete even an expired row (it is garbage anyway), then judge its expiry.
        row = self._run(delete(_t).where(_c.key == self.prefix + key)
                        .returning(_c.value, _c.expires_at))
        if row is None or row.expires_at <= self.clock():
            return None
        return json.loads(row.value)

    def take_marking(self, key: str, mark: str, field: str, ttl: int) -> Any | None:
        value = self.take(key)
        if value is not None:
            self.put(mark, {field: value[field]}, ttl)
        return value

    def add(self, key: str, value: Any, ttl: int) -> bool:
        now, stmt = self._upsert(key, json.dumps(value), ttl)
        # On conflict, overwrite only an expired row; RETURNING yields a row iff we wrote.
        row = self._run(stmt.on_conflict_do_update(
            index_elements=[_c.key],
            set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at},
            where=_c.expires_at <= now,
        ).returning(_c.key))
        return row is not None

    def incr(self, key: str, ttl: int) -> int:
        now, stmt = self._upsert(key, "1", ttl)
        expired = _c.expires_at <= now
        row = self._run(stmt.on_conflict_do_update(
            index_elements=[_c.key],
            set_={
                "value": case((expired, "1"),
                              else_=cast(cast(_c.value, Integer) + 1, Text)),
                # A live counter keeps its original expiry: later increments do not extend it.
                "expires_at": case((expired, stmt.excluded.expires_at), else_=_c.expires_at),
            },
        ).returning(_c.value))
        return int(row.value)

    def delete(self, key: str) -> None:
        self._run(delete(_t).where(_c.key == self.prefix + key))

    def ttl(self, key: str) -> int | None:
        now = self.clock()
        row = self._run(select(_c.expires_at).where(
            _c.key == self.prefix + key, _c.expires_at > now), write=False)
        return None if row is None else max(1, math.ceil(row.expires_at - now))

    def close(self) -> None:
        """Release the PostgreSQL pool this store owns (SQLite shares the Database's)."""
        if self._owns_engine:
            self._engine.dispose()

    def purge(self) -> int:
        """Delete every expired row now (e.g. from a CLI or cron); returns how many."""
        try:
            with self._engine.connect() as conn:
                return conn.execute(delete(_t).where(_c.expires_at <= self.clock())).rowcount
        except exc.SQLAlchemyError as error:
            if is_unavailable(error):
                raise StoreUnavailable() from error
            raise
