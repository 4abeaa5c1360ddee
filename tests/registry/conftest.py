"""Registry fixtures: the local registry runs on migrated SQLite and PostgreSQL databases."""
import pytest

from idp.store.db import Database
from tests.helpers.pg import pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
        db.upgrade()
        yield db
        db.dispose()
        return
    with pg_database() as url:
        db = Database(url)
        db.upgrade()
        yield db
        db.dispose()


@pytest.fixture
def local_registry(database):
    from idp.registry.factory import make_registry

    return make_registry("local", database=database, secret_key="test-secret-" + "x" * 32)
