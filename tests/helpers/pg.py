"""Throw-away PostgreSQL databases for tests.

``IDP_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) names the
server and a maintenance database; each ``pg_database()`` creates a fresh database on it,
yields its SQLAlchemy URL and drops it afterwards.  Where no server answers, the test is
skipped with the reason printed (``pytest -ra``).
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import Iterator

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> str:
    return os.environ.get("IDP_TEST_PG_URL", DEFAULT_URL)


def _connect(url: str):
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL does not answer at {url}: {str(error).strip()}")


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg", database=name) \
        .render_as_string(hide_password=False)


@contextmanager
def pg_database() -> Iterator[str]:
    """Create ``idp_test_<random>``, yield its ``postgresql+psycopg://`` URL, drop it."""
    admin = _admin_url()
    name = f"idp_test_{secrets.token_hex(6)}"
    with _connect(admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin, name)
    finally:
        with _connect(admin) as conn:
            # FORCE: a test that leaked a connection must not leave the database behind.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
