"""Fixtures of the OIDC tests: every app starts from one migrated database and key set.

Building an app from nothing migrates a database and generates an RSA key, which dominates
the time of a protocol test.  Here that is done once per session; each test gets its own
copy of the result (so tests stay isolated) before the shared ``make_app`` builds the app.
Tests of key generation itself live in ``tests/test_keys.py`` and start from nothing.
"""
from __future__ import annotations

import shutil

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def app_template(tmp_path_factory):
    from idp import create_app
    base = tmp_path_factory.mktemp("oidc-template")
    app = create_app(init=True, instance_dir=str(base / "instance"), keys_dir=str(base / "keys"),
                     models_dir=str(ROOT / "models"), secret_key="t" * 48)
    app.extensions["idp"].db.dispose()  # checkpoints the SQLite WAL into the file
    return base


@pytest.fixture(autouse=True)
def _remember_loaded_keys(monkeypatch):
    """Parse each (identical) key file once per session instead of once per app.

    Loading an RSA private key validates it, which costs tens of milliseconds; every app
    of these tests reads the same template files.  The cache is keyed by the file's bytes,
    so a test that changes keys still reads them for real.
    """
    from idp.keys import KeyRing
    original = KeyRing._read

    def cached(self, info):
        path = self._path(info.kid)
        try:
            key = (path.read_bytes(), self.passphrase, info.kid, info.alg)
        except OSError:
            return original(self, info)
        if key not in _KEYS:
            _KEYS[key] = original(self, info)
        return _KEYS[key]

    monkeypatch.setattr(KeyRing, "_read", cached)


_KEYS: dict = {}


@pytest.fixture
def make_app(make_app, app_template, tmp_path):
    for name in ("instance", "keys"):
        if not (tmp_path / name).exists():
            shutil.copytree(app_template / name, tmp_path / name)
    return make_app


@pytest.fixture(scope="module")
def shared_client(app_template, tmp_path_factory):
    """One app for a whole module of read-mostly tests (the bad-input sweeps)."""
    from idp import create_app
    from tests.oidc.testlogin import install_test_login
    base = tmp_path_factory.mktemp("oidc-shared")
    for name in ("instance", "keys"):
        shutil.copytree(app_template / name, base / name)
    app = create_app(instance_dir=str(base / "instance"), keys_dir=str(base / "keys"),
                     models_dir=str(ROOT / "models"), secret_key="t" * 48)
    app.config["TESTING"] = True
    install_test_login(app)
    return app.test_client()
