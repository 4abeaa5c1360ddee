"""The admin API (DESIGN section 9a) with an admin client's token, and its refusals."""
from __future__ import annotations

import base64
import time

import pytest

from tests.admin.conftest import client_credentials_token

NEW = {"client_name": "Tax portal", "redirect_uris": ["https://tax.example.gov/cb"],
       "post_logout_redirect_uris": ["https://tax.example.gov/bye"], "scope": "openid profile id_number",
       "allow_id_number": True, "sector_identifier": "tax.example.gov", "access_token_ttl": 300,
       "logo_uri": "https://tax.example.gov/logo.png", "backchannel_logout_uri": "https://tax.example.gov/bc"}


def test_create_show_patch_delete_client(app, admin_api):
    _, auth = admin_api
    http = app.test_client()
    resp = http.post("/admin/api/v1/clients", json=NEW, headers=auth)
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    cid = created["client_id"]
    assert resp.headers["Location"].endswith(f"/admin/api/v1/clients/{cid}")
    assert created["client_secret"] and created["enabled"] is True
    for name, value in NEW.items():
        assert created[name] == value, name
    shown = http.get(f"/admin/api/v1/clients/{cid}", headers=auth).get_json()
    assert "client_secret" not in shown and shown["allow_id_number"] is True
    assert cid in [c["client_id"] for c in http.get("/admin/api/v1/clients", headers=auth).get_json()["clients"]]

    patched = http.patch(f"/admin/api/v1/clients/{cid}", json={"enabled": False, "id_token_ttl": 120},
                         headers=auth)
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["enabled"] is False and patched.get_json()["id_token_ttl"] == 120
    assert patched.get_json()["redirect_uris"] == NEW["redirect_uris"]  # untouched fields stay
    assert http.delete(f"/admin/api/v1/clients/{cid}", headers=auth).status_code == 204
    gone = http.get(f"/admin/api/v1/clients/{cid}", headers=auth)
    assert gone.status_code == 404 and gone.get_json()["error"] == "not_found"


def test_rotate_secret_old_one_stops_working(app, admin_api):
    _, auth = admin_api
    http = app.test_client()
    created = http.post("/admin/api/v1/clients", headers=auth, json={
        "client_name": "Batch job", "grant_types": ["client_credentials"], "scope": "liveness"}).get_json()
    cid, old = created["client_id"], created["client_secret"]
    client_credentials_token(app, cid, old)
    resp = http.post(f"/admin/api/v1/clients/{cid}/secret", headers=auth)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    new = resp.get_json()["client_secret"]
    assert new != old
    client_credentials_token(app, cid, new)
    basic = base64.b64encode(f"{cid}:{old}".encode()).decode()
    app.extensions["idp"].clients._cache.clear()
    refused = http.post("/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": "Basic " + basic})
    assert refused.status_code == 401


