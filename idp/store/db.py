"""The durable database: one SQLAlchemy engine + sessionmaker, migrations, outage mapping.

SQLite (embedded default) and PostgreSQL (production, psycopg 3) behave the same to callers:
``with db.session() as s: ...`` commits on success, rolls back on error, and turns "the
database does not answer" into ``DatabaseUnavailable`` (503) instead of a 500.
"""
from __future__ import annotations

import logging
import os
import select
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import create_engine, event, exc, pool, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DatabaseUnavailable

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed 64-bit number; every process migrating the same database agrees on it.
_MIGRATION_LOCK = 0x1D9_5_70_0E_0001
# Alembic keeps its migration context in module globals: one upgrade per process at a time.
_upgrade_lock = threading.Lock()
_engine_lock = threading.Lock()

# SQLite errors that mean "cannot reach/lock the file", as opposed to a bug in our SQL.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open", "disk i/o error",
                       "database or disk is full", "readonly database", "busy")
# PostgreSQL states that mean "this server does not take writes now", not a bug: a
# standby, or a primary demoted by a failover manager, answers writes with 25006.
PG_UNAVAILABLE = frozenset({"25006"})


def normalize_url(url: str) -> str:
    """Point bare PostgreSQL URLs at psycopg 3 (SQLAlchemy would pick psycopg2), and take
    libpq's multi-host form ``postgresql://h1:5432,h2:5432/idp?target_session_attrs=read-write``.

    libpq tries the hosts in order and, with ``target_session_attrs=read-write``, keeps
    only the one that accepts writes: after a standby is promoted, every new connection
    finds the new primary.  SQLAlchemy cannot parse a comma in the authority, so the hosts
    move to its own multi-host form (``?host=h1:5432&host=h2:5432``), which it hands back
    to libpq unchanged.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql") or "," not in parts.netloc:
        return url
    userinfo, at, hosts = parts.netloc.rpartition("@")
    query = [("host", host if ":" in host else host + ":5432") for host in hosts.split(",")]
    query += parse_qsl(parts.query, keep_blank_values=True)
    return f"{parts.scheme}://{userinfo}{at}{parts.path}?{urlencode(query)}"


def is_unavailable(error: BaseException) -> bool:
    """True when a SQLAlchemy error means the database is down/unreachable, not a bug."""
    if isinstance(error, (exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError)):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if getattr(getattr(error, "orig", None), "sqlstate", None) in PG_UNAVAILABLE:
        return True
    if isinstance(error, exc.OperationalError):
        if isinstance(error.orig, sqlite3.Error):
            message = str(error.orig).lower()
            return any(marker in message for marker in _SQLITE_UNAVAILABLE)
        return True
    return False


class Database:
    """Engine, sessions and migrations for one database URL."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = make_url(normalize_url(url))
        self.dialect = self.url.get_backend_name()  # "sqlite" or "postgresql"
        self.engine: Engine = self._create_engine(echo)
        # SQLite read-only sessions use a deferred BEGIN so they do not take the write lock.
        self._read_engine = (self.engine.execution_options(sqlite_begin="DEFERRED")
                             if self.dialect == "sqlite" else self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _create_engine(self, echo: bool) -> Engine:
        if self.dialect != "sqlite":
            return check_liveness(create_engine(self.url, echo=echo))
        memory = self.url.database in (None, "", ":memory:")
        engine = create_engine(
            self.url, echo=echo,
            connect_args={"check_same_thread": False},
            # One shared connection, or every connection would see its own empty database.
            poolclass=pool.StaticPool if memory else pool.QueuePool,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on error.

        On SQLite, ``write=True`` opens the transaction with ``BEGIN IMMEDIATE`` so a
        read-then-write transaction never fails to upgrade its lock under concurrency;
        pass ``write=False`` for read-only work.  PostgreSQL ignores the flag.
        """
        bind = self.engine if write else self._read_engine
        session = self._sessions(bind=bind)
        try:
            yield session
            session.commit()
        except exc.SQLAlchemyError as error:
            session.rollback()
            if is_unavailable(error):
                log.warning("database unavailable: %s", error)
                raise DatabaseUnavailable() from error
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def connect(self, *, write: bool = True) -> Iterator[Connection]:
        """``session()`` without the ORM, for the hot paths (one Core connection, one
        transaction: commit on success, roll back on error, outages -> ``DatabaseUnavailable``).

        On PostgreSQL ``write=False`` runs in autocommit: a single read statement needs no
        BEGIN / COMMIT round trips.  On SQLite it opens a deferred transaction.
        """
        try:
            if write:
                with self.engine.begin() as conn:
                    yield conn
            else:
                with self._autocommit_engine.connect() as conn:
                    yield conn
        except exc.SQLAlchemyError as error:
            if is_unavailable(error):
                log.warning("database unavailable: %s", error)
                raise DatabaseUnavailable() from error
            raise

    def pg_statement(self, sql: str, params, *, fetch: bool = False):
        """PostgreSQL only: run one statement (``%s`` / ``%(name)s`` placeholders) in
        autocommit on a pooled connection, straight through psycopg; return its first row
        (a named tuple) with ``fetch``, else its row count.

        For the few statements every login runs several times: SQLAlchemy's Core costs
        ~0.1 ms of CPU per statement around a ~0.05 ms round trip (measured), and its
        pool's checkout and checkin ~0.05 ms more, so the connections come from
        ``_Lender`` (``self._lender``), which keeps a few of the autocommit pool's
        connections at hand with the same liveness check.  Outage mapping is that of
        ``connect()``.
        """
        import psycopg
        from psycopg.rows import namedtuple_row
        lender = self._lender
        try:
            fairy = lender.take()
        except (exc.SQLAlchemyError, psycopg.Error) as error:
            # (the pool raises the driver's own error when it cannot connect)
            if is_unavailable(error) or isinstance(
                    error, (psycopg.OperationalError, psycopg.InterfaceError)):
                log.warning("database unavailable: %s", error)
                raise DatabaseUnavailable() from error
            raise
        try:
            with fairy.dbapi_connection.cursor(row_factory=namedtuple_row) as cur:
                cur.execute(sql, params)
                result = cur.fetchone() if fetch else cur.rowcount
        except psycopg.Error as error:
            lost = isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))
            if lost:
                lender.lost(fairy, error)  # never handed out again, nor its idle siblings
            else:
                lender.give(fairy)
            if lost or getattr(error, "sqlstate", None) in PG_UNAVAILABLE:
                log.warning("database unavailable: %s", error)
                raise DatabaseUnavailable() from error
            raise
        except BaseException:
            fairy.close()  # (its own pool's reset and checks)
            raise
        lender.give(fairy)
        return result

    @property
    def _lender(self) -> "_Lender":
        lender = self.__dict__.get("_lender_")
        if lender is None:
            engine = self._autocommit_engine
            with _engine_lock:
                lender = self.__dict__.setdefault("_lender_", _Lender(engine, LENDER_IDLE))
        return lender

    @property
    def _autocommit_engine(self) -> Engine:
        # Its own small pool of connections that stay in autocommit: switching a pooled
        # connection in and out of autocommit costs psycopg three calls per checkout, and a
        # connection that never opens a transaction needs no rollback when it comes back.
        with _engine_lock:
            engine = self.__dict__.get("_autocommit")
            if engine is None:
                engine = self._read_engine
                if self.dialect == "postgresql":
                    # (LENDER_IDLE more overflow: the lender's idle connections stay
                    # checked out of this pool, and must not starve its other readers)
                    engine = check_liveness(create_engine(
                        self.url, isolation_level="AUTOCOMMIT", pool_size=4,
                        max_overflow=8 + LENDER_IDLE, pool_reset_on_return=None))
                self.__dict__["_autocommit"] = engine
        return engine

    def upgrade(self, revision: str = "head") -> None:
        """Run Alembic migrations; safe when several processes start at once."""
        from alembic import command

        config = alembic_config()
        try:
            with _upgrade_lock, self.engine.connect() as lock:
                if self.dialect == "postgresql":
                    # A session-level lock on its own connection: held across the
                    # migration transactions, released when we unlock (or disconnect).
                    lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
                    lock.commit()
                try:
                    with self.engine.connect() as connection:
                        config.attributes["connection"] = connection
                        command.upgrade(config, revision)
                finally:
                    if self.dialect == "postgresql":
                        lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                        lock.commit()
        except exc.SQLAlchemyError as error:
            if is_unavailable(error):
                raise DatabaseUnavailable() from error
            raise

    def libpq_conninfo(self) -> str:
        """This PostgreSQL URL as a libpq URI, for code that talks psycopg directly; a
        multi-host URL keeps every host (libpq's ``h1:5432,h2:5432`` form) and its options."""
        url = self.url.set(drivername="postgresql")
        hosts = url.query.get("host")
        if hosts is None:
            return url.render_as_string(hide_password=False)
        hosts = ",".join((hosts,) if isinstance(hosts, str) else hosts)
        rendered = url.difference_update_query(["host"]).render_as_string(hide_password=False)
        scheme, _, rest = rendered.partition("://")
        userinfo, _, path = rest.partition("/")  # userinfo is "" or "user[:password]@"
        return f"{scheme}://{userinfo}{hosts}/{path}"

    def dispose(self) -> None:
        lender = self.__dict__.get("_lender_")
        if lender is not None:
            lender.close()
        self.engine.dispose()
        reads = self.__dict__.get("_autocommit")
        if reads is not None and reads is not self._read_engine:
            reads.dispose()


# A pooled PostgreSQL connection is checked before it is handed out (what pool_pre_ping did
# with a SELECT 1 round trip on every checkout, 7 per code flow): one that came back to the
# pool less than PING_AFTER_IDLE seconds ago is checked locally (libpq's state, and a
# zero-timeout poll of its socket: an idle connection has nothing to read unless the server
# closed it or sent a FATAL before closing, e.g. on restart or failover); an older one gets
# the SELECT 1.  A dead connection is replaced (the pool retries with a fresh one), exactly
# as with pool_pre_ping.
PING_AFTER_IDLE = 1.0


def check_liveness(engine: Engine) -> Engine:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, record):
        if dbapi_connection is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, proxy):
        since = record.info.pop("idle_since", None)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE \
                and _quiet(dbapi_connection):
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure: this connection is not usable
            raise exc.DisconnectionError(str(error)) from error
        if not alive:
            raise exc.DisconnectionError("ping failed")

    return engine


def _quiet(dbapi_connection) -> bool:
    """An idle psycopg connection that libpq still thinks good and whose socket is silent."""
    try:
        pgconn = dbapi_connection.pgconn
        from psycopg import pq
        if pgconn.status != pq.ConnStatus.OK or \
                pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        poller = select.poll()  # (select() fails for descriptors above 1023)
        poller.register(pgconn.socket, select.POLLIN)
        return not poller.poll(0)
    except Exception:  # noqa: BLE001 - not a psycopg connection, closed socket...: ping it
        return False


LENDER_IDLE = 4


class _Lender:
    """``Database.pg_statement``'s connections: a LIFO of at most ``idle_max`` connections
    of the autocommit pool kept checked out between statements, so a statement costs no
    pool checkout and checkin (SQLAlchemy's queue, events and reset: ~0.05 ms of CPU each
    time, measured, more than psycopg's own work around the round trip).

    Liveness is the pool's own rule (``check_liveness``): a connection idle for less than
    ``PING_AFTER_IDLE`` seconds is checked locally (``_quiet``), an older one gets the
    ``SELECT 1``.  A dead one is invalidated, and so is every idle one beside it (a server
    restart or failover kills them all: what the pool does on a disconnect at checkout),
    and the next is tried; when none is idle a connection comes from the pool, with the
    pool's checks.  One that a statement lost is invalidated with its idle siblings.  A
    forked child never uses its parent's (the pid is checked)."""

    def __init__(self, engine: Engine, idle_max: int):
        self.engine = engine
        self.idle_max = idle_max
        self._idle: list = []  # (fairy, monotonic time it came back)
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def take(self):
        while True:
            with self._lock:
                if self._pid != os.getpid():
                    self._idle, self._pid = [], os.getpid()  # the parent's: never ours
                entry = self._idle.pop() if self._idle else None
            if entry is None:
                return self.engine.raw_connection()
            fairy, since = entry
            dbapi = fairy.dbapi_connection
            if dbapi is not None and time.monotonic() - since < PING_AFTER_IDLE \
                    and _quiet(dbapi):
                return fairy
            try:
                alive = dbapi is not None and self.engine.dialect.do_ping(dbapi)
            except Exception:  # noqa: BLE001 - any failure: this connection is not usable
                alive = False
            if alive:
                return fairy
            self.lost(fairy, None)

    def give(self, fairy) -> None:
        with self._lock:
            if len(self._idle) < self.idle_max and self._pid == os.getpid():
                self._idle.append((fairy, time.monotonic()))
                return
        fairy.close()

    def lost(self, fairy, error) -> None:
        fairy.invalidate(error)
        self._drop_idle(invalidate=True)

    def close(self) -> None:
        self._drop_idle(invalidate=False)

    def _drop_idle(self, *, invalidate: bool) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for fairy, _ in idle:
            try:
                fairy.invalidate() if invalidate else fairy.close()
            except Exception:  # noqa: BLE001 - a dead connection: already gone
                pass


def alembic_config():
    """An Alembic Config built in code, so migrations never depend on the CWD."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Take transaction control away from the sqlite3 module (it would BEGIN lazily and
    # never IMMEDIATE); the "begin" listener below issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers proceed while one writer commits; busy_timeout waits for the
        # write lock instead of failing at once; foreign keys make ON DELETE CASCADE work.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable with WAL, much faster
    finally:
        cursor.close()


def _sqlite_begin(connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    if mode:  # None: autocommit, every statement is its own transaction
        connection.exec_driver_sql(f"BEGIN {mode}")
