"""Fixtures of the production tests: a shared PostgreSQL database, a private Redis, settings."""
from __future__ import annotations

import pytest

from tests.helpers.pg import pg_database

from .services import RedisServer, free_port

SECRET = "cluster-secret-" + "k" * 40


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("production")


@pytest.fixture(scope="module")
def database_url():
    with pg_database() as url:
        yield url


@pytest.fixture(scope="module")
def redis_server(workdir):
    server = RedisServer(workdir / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def node_env(workdir, database_url: str, redis_url: str, **extra) -> dict:
    """The settings every node of one cluster shares (as IDP_* environment variables)."""
    env = {"IDP_ISSUER": f"http://127.0.0.1:{free_port()}",  # the load balancer's address
           "IDP_DATABASE_URL": database_url, "IDP_REDIS_URL": redis_url,
           "IDP_SECRET_KEY": SECRET, "IDP_KEYS_DIR": str(workdir / "keys"),
           "IDP_MODELS_DIR": str(workdir / "no-models"), "IDP_MODELS_REQUIRED": "0",
           "IDP_KEY_PUBLISH_DELAY": "0",
           "IDP_BACKCHANNEL_RETRIES": "1", "IDP_BACKCHANNEL_TIMEOUT": "1"}
    env.update({f"IDP_{k.upper()}": str(v) for k, v in extra.items()})
    return env


def settings_of(env: dict) -> dict:
    """The same settings as create_app overrides (for set-up done in the test process)."""
    return {k[4:].lower(): v for k, v in env.items() if k.startswith("IDP_")}


def init_cluster(env: dict, workdir) -> object:
    """Migrate the shared database, create keys and return an app on it (for set-up)."""
    from idp import create_app
    return create_app(init=True, instance_dir=str(workdir / "instance-setup"), **settings_of(env))
