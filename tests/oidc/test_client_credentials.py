"""Client credentials grant (RFC 6749 section 4.4) with RFC 9068 JWT access tokens."""
from __future__ import annotations

import pytest
from joserfc import jws

from tests.oidc.rp import RP


@pytest.fixture
def service(app, client):
    return RP(app, client, grant_types=["client_credentials"], scope="liveness", redirect_uris=[])


def _cc(client, rp, **data):
    return client.post("/token", data={"grant_type": "client_credentials", **data}, headers=rp.auth())


def test_client_credentials_issues_an_rfc9068_access_token(service, client):
    resp = _cc(client, service, scope="liveness")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}  # no refresh, no id_token
    assert body["scope"] == "liveness" and body["token_type"] == "Bearer"
    header = jws.extract_compact(body["access_token"].encode()).headers()
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    assert header["kid"] in {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    claims = service.verify(body["access_token"])
    assert claims["sub"] == service.client_id and claims["client_id"] == service.client_id
    assert claims["scope"] == "liveness" and claims["iss"] == service.issuer
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["jti"] and "gid" not in claims
    assert service.introspect(body["access_token"])["active"] is True


def test_default_scope_is_what_the_client_may_use(service, client):
    body = _cc(client, service).get_json()
    assert body["scope"] == "liveness"


@pytest.mark.parametrize("scope", ["admin", "liveness admin", "openid profile"])
def test_scope_not_allowed_is_invalid_scope(service, client, scope):
    resp = _cc(client, service, scope=scope)
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "invalid_scope",
                               "error_description": "The client may not request this scope."}


def test_public_client_cannot_use_client_credentials(app, client):
    public = RP(app, client, token_endpoint_auth_method="none")
    resp = client.post("/token", data={"grant_type": "client_credentials",
                                       "client_id": public.client_id})
    assert resp.status_code in (400, 401)
    assert resp.get_json()["error"] in ("invalid_client", "unauthorized_client")


def test_public_clients_cannot_be_registered_for_client_credentials(app):
    from idp.clients import InvalidClientMetadata
    with pytest.raises(InvalidClientMetadata):
        app.extensions["idp"].clients.create({
            "client_name": "bad", "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "none"})


def test_wrong_secret_is_invalid_client(service, client):
    service.secret = "wrong"
    resp = _cc(client, service)
    assert resp.status_code == 401 and resp.get_json()["error"] == "invalid_client"
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
