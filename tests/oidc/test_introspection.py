"""Token introspection (RFC 7662) and revocation (RFC 7009)."""
from __future__ import annotations

import pytest

from tests.oidc.rp import RP


@pytest.fixture
def rp(app, client):
    return RP(app, client)


def test_active_access_token_has_its_claims(rp):
    tokens = rp.tokens()
    info = rp.introspect(tokens["access_token"])
    claims = rp.verify(tokens["access_token"])
    assert info["active"] is True and info["token_type"] == "Bearer"
    for name in ("scope", "client_id", "sub", "exp", "iat", "jti", "iss", "auth_time", "acr", "sid"):
        assert info[name] == claims[name], name
    assert info["client_id"] == rp.client_id and info["scope"] == "openid profile"


def test_refresh_token_introspection(rp):
    tokens = rp.tokens()
    info = rp.introspect(tokens["refresh_token"], token_type_hint="refresh_token")
    assert info["active"] is True and info["client_id"] == rp.client_id
    assert info["scope"] == "openid profile" and info["iss"] == rp.issuer
    assert info["exp"] > info["iat"]
    # a wrong hint does not hide a token (RFC 7662 section 2.1)
    assert rp.introspect(tokens["refresh_token"], token_type_hint="access_token")["active"] is True
    assert rp.introspect(tokens["access_token"], token_type_hint="refresh_token")["active"] is True


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 9000, "e30.e30.e30"])
def test_unknown_tokens_are_inactive(rp, token):
    resp = rp.browser.post("/introspect", data={"token": token}, headers=rp.auth())
    assert resp.status_code == 200 and resp.get_json() == {"active": False}


def test_another_clients_token_is_inactive(app, client, rp):
    other = RP(app, client)
    tokens = rp.tokens()
    assert other.introspect(tokens["access_token"]) == {"active": False}
    assert other.introspect(tokens["refresh_token"]) == {"active": False}


def test_admin_client_may_introspect_any_token(app, client, rp):
    tokens = rp.tokens()
    admin, secret = app.extensions["idp"].clients.create(
        {"client_name": "admin", "grant_types": ["client_credentials"], "scope": "admin"},
        is_admin=True)
    import base64
    auth = base64.b64encode(f"{admin.client_id}:{secret}".encode()).decode()
    resp = client.post("/introspect", data={"token": tokens["access_token"]},
                       headers={"Authorization": "Basic " + auth})
    assert resp.get_json()["active"] is True
    # a disabled client's tokens are inactive
    app.extensions["idp"].clients.set_enabled(rp.client_id, False)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        resp = client.post("/introspect", data={"token": token},
                           headers={"Authorization": "Basic " + auth})
        assert resp.get_json() == {"active": False}


@pytest.mark.parametrize("endpoint", ["/introspect", "/revoke"])
@pytest.mark.parametrize("auth", ["none", "wrong"])
def test_unauthenticated_caller_is_invalid_client(rp, client, endpoint, auth):
    tokens = rp.tokens()
    headers = {}
    if auth == "wrong":
        rp.secret, secret = "wrong", rp.secret
        headers = rp.auth()
        rp.secret = secret
    resp = client.post(endpoint, data={"token": tokens["access_token"]}, headers=headers)
    assert resp.status_code == 401
    body = resp.get_json()
    assert body["error"] == "invalid_client" and body["error_description"]
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    assert rp.introspect(tokens["access_token"])["active"] is True  # nothing was revoked


def test_revoked_access_token_is_inactive(rp, client):
    tokens = rp.tokens()
    resp = client.post("/revoke", data={"token": tokens["access_token"]}, headers=rp.auth())
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert rp.introspect(tokens["access_token"]) == {"active": False}
    info = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.status_code == 401
    # the grant lives on: the refresh token still works
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_revoking_the_refresh_token_revokes_the_grant(rp, client):
    tokens = rp.tokens()
    resp = client.post("/revoke", data={"token": tokens["refresh_token"],
                                        "token_type_hint": "refresh_token"}, headers=rp.auth())
    assert resp.status_code == 200
    assert rp.introspect(tokens["refresh_token"]) == {"active": False}
    assert rp.introspect(tokens["access_token"]) == {"active": False}  # RFC 7009 section 2.1
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_revoking_another_clients_token_does_nothing(app, client, rp):
    other = RP(app, client)
    tokens = rp.tokens()
    for token in (tokens["access_token"], tokens["refresh_token"]):
        resp = client.post("/revoke", data={"token": token}, headers=other.auth())
        assert resp.status_code == 200  # RFC 7009 section 2.2: no information leaks
    assert rp.introspect(tokens["access_token"])["active"] is True
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_revoking_an_unknown_token_is_200(rp, client):
    resp = client.post("/revoke", data={"token": "nothing"}, headers=rp.auth())
    assert resp.status_code == 200


@pytest.mark.parametrize("hint", ["weird", "refresh_token"])
def test_a_wrong_or_unknown_hint_does_not_stop_revocation(rp, client, hint):
    # RFC 7009 section 2.1: the server extends its search beyond the hinted type
    tokens = rp.tokens()
    resp = client.post("/revoke", data={"token": tokens["access_token"], "token_type_hint": hint},
                       headers=rp.auth())
    assert resp.status_code == 200
    assert rp.introspect(tokens["access_token"], token_type_hint=hint) == {"active": False}


@pytest.mark.parametrize("endpoint", ["/introspect", "/revoke"])
@pytest.mark.parametrize("data", [{}, {"token": ""}, {"token_type_hint": "access_token"}])
def test_missing_token_is_invalid_request(rp, client, endpoint, data):
    resp = client.post(endpoint, data=data, headers=rp.auth(),
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "invalid_request", "error_description": "token is missing"}


def test_public_client_may_revoke_its_own_token(app, client):
    rp = RP(app, client, token_endpoint_auth_method="none")
    cb = rp.login()
    tokens = client.post("/token", data={
        "grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
        "code_verifier": rp.last["verifier"], "client_id": rp.client_id}).get_json()
    resp = client.post("/revoke", data={"token": tokens["refresh_token"], "client_id": rp.client_id})
    assert resp.status_code == 200
    refresh = client.post("/token", data={"grant_type": "refresh_token", "client_id": rp.client_id,
                                          "refresh_token": tokens["refresh_token"]})
    assert refresh.get_json()["error"] == "invalid_grant"


def test_logout_makes_session_tokens_inactive(rp, client):
    tokens = rp.tokens()
    offline = rp.tokens(scope="openid offline_access")
    resp = client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    assert resp.status_code == 200
    assert rp.introspect(tokens["access_token"]) == {"active": False}
    assert rp.introspect(offline["access_token"]) == {"active": False}  # bound to the session
    assert rp.introspect(tokens["refresh_token"]) == {"active": False}
    assert rp.introspect(offline["refresh_token"])["active"] is True  # offline_access survives
