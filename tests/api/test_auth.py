"""Bearer tokens of the liveness API: client-credentials access tokens with scope liveness."""
import time

import pytest

from tests.oidc.rp import RP

from .conftest import SESSIONS, Platform


def _open(platform, token):
    return platform.http.post("/api/v1/liveness/sessions", json={"mode": "passive"},
                              headers={"Authorization": token} if token is not None else {})


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer not.a.jwt",
                                    "Bearer a.b.c", "Bearer " + "x" * 9000])
def test_missing_or_malformed_tokens(platform, contract, header):
    resp = _open(platform, header)
    body = contract.check(SESSIONS, "post", resp)
    assert resp.status_code == 401 and body["error"] == "invalid_token"
    assert resp.headers["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')


def test_token_without_the_liveness_scope(app, contract):
    platform = Platform(app, scope="liveness profile")
    resp = _open(platform, "Bearer " + platform.access_token(scope="profile"))
    body = contract.check(SESSIONS, "post", resp)
    assert resp.status_code == 403
    assert body == {"error": "insufficient_scope",
                    "error_description": "the access token lacks the liveness scope"}
    assert 'scope="liveness"' in resp.headers["WWW-Authenticate"]


def test_id_tokens_are_not_access_tokens(app, platform):
    rp = RP(app, app.test_client())
    id_token = rp.tokens()["id_token"]
    assert _open(platform, "Bearer " + id_token).status_code == 401


def test_user_access_tokens_are_refused(app, platform):
    rp = RP(app, app.test_client(), scope="openid profile liveness")
    token = rp.tokens(scope="openid liveness")["access_token"]
    resp = _open(platform, "Bearer " + token)
    assert resp.status_code == 401
    assert "client-credentials" in resp.get_json()["error_description"]


def test_revoked_tokens(platform):
    token = platform.access_token()
    assert _open(platform, "Bearer " + token).status_code == 201
    platform.http.post("/revoke", data={"token": token}, headers=platform.basic())
    resp = _open(platform, "Bearer " + token)
    assert resp.status_code == 401 and "revoked" in resp.get_json()["error_description"]


def test_disabled_clients(app, platform):
    token = platform.access_token()
    app.extensions["idp"].clients.set_enabled(platform.client_id, False)
    time.sleep(1.1)  # the client cache lives one second
    assert _open(platform, "Bearer " + token).status_code == 401


def test_expired_tokens(make_app):
    app = make_app(access_token_ttl=1)
    platform = Platform(app)
    token = platform.access_token()
    time.sleep(2.1)
    resp = _open(platform, "Bearer " + token)
    assert resp.status_code == 401 and "expired" in resp.get_json()["error_description"]
