"""The admin area on the production backends: PostgreSQL (durable) and Redis (short-lived)."""
from __future__ import annotations

import secrets

import pytest

from idp.admin.roles import CLI
from tests.admin.conftest import Console, make_account
from tests.helpers.pg import pg_database
from tests.helpers.redis import redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def prod_app(make_app):
    url = redis_url()
    with pg_database() as database_url:
        app = make_app(database_url=database_url, redis_url=url)
        yield app
        app.extensions["idp"].db.dispose()


def test_console_dcr_stats_and_chain_on_postgres_and_redis(prod_app):
    app = prod_app
    # random names: TOTP replay markers live in the shared Redis for a few time steps
    account = make_account(app, "pg-" + secrets.token_hex(4))
    code = account.totp.now()
    assert Console(app).login(account, code).status_code == 303
    assert Console(app).login(account, code).status_code == 400  # replay refused across "nodes"
    svc = app.extensions["idp"].services["admin"]
    token = svc.issue_initial_token(CLI, 120)["initial_access_token"]
    http = app.test_client()
    body = {"client_name": "pg-" + secrets.token_hex(4), "redirect_uris": ["https://pg.example.org/cb"]}
    reg = http.post("/register", json=body, headers={"Authorization": f"Bearer {token}"})
    assert reg.status_code == 201, reg.get_json()
    assert http.post("/register", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    app.extensions["idp"].provider.audit("login", "success", method="person")
    stats = svc.stats(CLI)
    assert stats["logins"]["by_method"] == {"person": {"success": 1}}
    events, _ = svc.search_audit(CLI, event="admin.login")
    assert [e["outcome"] for e in events] == ["failure", "success"]
    from idp.store.audit import verify_chain
    with app.extensions["idp"].db.session(write=False) as s:
        assert verify_chain(s) is None
