"""Staged audit events and the sequencer that chains them (PostgreSQL).

Appending to the hash chain (``audit.py``) needs the chain's cluster-wide lock and the
tail's hash: every audited request of every node would wait for every other one.  So on
PostgreSQL an event is first *staged*: one plain INSERT into ``audit_pending`` (no lock, no
read, one round trip), committed before the request that caused it answers.  A *sequencer*
then moves staged events into the chain, oldest first: under the chain's lock, in one
transaction, it reads the tail, inserts the events into ``audit_events`` with their hashes
and deletes them from ``audit_pending``, so each event is staged or chained, never both,
never neither.  This is Certificate Transparency's "maximum merge delay" (RFC 6962 section
3): an accepted entry is durable at once and in the signed structure shortly after.

Guarantees: an event whose request was answered is committed (staged or chained); a crash
of the node that staged it loses nothing, since any node's sequencer, and every reader
that needs the whole trail (checkpoints, archive, ``idp audit verify``, the admin audit
search), first chains whatever is staged.  An event's ``ts`` is the time it was staged; its
place in the chain is the order of sequencing (the same as staging order within one
sequencer run: oldest staged id first).
"""
from __future__ import annotations

import logging

from . import audit

log = logging.getLogger(__name__)

MAX_BATCH = 1000
_COLUMNS = ("ts", "event", "outcome", "client_id", "subject", "ip", "method", "reason", "details")
STAGE_SQL = (f"INSERT INTO audit_pending ({', '.join(_COLUMNS)}) "
             f"VALUES ({', '.join(['%s'] * (len(_COLUMNS) - 1))}, CAST(%s AS JSON))")
_CHAIN_SQL = (f"INSERT INTO audit_events ({', '.join(_COLUMNS)}, prev_hash, hash) "
              f"VALUES ({', '.join(['%s'] * (len(_COLUMNS) - 1))}, CAST(%s AS JSON), %s, %s)")


def stage_params(fields: dict) -> tuple:
    """The parameters of ``STAGE_SQL`` for one event (``ts`` set by the caller)."""
    details = audit._canonical(fields.get("details") or {})
    return tuple(fields.get(name) for name in _COLUMNS[:-1]) + (details,)


def stage(database, fields: dict) -> None:
    """Commit one event to ``audit_pending`` (autocommit, pooled connection); raises
    ``DatabaseUnavailable`` when the database does not take it."""
    database.pg_statement(STAGE_SQL, stage_params(fields))


def sequence_batch(conn, limit: int = MAX_BATCH) -> int:
    """Chain up to ``limit`` staged events on a psycopg connection (not in autocommit), in
    one transaction the caller's ``commit`` ends; return how many were moved.  Two round
    trips (pipeline mode): lock, tail and the staged rows; then the inserts and the delete."""
    with conn.pipeline():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (audit._LOCK_KEY,))
        # READ COMMITTED: each statement sees what was committed before it began, so, read
        # after the lock, the tail is the chain's and what this reads no one else chains.
        tail = conn.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
        staged = conn.execute(f"SELECT id, {', '.join(_COLUMNS)} FROM audit_pending "
                              f"ORDER BY id LIMIT %s", (limit,))
        tail, rows = tail.fetchone(), staged.fetchall()
        if not rows:
            return 0
        prev = tail[0] if tail else audit.GENESIS
        chained, ids = [], []
        for row in rows:
            fields = dict(zip(_COLUMNS, row[1:]))
            # (the JSON column hands back exactly the canonical form's value)
            fields["details"] = fields["details"] if fields["details"] is not None else {}
            digest = audit.event_hash(prev, fields)
            chained.append(tuple(fields[c] for c in _COLUMNS[:-1]) +
                           (audit._canonical(fields["details"]), prev, digest))
            ids.append(row[0])
            prev = digest
        with conn.cursor() as cur:
            cur.executemany(_CHAIN_SQL, chained)  # in order: the ids follow the chain
        deleted = conn.execute("DELETE FROM audit_pending WHERE id = ANY(%s)", (ids,))
    if deleted.rowcount != len(ids):  # only a lock holder deletes: never seen, never half-done
        raise RuntimeError(f"audit sequencer: {len(ids)} staged events read, "
                           f"{deleted.rowcount} deleted")
    return len(ids)


def flush(database, *, only_if_pending: bool = False) -> int:
    """Chain everything staged so far (PostgreSQL; elsewhere nothing is ever staged): what
    a reader of the whole trail calls first.  Returns how many events were moved.

    ``only_if_pending``: look without the lock first (a poll that usually finds nothing)."""
    if database.dialect != "postgresql":
        return 0
    from sqlalchemy import exc as sa_exc

    from ..errors import DatabaseUnavailable
    from .db import PG_UNAVAILABLE, is_unavailable
    import psycopg
    moved = 0
    try:
        fairy = database.engine.raw_connection()
    except (sa_exc.SQLAlchemyError, psycopg.Error) as error:
        if isinstance(error, psycopg.Error) or is_unavailable(error):
            raise DatabaseUnavailable() from error
        raise
    try:
        conn = fairy.dbapi_connection
        while True:
            try:
                if only_if_pending and conn.execute(
                        "SELECT 1 FROM audit_pending LIMIT 1").fetchone() is None:
                    conn.rollback()
                    return moved
                count = sequence_batch(conn)
                conn.commit()
            except psycopg.Error as error:
                _rollback(conn)
                lost = isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))
                if lost:
                    fairy.invalidate(error)
                if lost or getattr(error, "sqlstate", None) in PG_UNAVAILABLE:
                    raise DatabaseUnavailable() from error
                raise
            except BaseException:
                _rollback(conn)
                raise
            moved += count
            if count < MAX_BATCH:
                return moved
    finally:
        fairy.close()


def _rollback(conn) -> None:
    try:
        conn.rollback()
    except Exception:  # noqa: BLE001 - a dead connection: the pool discards it
        pass
