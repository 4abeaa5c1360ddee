"""Alembic environment: runs on the connection ``Database.upgrade`` hands over.

Without one (the ``alembic`` command line with ``idp/store/alembic.ini``), it connects to
``sqlalchemy.url`` from the ini file or the ``IDP_DATABASE_URL`` setting.
"""
from alembic import context

from idp.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: future migrations rebuild tables in batch mode.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from idp.config import load_settings

    return load_settings().sqlalchemy_url


connection = config.attributes.get("connection")
if context.is_offline_mode():
    from idp.store.db import normalize_url

    context.configure(url=normalize_url(_url()), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    _run(connection)
else:
    from idp.store.db import Database

    database = Database(_url())
    try:
        with database.engine.connect() as conn:
            _run(conn)
    finally:
        database.dispose()
