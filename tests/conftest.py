"""Shared fixtures: an app on a throw-away SQLite database and keys, and RP helpers."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IDP_SHARED_DIR", ROOT.parent / "shared"))

# Tests never read the developer's environment.
for _name in list(os.environ):
    if _name.startswith("IDP_") and not _name.startswith(("IDP_TEST_", "IDP_SHARED_DIR")):
        del os.environ[_name]


@pytest.fixture
def make_app(tmp_path):
    """Build an initialised app in a temporary instance folder; overrides are settings."""
    from idp import create_app
    from tests.oidc.testlogin import install_test_login

    def factory(**overrides):
        base = {"instance_dir": str(tmp_path / "instance"), "keys_dir": str(tmp_path / "keys"),
                "models_dir": str(ROOT / "models"), "secret_key": "t" * 48,
                "backchannel_retries": 2, "backchannel_timeout": 1.0}
        base.update(overrides)
        app = create_app(init=True, **base)
        app.config["TESTING"] = True
        install_test_login(app)
        return app

    return factory


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()
