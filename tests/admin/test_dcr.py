"""Dynamic client registration (RFC 7591) and management (RFC 7592), off without a token."""
from __future__ import annotations

import pytest

from idp.admin.roles import CLI

META = {"client_name": "Self-registered RP", "redirect_uris": ["https://self.example.org/cb"],
        "scope": "openid profile", "grant_types": ["authorization_code"], "software_id": "ignored"}


@pytest.fixture
def initial_token(svc):
    return svc.issue_initial_token(CLI, 600)["initial_access_token"]


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_registration_is_off_without_an_initial_token(app):
    http = app.test_client()
    resp = http.post("/register", json=META)
    assert resp.status_code == 401 and resp.get_json()["error"] == "invalid_token"
    resp = http.post("/register", json=META, headers=_bearer("made-up"))
    assert resp.status_code == 401 and "initial access token" in resp.get_json()["error_description"]
    assert app.extensions["idp"].clients.list() == []


def test_register_read_update_delete(app, initial_token):
    http = app.test_client()
    resp = http.post("/register", json=META, headers=_bearer(initial_token))
    assert resp.status_code == 201, resp.get_json()
    reg = resp.get_json()
    cid, rat = reg["client_id"], reg["registration_access_token"]
    assert reg["client_secret"] and reg["client_secret_expires_at"] == 0
    assert reg["registration_client_uri"] == f"{app.extensions['idp'].settings.issuer}/register/{cid}"
    assert reg["client_name"] == META["client_name"] and "software_id" not in reg
    assert "registration_access_token_hash" not in reg and "admin_client" not in reg
    assert resp.headers["Cache-Control"] == "no-store"
    # the initial token registered one client and is gone
    again = http.post("/register", json={**META, "client_name": "Second"}, headers=_bearer(initial_token))
    assert again.status_code == 401

    read = http.get(f"/register/{cid}", headers=_bearer(rat))
    assert read.status_code == 200 and read.get_json()["redirect_uris"] == META["redirect_uris"]
    assert "client_secret" not in read.get_json()
    assert http.get(f"/register/{cid}", headers=_bearer("wrong")).status_code == 401
    assert http.get("/register/nope", headers=_bearer(rat)).status_code == 401  # no oracle

    update = {**{k: v for k, v in read.get_json().items() if k in ("client_id", "client_name",
                                                                    "grant_types", "scope")},
              "redirect_uris": ["https://self.example.org/new"]}
    resp = http.put(f"/register/{cid}", json=update, headers=_bearer(rat))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["redirect_uris"] == ["https://self.example.org/new"]
    # the token still works after an update (its hash is kept with the client)
    assert http.get(f"/register/{cid}", headers=_bearer(rat)).status_code == 200

    assert http.delete(f"/register/{cid}", headers=_bearer(rat)).status_code == 204
    assert http.get(f"/register/{cid}", headers=_bearer(rat)).status_code == 401
    assert app.extensions["idp"].clients.get(cid) is None


def test_registered_client_can_log_in(app, initial_token):
    from tests.oidc.rp import RP
    reg = app.test_client().post("/register", json={**META, "grant_types": ["authorization_code", "refresh_token"]},
                                 headers=_bearer(initial_token)).get_json()
    rp = RP.__new__(RP)
    rp.app, rp.browser = app, app.test_client()
    rp.client_id, rp.secret, rp.redirect = reg["client_id"], reg["client_secret"], META["redirect_uris"][0]
    rp.issuer = app.extensions["idp"].settings.issuer
    tokens = rp.tokens()
    assert rp.verify(tokens["id_token"])["aud"] == reg["client_id"]


@pytest.mark.parametrize("body,error,description", [
    ({**META, "redirect_uris": ["http://self.example.org/cb"]}, "invalid_redirect_uri",
     "redirect_uris: 'http://self.example.org/cb' must use https (http only for localhost)"),
    ({**META, "redirect_uris": []}, "invalid_redirect_uri",
     "redirect_uris is required for the authorization_code grant"),
    ({**META, "scope": "openid admin"}, "invalid_client_metadata",
     "the admin scope is granted by an administrator only"),
    ({**META, "subject_type": "public"}, "invalid_client_metadata",
     "public subject identifiers are granted by an administrator only"),
    ({**META, "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "RSA"}]}},
     "invalid_client_metadata", None),
    ({**META, "response_types": ["token"]}, "invalid_client_metadata", 'response_types must be ["code"]'),
])
def test_bad_metadata_rfc7591_errors_and_token_kept(app, initial_token, body, error, description):
    http = app.test_client()
    resp = http.post("/register", json=body, headers=_bearer(initial_token))
    assert resp.status_code == 400 and resp.get_json()["error"] == error
    if description:
        assert resp.get_json()["error_description"] == description
    assert app.extensions["idp"].clients.list() == []
    # a refused request does not spend the single-use initial token
    assert http.post("/register", json=META, headers=_bearer(initial_token)).status_code == 201


def test_admin_granted_fields_cannot_be_self_registered(app, initial_token):
    reg = app.test_client().post("/register", json={**META, "allow_id_number": True, "access_token_ttl": 99999,
                                                    "sector_identifier": "evil.example"},
                                 headers=_bearer(initial_token)).get_json()
    client = app.extensions["idp"].clients.require(reg["client_id"])
    assert client.metadata["allow_id_number"] is False and client.metadata["access_token_ttl"] is None
    assert client.metadata["sector_identifier"] is None and not client.is_admin


def test_duplicate_name_is_invalid_metadata(app, svc):
    t1 = svc.issue_initial_token(CLI, 600)["initial_access_token"]
    t2 = svc.issue_initial_token(CLI, 600)["initial_access_token"]
    http = app.test_client()
    assert http.post("/register", json=META, headers=_bearer(t1)).status_code == 201
    dup = http.post("/register", json=META, headers=_bearer(t2))
    assert (dup.status_code, dup.get_json()["error"]) == (400, "invalid_client_metadata")
    assert http.post("/register", json={**META, "client_name": "Other"}, headers=_bearer(t2)).status_code == 201


def test_update_rules(app, initial_token):
    http = app.test_client()
    reg = http.post("/register", json=META, headers=_bearer(initial_token)).get_json()
    cid, auth = reg["client_id"], _bearer(reg["registration_access_token"])
    for body in ({"client_name": "x"},  # no client_id
                 {"client_id": cid, "registration_access_token": "x"},
                 {"client_id": cid, "client_secret": "not-the-secret"}):
        resp = http.put(f"/register/{cid}", json=body, headers=auth)
        assert resp.status_code == 400, body
    ok = http.put(f"/register/{cid}", json={"client_id": cid, "client_secret": reg["client_secret"],
                                            "redirect_uris": META["redirect_uris"]}, headers=auth)
    assert ok.status_code == 200 and ok.get_json()["client_name"] == META["client_name"]


def test_admin_edit_keeps_the_registration_token(app, initial_token, svc):
    from idp.admin.roles import Actor
    http = app.test_client()
    reg = http.post("/register", json=META, headers=_bearer(initial_token)).get_json()
    svc.update_client(Actor("user:a", "admin"), reg["client_id"], {"allow_id_number": True})
    read = http.get(f"/register/{reg['client_id']}", headers=_bearer(reg["registration_access_token"]))
    assert read.status_code == 200 and read.get_json()["allow_id_number"] is True


def test_initial_token_ttl_bounds(svc):
    from idp.errors import InvalidRequest
    for ttl in (0, 59, 10**9, True):
        with pytest.raises(InvalidRequest):
            svc.issue_initial_token(CLI, ttl)
