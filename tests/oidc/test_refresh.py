"""Refresh tokens: rotation, reuse detection, scope (RFC 6749 section 6, RFC 9700 section 4.14)."""
from __future__ import annotations

import pytest

from tests.oidc.rp import RP


@pytest.fixture
def rp(app, client):
    return RP(app, client)


def _error(resp, error, description=None):
    assert resp.status_code == 400, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == error, body
    if description is not None:
        assert body == {"error": error, "error_description": description}


def test_rotation_issues_a_new_refresh_token_and_the_old_one_fails(rp):
    first = rp.tokens()
    second = rp.refresh(first["refresh_token"])
    assert second.status_code == 200, second.get_data(as_text=True)
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    third = rp.refresh(second["refresh_token"]).get_json()
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    assert rp.introspect(first["refresh_token"]) == {"active": False}


def test_reuse_of_a_rotated_token_revokes_the_whole_grant(app, rp, client):
    first = rp.tokens()
    second = rp.refresh(first["refresh_token"]).get_json()
    _error(rp.refresh(first["refresh_token"]), "invalid_grant")  # reuse
    # the newest refresh token dies with its grant, and so do the access tokens
    _error(rp.refresh(second["refresh_token"]), "invalid_grant")
    for token in (first["access_token"], second["access_token"], second["refresh_token"]):
        assert rp.introspect(token) == {"active": False}
    info = client.get("/userinfo", headers={"Authorization": "Bearer " + second["access_token"]})
    assert info.status_code == 401


def test_other_grants_of_the_user_survive_a_reuse(rp):
    victim = rp.tokens()
    other = rp.tokens()  # a second grant (another code) of the same user and client
    rp.refresh(victim["refresh_token"])
    rp.refresh(victim["refresh_token"])
    assert rp.refresh(other["refresh_token"]).status_code == 200


def test_narrower_scope_is_allowed_and_the_refresh_token_keeps_its_scope(rp):
    first = rp.tokens(scope="openid profile offline_access")
    narrow = rp.refresh(first["refresh_token"], scope="openid")
    assert narrow.status_code == 200, narrow.get_data(as_text=True)
    narrow = narrow.get_json()
    assert narrow["scope"] == "openid"
    assert "name" not in rp.verify(narrow["id_token"])
    assert rp.verify(narrow["access_token"])["scope"] == "openid"
    # RFC 6749 section 6: the new refresh token has the scope of the one it replaces
    full = rp.refresh(narrow["refresh_token"], scope="openid profile offline_access")
    assert full.status_code == 200, full.get_data(as_text=True)
    assert full.get_json()["scope"] == "openid profile offline_access"


def test_wider_scope_is_invalid_scope_and_does_not_burn_the_token(rp):
    first = rp.tokens(scope="openid")
    _error(rp.refresh(first["refresh_token"], scope="openid profile"), "invalid_scope")
    # the failed request did not use up the refresh token (that would look like reuse)
    again = rp.refresh(first["refresh_token"])
    assert again.status_code == 200, again.get_data(as_text=True)


def test_refresh_token_of_another_client_is_invalid_grant(app, client, rp):
    other = RP(app, client)
    tokens = rp.tokens()
    _error(other.refresh(tokens["refresh_token"]), "invalid_grant")
    # the attempt neither burnt the token nor revoked the grant
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("value", ["", "garbage", "x" * 5000])
def test_unknown_refresh_token_is_invalid_grant(rp, value):
    _error(rp.refresh(value), "invalid_request" if value == "" else "invalid_grant")


def test_missing_refresh_token_is_invalid_request(rp, client):
    resp = client.post("/token", data={"grant_type": "refresh_token"}, headers=rp.auth())
    _error(resp, "invalid_request", "Missing 'refresh_token' in request.")


def test_id_token_on_refresh_keeps_sub_and_auth_time_without_nonce(rp):
    first = rp.tokens()
    original = rp.verify(first["id_token"])
    refreshed = rp.refresh(first["refresh_token"]).get_json()
    claims = rp.verify(refreshed["id_token"])
    assert claims["sub"] == original["sub"] and claims["auth_time"] == original["auth_time"]
    assert claims["acr"] == original["acr"] and claims["sid"] == original["sid"]
    assert claims["aud"] == rp.client_id and claims["iss"] == rp.issuer
    assert "nonce" not in claims  # OIDC Core 12.2
    assert claims["name"] == original["name"]


def test_refresh_after_logout_fails_unless_offline_access(app, client):
    rp = RP(app, client)
    online = rp.tokens(scope="openid profile")
    offline = rp.tokens(scope="openid offline_access")
    hint = online["id_token"]
    resp = client.get("/end-session", query_string={"id_token_hint": hint})
    assert resp.status_code == 200
    _error(rp.refresh(online["refresh_token"]), "invalid_grant")
    assert rp.refresh(offline["refresh_token"]).status_code == 200
