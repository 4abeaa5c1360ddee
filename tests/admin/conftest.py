"""Fixtures for the admin area: accounts with TOTP, admin API tokens, a console browser."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import pyotp
import pytest

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    username: str
    password: str
    totp: pyotp.TOTP
    recovery_codes: list[str]


def make_account(app, username="alice", role="admin", password=PASSWORD) -> Account:
    new = app.extensions["idp"].services["admin"].accounts.create(username, password, role)
    return Account(username, password, pyotp.parse_uri(new.totp_uri), new.recovery_codes)


def csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


class Console:
    """A browser on the console (Flask test client keeps the cookies)."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self.token = None

    def get(self, path, **kw):
        resp = self.http.get(path, **kw)
        found = re.search(r'name="csrf-token" content="([^"]+)"', resp.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return resp

    def post(self, path, data=None, **kw):
        if self.token is None:
            self.get("/admin/login")
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.http.post(path, data=data, **kw)

    def login(self, account: Account, code=None):
        self.get("/admin/login")
        return self.post("/admin/login", {"username": account.username, "password": account.password,
                                          "code": code or account.totp.now()})


@pytest.fixture
def svc(app):
    return app.extensions["idp"].services["admin"]


@pytest.fixture
def console_for(app):
    def factory(role="admin", username=None):
        account = make_account(app, username or f"{role}-user", role)
        console = Console(app)
        resp = console.login(account)
        assert resp.status_code == 303, resp.get_data(as_text=True)
        return console
    return factory


def client_credentials_token(app, client_id, secret, scope=None) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    resp = app.test_client().post("/token", data=data, headers={"Authorization": "Basic " + basic})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["access_token"]


@pytest.fixture
def admin_api(app):
    """(client_id, bearer headers) of an admin client with scope admin."""
    client, secret = app.extensions["idp"].clients.create(
        {"client_name": "admin-bot", "grant_types": ["client_credentials"], "scope": "admin"},
        is_admin=True)
    token = client_credentials_token(app, client.client_id, secret)
    return client.client_id, {"Authorization": f"Bearer {token}"}