def test_keys_list_and_rotate(app, admin_api):
    _, auth = admin_api
    http = app.test_client()
    before = http.get("/admin/api/v1/keys", headers=auth).get_json()["keys"]
    assert {k["alg"] for k in before} == {"RS256", "ES256"}
    resp = http.post("/admin/api/v1/keys/rotate", json={"algs": ["ES256"]}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert len(body["published"]) == 1 and body["published"][0] in [k["kid"] for k in body["keys"]]
    new = next(k for k in body["keys"] if k["kid"] == body["published"][0])
    assert new["status"] == "next" and new["alg"] == "ES256"
    jwks = [k["kid"] for k in http.get("/jwks.json").get_json()["keys"]]
    assert new["kid"] in jwks  # published before it signs
    bad = http.post("/admin/api/v1/keys/rotate", json={"algs": ["HS256"]}, headers=auth)
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_request"


def test_audit_query_filters_and_paging(app, admin_api):
    admin_id, auth = admin_api
    http = app.test_client()
    provider = app.extensions["idp"].provider
    for i in range(5):
        provider.audit("login", "failure" if i % 2 else "success", client_id="rp-x",
                       subject=f"1****{i}", method="person")
    resp = http.get("/admin/api/v1/audit?client_id=rp-x&outcome=success&limit=2", headers=auth)
    assert resp.status_code == 200
    page = resp.get_json()
    assert [e["subject"] for e in page["events"]] == ["1****4", "1****2"]
    assert all(e["client_id"] == "rp-x" and e["outcome"] == "success" for e in page["events"])
    rest = http.get(f"/admin/api/v1/audit?client_id=rp-x&outcome=success&limit=2&before={page['next_before']}",
                    headers=auth).get_json()
    assert [e["subject"] for e in rest["events"]] == ["1****0"] and rest["next_before"] is None
    future = http.get(f"/admin/api/v1/audit?since={int(time.time()) + 3600}", headers=auth).get_json()
    assert future["events"] == []
    iso = http.get("/admin/api/v1/audit?since=2000-01-01T00:00&until=2100-01-01&subject=1****3",
                   headers=auth).get_json()
    assert [e["subject"] for e in iso["events"]] == ["1****3"]
    for bad in ("since=yesterday", "outcome=maybe", "limit=0", "limit=5000", "before=x"):
        resp = http.get(f"/admin/api/v1/audit?{bad}", headers=auth)
        assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request", bad


def test_stats(app, admin_api):
    _, auth = admin_api
    provider = app.extensions["idp"].provider
    provider.audit("login", "success", method="person")
    provider.audit("login", "success", method="person")
    provider.audit("login", "failure", method="enterprise")
    provider.audit("liveness.check", "success")
    provider.audit("liveness.check", "failure")
    provider.audit("liveness.check", "success")
    resp = app.test_client().get("/admin/api/v1/stats", headers=auth)
    assert resp.status_code == 200
    stats = resp.get_json()
    assert stats["logins"]["by_method"] == {"person": {"success": 2}, "enterprise": {"failure": 1}}
    assert stats["logins"]["total"] == 3 and len(stats["logins"]["per_hour"]) == 24
    assert stats["logins"]["per_hour"][-1]["counts"] == {"person/success": 2, "enterprise/failure": 1}
    assert stats["liveness"]["passed"] == 2 and stats["liveness"]["total"] == 3
    assert stats["liveness"]["pass_rate"] == pytest.approx(0.6667)
    assert stats["clients"]["total"] >= 1


def test_admin_actions_through_the_api_are_audited(app, admin_api):
    admin_id, auth = admin_api
    http = app.test_client()
    http.post("/admin/api/v1/keys/rotate", json={}, headers=auth)
    events = http.get("/admin/api/v1/audit?event=admin.keys.rotate", headers=auth).get_json()["events"]
    assert events[0]["method"] == "admin" and events[0]["details"]["actor"] == f"client:{admin_id}"


# -- refusals ------------------------------------------------------------------------------------
def _error(resp):
    return resp.status_code, resp.get_json()["error"]


def test_without_token(app):
    http = app.test_client()
    resp = http.get("/admin/api/v1/clients")
    assert _error(resp) == (401, "invalid_token")
    assert "Bearer" in resp.headers["WWW-Authenticate"]
    assert _error(http.get("/admin/api/v1/clients", headers={"Authorization": "Basic abc"})) == \
        (400, "invalid_request")
    assert _error(http.get("/admin/api/v1/keys", headers={"Authorization": "Bearer not.a.jwt"})) == \
        (401, "invalid_token")


def test_non_admin_client_token(app):
    clients = app.extensions["idp"].clients
    plain, secret = clients.create({"client_name": "plain", "grant_types": ["client_credentials"],
                                    "scope": "admin liveness"})  # asks for admin, is not an admin client
    token = client_credentials_token(app, plain.client_id, secret)
    resp = app.test_client().get("/admin/api/v1/clients", headers={"Authorization": f"Bearer {token}"})
    assert _error(resp) == (403, "access_denied")
    admin, secret = clients.create({"client_name": "admin no scope", "grant_types": ["client_credentials"],
                                    "scope": "admin liveness"}, is_admin=True)
    token = client_credentials_token(app, admin.client_id, secret, scope="liveness")
    resp = app.test_client().get("/admin/api/v1/clients", headers={"Authorization": f"Bearer {token}"})
    assert _error(resp) == (403, "insufficient_scope")


def test_revoked_token(app):
    clients = app.extensions["idp"].clients
    admin, secret = clients.create({"client_name": "bot", "grant_types": ["client_credentials"],
                                    "scope": "admin"}, is_admin=True)
    token = client_credentials_token(app, admin.client_id, secret)
    http = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert http.get("/admin/api/v1/keys", headers=auth).status_code == 200
    basic = base64.b64encode(f"{admin.client_id}:{secret}".encode()).decode()
    assert http.post("/revoke", data={"token": token}, headers={"Authorization": "Basic " + basic}).status_code == 200
    resp = http.get("/admin/api/v1/keys", headers=auth)
    assert _error(resp) == (401, "invalid_token")
    assert "revoked" in resp.get_json()["error_description"]


def test_disabled_or_demoted_admin_client(app, admin_api):
    admin_id, auth = admin_api
    clients = app.extensions["idp"].clients
    clients.update(admin_id, {"is_admin": False})
    clients._cache.clear()
    assert _error(app.test_client().get("/admin/api/v1/keys", headers=auth)) == (403, "access_denied")
    clients.update(admin_id, {"is_admin": True, "enabled": False})
    clients._cache.clear()
    assert _error(app.test_client().get("/admin/api/v1/keys", headers=auth)) == (403, "access_denied")


def test_user_access_token_is_not_enough(app):
    """A token from a user login, even for an admin client with scope admin, is refused."""
    provider = app.extensions["idp"].provider
    token, _ = provider.minter.access_token(client_id="x", scope="admin", ttl=60, sub="someone-else")
    resp = app.test_client().get("/admin/api/v1/keys", headers={"Authorization": f"Bearer {token}"})
    assert _error(resp) == (403, "access_denied")
