"""The userinfo endpoint (OIDC Core section 5.3) and bearer token errors (RFC 6750 section 3)."""
from __future__ import annotations

import time

import pytest

from tests.oidc.rp import RP


@pytest.fixture
def rp(app, client):
    return RP(app, client)


def _unauthorized(resp, error="invalid_token", status=401):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == error and body["error_description"]
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and f'error="{error}"' in challenge
    return body


def _get(client, token):
    return client.get("/userinfo", headers={"Authorization": "Bearer " + token})


def test_userinfo_releases_scoped_claims(rp, client):
    tokens = rp.tokens(scope="openid profile id_number")
    resp = _get(client, tokens["access_token"])
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert body["sub"] == rp.verify(tokens["id_token"])["sub"]
    assert body["name"] == "张三" and body["birthdate"] == "1990-01-01"
    assert body["id_number_masked"] == "1****************X" and "id_number" not in body


def test_userinfo_without_profile_scope_has_only_sub(rp, client):
    body = _get(client, rp.tokens(scope="openid")["access_token"]).get_json()
    assert set(body) <= {"sub", "entity_type"} and "name" not in body


def test_missing_token(client):
    resp = client.get("/userinfo")
    assert resp.status_code == 401
    # RFC 6750 section 3.1: no error code when the request had no authentication at all
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert resp.get_json() == {"error": "invalid_token",
                               "error_description": "an access token is required"}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "e30.e30.e30", "x" * 9000])
def test_garbage_token(client, token):
    _unauthorized(_get(client, token))


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer  ", "bearer"])
def test_wrong_scheme_is_invalid_request(client, header):
    resp = client.get("/userinfo", headers={"Authorization": header})
    assert resp.status_code in (400, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_in_header_and_body_is_invalid_request(rp, client):
    token = rp.tokens()["access_token"]
    resp = client.post("/userinfo", data={"access_token": token},
                       headers={"Authorization": "Bearer " + token})
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request"


def test_token_in_query_string_is_not_accepted(rp, client):
    token = rp.tokens()["access_token"]
    resp = client.get("/userinfo", query_string={"access_token": token})
    assert resp.status_code == 401


def test_expired_token(app, rp, client):
    tokens = rp.tokens()
    claims = rp.verify(tokens["access_token"])
    minter = app.extensions["idp"].provider.minter
    principal = app.extensions["idp"].provider.grant_store.principal(claims["gid"])[0]
    expired, _ = minter.access_token(client_id=rp.client_id, scope="openid profile", ttl=-5,
                                     sub=claims["sub"], principal=principal)
    body = _unauthorized(_get(client, expired))
    assert body["error_description"] == "the token has expired"


def test_revoked_token(rp, client):
    tokens = rp.tokens()
    client.post("/revoke", data={"token": tokens["access_token"]}, headers=rp.auth())
    body = _unauthorized(_get(client, tokens["access_token"]))
    assert body["error_description"] == "the access token was revoked"


def test_token_of_ended_session(rp, client):
    tokens = rp.tokens(scope="openid offline_access")
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    _unauthorized(_get(client, tokens["access_token"]))


def test_id_token_is_not_an_access_token(rp, client):
    tokens = rp.tokens()
    body = _unauthorized(_get(client, tokens["id_token"]))
    assert body["error_description"] == "the token is not of type at+jwt"


def test_token_signed_by_another_issuer(rp, client):
    from joserfc import jwt
    from joserfc.jwk import RSAKey
    key = RSAKey.generate_key(2048)
    claims = rp.verify(rp.tokens()["access_token"])
    forged = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}, claims, key)
    _unauthorized(_get(client, forged))


def test_client_credentials_token_is_refused_clearly(app, client):
    service = RP(app, client, grant_types=["client_credentials"], scope="openid liveness",
                 redirect_uris=[])
    token = client.post("/token", data={"grant_type": "client_credentials", "scope": "openid"},
                        headers=service.auth()).get_json()["access_token"]
    resp = _get(client, token)
    assert resp.status_code in (401, 403)
    body = resp.get_json()
    assert body["error"] in ("invalid_token", "insufficient_scope")
    assert "user" in body["error_description"]
    assert "Bearer" in resp.headers["WWW-Authenticate"]


def test_userinfo_of_a_disabled_client_is_refused(app, rp, client):
    tokens = rp.tokens()
    app.extensions["idp"].clients.set_enabled(rp.client_id, False)
    _unauthorized(_get(client, tokens["access_token"]))


def test_userinfo_is_fast_to_reject_without_touching_state(client):
    start = time.monotonic()
    for _ in range(20):
        _get(client, "garbage")
    assert time.monotonic() - start < 2
