"""Authorization code flow with PKCE, ID token, userinfo (OIDC Core section 3.1)."""
from __future__ import annotations

import time

from joserfc import jws

from idp.oidc.tokens import half_hash
from tests.oidc.rp import RP


def test_code_flow_issues_valid_id_token_and_access_token(app, client):
    rp = RP(app, client)
    cb = rp.login()
    assert cb["state"] == rp.last["state"]
    assert cb["iss"] == "http://127.0.0.1:8000"  # RFC 9207
    resp = rp.token(cb["code"])
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert set(body) >= {"access_token", "id_token", "refresh_token", "scope"}

    header = jws.extract_compact(body["id_token"].encode()).headers()
    assert header["alg"] == "RS256" and header["kid"]
    claims = rp.verify(body["id_token"])
    assert claims["iss"] == rp.issuer and claims["aud"] == rp.client_id
    assert claims["nonce"] == rp.last["nonce"]
    assert claims["acr"] == "urn:idp:acr:person:face" and claims["amr"] == ["face", "user"]
    assert abs(claims["auth_time"] - time.time()) < 30 and claims["sid"]
    assert claims["at_hash"] == half_hash(body["access_token"], "RS256")
    assert claims["name"] == "张三" and "id_number" not in claims

    at_header = jws.extract_compact(body["access_token"].encode()).headers()
    assert at_header["typ"] == "at+jwt"  # RFC 9068
    at = rp.verify(body["access_token"])
    assert at["client_id"] == rp.client_id and at["sub"] == claims["sub"] and at["jti"]

    info = client.get("/userinfo", headers={"Authorization": "Bearer " + body["access_token"]})
    assert info.status_code == 200
    assert info.get_json()["sub"] == claims["sub"] and info.get_json()["name"] == "张三"
    post = client.post("/userinfo", data={"access_token": body["access_token"]})
    assert post.status_code == 200 and post.get_json()["sub"] == claims["sub"]


def test_id_number_is_masked_unless_allowed(app, client):
    masked = RP(app, client).tokens(scope="openid id_number")
    claims = RP(app, client).verify(masked["id_token"])
    assert claims["id_number_masked"] == "1****************X" and "id_number" not in claims
    allowed = RP(app, client, allow_id_number=True)
    full = allowed.verify(allowed.tokens(scope="openid id_number")["id_token"])
    assert full["id_number"] == "11010519491231002X"


def test_pairwise_sub_differs_per_sector_and_public_sub_is_stable(app, client):
    a = RP(app, client)
    b = RP(app, client, redirect_uris=["https://other.example.net/cb"])
    sub_a = a.verify(a.tokens()["id_token"])["sub"]
    # the second RP registered another host: another sector, another sub
    sub_b = b.verify(b.tokens()["id_token"])["sub"]
    assert sub_a != sub_b
    again = RP(app, client)  # same sector as a: same pairwise sub
    assert again.verify(again.tokens()["id_token"])["sub"] == sub_a
    p1 = RP(app, client, subject_type="public")
    p2 = RP(app, client, subject_type="public")
    assert p1.verify(p1.tokens()["id_token"])["sub"] == p2.verify(p2.tokens()["id_token"])["sub"]
    assert p1.verify(p1.tokens()["id_token"])["sub"] != sub_a


def test_sso_session_reused_and_consent_remembered(app, client):
    rp = RP(app, client)
    rp.login()
    resp = rp.authorize()
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("https://rp.example.org/cb?code=")


def test_es256_id_tokens_per_client(app, client):
    rp = RP(app, client, id_token_signed_response_alg="ES256")
    token = rp.tokens()["id_token"]
    assert jws.extract_compact(token.encode()).headers()["alg"] == "ES256"
    assert rp.verify(token)["aud"] == rp.client_id
