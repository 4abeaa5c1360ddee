"""Which claims a client receives: scopes, the ``claims`` parameter (OIDC Core 5.4, 5.5) and
the admin's grants (DESIGN section 5)."""
from __future__ import annotations

import json

import pytest

from tests.oidc.rp import RP


def _userinfo(client, token):
    resp = client.get("/userinfo", headers={"Authorization": "Bearer " + token})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_named_claims_go_where_they_were_requested(app, client):
    rp = RP(app, client)
    claims = json.dumps({"id_token": {"birthdate": None}, "userinfo": {"name": None}})
    tokens = rp.tokens(scope="openid", claims=claims)
    id_token = rp.verify(tokens["id_token"])
    assert id_token["birthdate"] == "1990-01-01" and "name" not in id_token
    info = _userinfo(client, tokens["access_token"])
    assert info["name"] == "张三" and "birthdate" not in info


def test_named_claims_survive_a_refresh(app, client):
    rp = RP(app, client)
    tokens = rp.tokens(scope="openid", claims=json.dumps({"id_token": {"birthdate": None}}))
    refreshed = rp.refresh(tokens["refresh_token"]).get_json()
    assert rp.verify(refreshed["id_token"])["birthdate"] == "1990-01-01"


@pytest.mark.parametrize("target", ["id_token", "userinfo"])
@pytest.mark.parametrize("claim", ["id_number", "name", "uscc"])
def test_claims_parameter_cannot_reach_beyond_the_clients_scopes(app, client, target, claim):
    # The admin allowed this client only "openid": naming a claim of another scope in the
    # claims parameter must not release it.
    rp = RP(app, client, scope="openid", allow_id_number=True)
    tokens = rp.tokens(scope="openid", claims=json.dumps({target: {claim: None}}))
    released = set(rp.verify(tokens["id_token"])) | set(_userinfo(client, tokens["access_token"]))
    assert claim not in released and "id_number_masked" not in released


def test_id_number_needs_the_admin_grant(app, client):
    rp = RP(app, client)
    tokens = rp.tokens(scope="openid id_number")
    info = _userinfo(client, tokens["access_token"])
    assert info["id_number_masked"] == "1****************X" and "id_number" not in info
    allowed = RP(app, client, allow_id_number=True)
    tokens = allowed.tokens(scope="openid id_number")
    assert _userinfo(client, tokens["access_token"])["id_number"] == "11010519491231002X"


def test_mask_keeps_the_configured_characters(make_app):
    app = make_app(id_number_mask_keep=2)
    client = app.test_client()
    rp = RP(app, client)
    claims = rp.verify(rp.tokens(scope="openid id_number")["id_token"])
    assert claims["id_number_masked"] == "11**************2X"


def test_access_token_is_not_an_id_token_hint(app, client):
    rp = RP(app, client)
    tokens = rp.tokens()
    resp = rp.authorize(id_token_hint=tokens["access_token"])
    from tests.oidc.rp import query
    params = query(resp.headers["Location"])
    assert params["error"] == "invalid_request"
    assert params["error_description"] == "id_token_hint is not an ID token issued by this OP"
    logout = client.get("/end-session", query_string={"id_token_hint": tokens["access_token"]})
    assert logout.status_code == 400
