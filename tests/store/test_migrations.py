"""The hand-written migrations build exactly the schema the models describe."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from idp.store.db import Database, alembic_config
from idp.store.models import Base

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_head_matches_models(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_records_head(db):
    db.upgrade()
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())


def test_concurrent_upgrades_from_several_processes(db_url):
    """Several nodes starting at once: every upgrade succeeds, the schema is built once."""
    code = "import sys; from idp.store.db import Database; Database(sys.argv[1]).upgrade()"
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], cwd=root,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    database = Database(db_url)
    with database.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD
    database.dispose()


def test_upgrade_does_not_depend_on_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    database.upgrade()
    assert "clients" in inspect(database.engine).get_table_names()
    database.dispose()


def test_0002_adds_ocsp_source_and_keeps_authorities(db_url):
    """Upgrading a 0001 database keeps its licence authorities, with no OCSP source; downgrade works."""
    from sqlalchemy import text

    database = Database(db_url)
    database.upgrade("0001")
    with database.engine.begin() as conn:
        conn.execute(text("INSERT INTO licence_authorities (id, name, cert_pem, is_anchor, crl_source, "
                          "enabled, created_at) VALUES ('a', 'CA', 'pem', true, '/crl', true, 1.0)"))
    database.upgrade()
    with database.engine.connect() as conn:
        row = conn.execute(text("SELECT name, crl_source, ocsp_source FROM licence_authorities")).one()
    assert tuple(row) == ("CA", "/crl", None)
    from alembic import command
    config = alembic_config()
    with database.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
        conn.commit()
    columns = {c["name"] for c in inspect(database.engine).get_columns("licence_authorities")}
    assert "ocsp_source" not in columns and "crl_source" in columns
    database.dispose()
