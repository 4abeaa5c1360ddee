"""Discovery (OIDC Discovery 1.0 section 3, RFC 8414) and the JWKS (RFC 7517)."""
from __future__ import annotations

REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
            "response_types_supported", "subject_types_supported",
            "id_token_signing_alg_values_supported")


def test_discovery_document(client):
    resp = client.get("/.well-known/openid-configuration")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    for name in REQUIRED:
        assert doc[name], name
    iss = doc["issuer"]
    assert iss == "http://127.0.0.1:8000"
    paths = {"authorization_endpoint": "/authorize", "token_endpoint": "/token",
             "userinfo_endpoint": "/userinfo", "jwks_uri": "/jwks.json",
             "introspection_endpoint": "/introspect", "revocation_endpoint": "/revoke",
             "end_session_endpoint": "/end-session", "registration_endpoint": "/register"}
    for name, path in paths.items():
        assert doc[name] == iss + path
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["subject_types_supported"] == ["pairwise", "public"]
    assert set(doc["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    assert doc["acr_values_supported"] == ["urn:idp:acr:person:face",
                                           "urn:idp:acr:person:face-active",
                                           "urn:idp:acr:entity:elicense"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["backchannel_logout_supported"] is True
    assert "none" not in doc["token_endpoint_auth_signing_alg_values_supported"]
    assert "public" in resp.headers["Cache-Control"]


def test_jwks_publishes_public_keys_with_kid(client):
    resp = client.get("/jwks.json")
    assert resp.status_code == 200
    keys = resp.get_json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    for key in keys:
        assert key["kid"] and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert len({k["kid"] for k in keys}) == len(keys)
