"""Bad input to the admin API and console: a clear 4xx, the whole error body, nothing changed."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from idp.store.models import AuditEvent, Client, LicenceAuthority
from tests.admin.certs import make_cert

GOOD = {"client_name": "Good RP", "redirect_uris": ["https://rp.example.org/cb"]}


def _snapshot(app):
    with app.extensions["idp"].db.session(write=False) as s:
        clients = s.execute(select(Client.client_id, Client.client_name, Client.metadata_)).all()
        events = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        authorities = s.execute(select(func.count()).select_from(LicenceAuthority)).scalar_one()
    return sorted(map(tuple, clients), key=str), events, authorities


CREATE_CASES = [
    ({**GOOD, "redirect_uris": ["http://rp.example.org/cb"]}, 400, "invalid_redirect_uri",
     "redirect_uris: 'http://rp.example.org/cb' must use https (http only for localhost)"),
    ({**GOOD, "redirect_uris": ["https://rp.example.org/cb#frag"]}, 400, "invalid_redirect_uri",
     "redirect_uris: 'https://rp.example.org/cb#frag' must not contain a fragment"),
    ({**GOOD, "redirect_uris": ["/relative"]}, 400, "invalid_redirect_uri",
     "redirect_uris: '/relative' must be an absolute http(s) URI"),
    ({**GOOD, "redirect_uris": []}, 400, "invalid_redirect_uri",
     "redirect_uris is required for the authorization_code grant"),
    ({**GOOD, "scope": "openid everything"}, 400, "invalid_client_metadata",
     "unknown scope 'everything'; known scopes: openid, profile, id_number, org, offline_access, liveness, admin"),
    ({**GOOD, "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "AAAA"}]}},
     400, "invalid_client_metadata", "jwks: only RSA and EC public keys are accepted"),
    ({**GOOD, "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": "nope"}},
     400, "invalid_client_metadata", 'jwks must be a JSON object {"keys": [...]} with at least one key'),
    ({**GOOD, "token_endpoint_auth_method": "private_key_jwt", "jwks": "{not json"},
     400, "invalid_client_metadata", "jwks is not valid JSON"),
    ({**GOOD, "allow_id_number": "false"}, 400, "invalid_client_metadata", "allow_id_number must be true or false"),
    ({**GOOD, "enabled": 1}, 400, "invalid_client_metadata", "enabled must be true or false"),
    ({**GOOD, "colour": "red"}, 400, "invalid_client_metadata", "unknown field 'colour'"),
    ({**GOOD, "client_secret": "mine"}, 400, "invalid_client_metadata",
     "client_secret is set by the server and cannot be changed"),
    ({**GOOD, "access_token_ttl": 5}, 400, "invalid_client_metadata",
     "access_token_ttl must be a whole number of seconds, 60 or more"),
    ({**GOOD, "client_name": ""}, 400, "invalid_client_metadata", "client_name is required"),
]


@pytest.mark.parametrize("body,status,error,description", CREATE_CASES)
def test_create_refused(app, admin_api, body, status, error, description):
    _, auth = admin_api
    before = _snapshot(app)
    resp = app.test_client().post("/admin/api/v1/clients", json=body, headers=auth)
    assert (resp.status_code, resp.get_json()) == (status, {"error": error, "error_description": description})
    assert _snapshot(app) == before


def test_duplicate_name_is_a_conflict(app, admin_api):
    _, auth = admin_api
    http = app.test_client()
    assert http.post("/admin/api/v1/clients", json=GOOD, headers=auth).status_code == 201
    before = _snapshot(app)
    resp = http.post("/admin/api/v1/clients", json=GOOD, headers=auth)
    assert (resp.status_code, resp.get_json()) == (409, {
        "error": "conflict", "error_description": "a client with this name already exists"})
    assert _snapshot(app) == before


def test_patch_refused_leaves_client_unchanged(app, admin_api):
    _, auth = admin_api
    http = app.test_client()
    cid = http.post("/admin/api/v1/clients", json=GOOD, headers=auth).get_json()["client_id"]
    other = http.post("/admin/api/v1/clients", json={**GOOD, "client_name": "Other"}, headers=auth)
    assert other.status_code == 201
    before = _snapshot(app)
    for body, status in (({"redirect_uris": ["ftp://x"]}, 400), ({"client_name": "Other"}, 409),
                         ({"scope": "root"}, 400), ({"client_id": "someone-else"}, 400)):
        resp = http.patch(f"/admin/api/v1/clients/{cid}", json=body, headers=auth)
        assert resp.status_code == status, (body, resp.get_json())
        assert set(resp.get_json()) == {"error", "error_description"}
    assert _snapshot(app) == before


@pytest.mark.parametrize("data,content_type,status", [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b"client_name=x", "application/x-www-form-urlencoded", 415),
    (b'{"a":' * 50 + b"1" + b"}" * 50, "application/json", 400),
    (b'{"client_name": "' + b"x" * (2 * 1024 * 1024) + b'"}', "application/json", 413),
])
def test_malformed_bodies(app, admin_api, data, content_type, status):
    _, auth = admin_api
    before = _snapshot(app)
    resp = app.test_client().post("/admin/api/v1/clients", data=data, content_type=content_type,
                                  headers=auth)
    assert resp.status_code == status
    assert resp.get_json()["error"] == "invalid_request" and resp.get_json()["error_description"]
    assert _snapshot(app) == before


AUTHORITY_CASES = [
    (make_cert(ca=False), 400, "invalid_certificate",
     "the certificate is not a CA certificate (basicConstraints cA is not TRUE)"),
    (make_cert(days=-1, start_days_ago=10), 400, "invalid_certificate",
     "the certificate is not valid now (check its validity dates)"),
    (make_cert() + make_cert("Second"), 400, "invalid_certificate",
     "upload exactly one PEM certificate (-----BEGIN CERTIFICATE-----)"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 400, "invalid_certificate",
     "the file is not a readable PEM X.509 certificate"),
    (b"x" * (64 * 1024 + 1), 413, "invalid_request", "a CA certificate file must be at most 64 KiB"),
]


@pytest.mark.parametrize("pem,status,error,description", AUTHORITY_CASES)
def test_authority_upload_refused(app, admin_api, pem, status, error, description):
    _, auth = admin_api
    before = _snapshot(app)
    resp = app.test_client().post("/admin/api/v1/authorities", json={"certificate": pem.decode()},
                                  headers=auth)
    assert (resp.status_code, resp.get_json()) == (status, {"error": error, "error_description": description})
    assert _snapshot(app) == before


def test_console_upload_too_large(app, console_for):
    console = console_for("admin")
    console.get("/admin/authorities")
    before = _snapshot(app)
    big = (io.BytesIO(b"y" * (2 * 1024 * 1024)), "ca.pem")
    resp = console.post("/admin/authorities", {"certificate": big}, content_type="multipart/form-data")
    assert resp.status_code == 413
    medium = (io.BytesIO(b"-----BEGIN CERTIFICATE-----\n" + b"A" * (70 * 1024)), "ca.pem")
    resp = console.post("/admin/authorities", {"certificate": medium}, content_type="multipart/form-data")
    assert resp.status_code == 413 and "64 KiB" in resp.get_data(as_text=True)
    assert _snapshot(app) == before


def test_authority_duplicate_and_bad_crl_source(app, admin_api):
    _, auth = admin_api
    http = app.test_client()
    pem = make_cert("Dup CA").decode()
    ok = http.post("/admin/api/v1/authorities", json={"certificate": pem, "crl_source": "https://ca.example/crl"},
                   headers=auth)
    assert ok.status_code == 201 and ok.get_json()["anchor"] is True
    before = _snapshot(app)
    dup = http.post("/admin/api/v1/authorities", json={"certificate": pem}, headers=auth)
    assert (dup.status_code, dup.get_json()["error"]) == (409, "conflict")
    bad = http.post("/admin/api/v1/authorities", json={"certificate": make_cert("B").decode(),
                                                       "crl_source": "relative/path.crl"}, headers=auth)
    assert bad.status_code == 400 and "CRL source" in bad.get_json()["error_description"]
    assert _snapshot(app) == before


@pytest.mark.parametrize("source", ["ftp://ocsp.example/", "ocsp.example", "/srv/ocsp", "aia x",
                                    "https://", "http://ocsp.example/\nx", "https://u:p@ocsp.example/",
                                    "http://ocsp.example:99999/", "http://[::1/", 5, "h" * 2001])
def test_authority_bad_ocsp_source(app, admin_api, source):
    _, auth = admin_api
    before = _snapshot(app)
    bad = app.test_client().post("/admin/api/v1/authorities", headers=auth, json={
        "certificate": make_cert("OCSP CA").decode(), "ocsp_source": source})
    assert bad.status_code == 400 and "OCSP source" in bad.get_json()["error_description"]
    assert _snapshot(app) == before


@pytest.mark.parametrize("source,stored", [("http://ocsp.example/ca", "http://ocsp.example/ca"),
                                           (" AIA ", "aia"), ("", None)])
def test_authority_ocsp_source_stored(app, admin_api, source, stored):
    _, auth = admin_api
    http = app.test_client()
    ok = http.post("/admin/api/v1/authorities", headers=auth, json={
        "certificate": make_cert("OCSP CA").decode(), "ocsp_source": source})
    assert ok.status_code == 201 and ok.get_json()["ocsp_source"] == stored
    listed = http.get("/admin/api/v1/authorities", headers=auth).get_json()["authorities"]
    assert [a["ocsp_source"] for a in listed] == [stored]
    anchors, _ = app.extensions["idp"].services["admin"].authorities.trust_entries()
    assert anchors[0][2] == stored
