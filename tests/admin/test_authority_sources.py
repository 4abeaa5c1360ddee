"""Editing a licence authority's CRL and OCSP sources (API, console, service)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from idp.admin.roles import Actor
from idp.errors import AccessDenied, NotFound
from idp.store.models import AuditEvent, LicenceAuthority
from tests.admin.certs import make_cert

BOSS = Actor("user:boss", "admin")


def _events(app, event):
    with app.extensions["idp"].db.session(write=False) as s:
        return s.execute(select(AuditEvent).where(AuditEvent.event == event)
                         .order_by(AuditEvent.id)).scalars().all()


def _snapshot(app):
    with app.extensions["idp"].db.session(write=False) as s:
        rows = s.execute(select(LicenceAuthority.id, LicenceAuthority.crl_source,
                                LicenceAuthority.ocsp_source, LicenceAuthority.created_at)).all()
        events = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return sorted(map(tuple, rows)), events


@pytest.fixture
def authority(svc):
    return svc.add_authority(BOSS, make_cert("Editable CA"), crl_source="https://ca.example.gov/crl",
                             ocsp_source="aia")


def _verifier_entry(app, authority_id):
    cache = app.extensions["idp"].services["licence_verifier"]
    cache.check_every = 0  # look at the table now, as it would within a few seconds
    for info in cache.get().store.anchors + cache.get().store.intermediates:
        if info.fingerprint.hex() == authority_id:
            return info
    return None


def test_api_patch_changes_one_source_and_the_verifier_follows(app, admin_api, authority):
    client_id, auth = admin_api
    http = app.test_client()
    before = _verifier_entry(app, authority["id"])
    assert (before.crl_source, before.ocsp_source) == ("https://ca.example.gov/crl", "aia")
    resp = http.patch(f"/admin/api/v1/authorities/{authority['id']}", headers=auth,
                      json={"crl_source": "/srv/crl/ca.crl"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["crl_source"], body["ocsp_source"]) == ("/srv/crl/ca.crl", "aia")
    listed = http.get("/admin/api/v1/authorities", headers=auth).get_json()["authorities"]
    assert [(a["crl_source"], a["ocsp_source"]) for a in listed] == [("/srv/crl/ca.crl", "aia")]
    anchors, _ = app.extensions["idp"].services["admin"].authorities.trust_entries()
    assert anchors[0][1:] == ("/srv/crl/ca.crl", "aia")
    after = _verifier_entry(app, authority["id"])
    assert (after.crl_source, after.ocsp_source) == ("/srv/crl/ca.crl", "aia")
    [event] = _events(app, "admin.authority.update")
    assert event.outcome == "success" and event.method == "admin"
    assert event.details == {"actor": f"client:{client_id}", "authority": authority["id"],
                             "changed": {"crl_source": "/srv/crl/ca.crl"}}


def test_api_patch_clears_with_null_and_empty_string(app, admin_api, authority):
    _, auth = admin_api
    resp = app.test_client().patch(f"/admin/api/v1/authorities/{authority['id']}", headers=auth,
                                   json={"crl_source": None, "ocsp_source": ""})
    assert resp.status_code == 200
    assert (resp.get_json()["crl_source"], resp.get_json()["ocsp_source"]) == (None, None)
    info = _verifier_entry(app, authority["id"])
    assert (info.crl_source, info.ocsp_source) == (None, None)
    assert _events(app, "admin.authority.update")[-1].details["changed"] == {
        "crl_source": None, "ocsp_source": None}


def test_api_patch_sets_ocsp_normalised(app, admin_api, authority):
    _, auth = admin_api
    resp = app.test_client().patch(f"/admin/api/v1/authorities/{authority['id']}", headers=auth,
                                   json={"ocsp_source": "http://ocsp.example.gov/ca"})
    assert resp.status_code == 200
    assert resp.get_json()["ocsp_source"] == "http://ocsp.example.gov/ca"
    assert resp.get_json()["crl_source"] == "https://ca.example.gov/crl"


@pytest.mark.parametrize("body,reason", [
    ({"crl_source": "relative/path.crl"}, "CRL source"),
    ({"crl_source": 5}, "CRL source"),
    ({"crl_source": "ftp://ca.example/crl"}, "CRL source"),
    ({"ocsp_source": "ftp://ocsp.example/"}, "OCSP source"),
    ({"ocsp_source": True}, "OCSP source"),
    ({"ocsp_source": "h" * 2001}, "OCSP source"),
    ({"crl_source": "/ok.crl", "ocsp_source": "nope"}, "OCSP source"),
    ({"name": "renamed"}, "unknown field(s): name"),
    ({"crl_source": "/ok.crl", "enabled": False}, "unknown field(s): enabled"),
    ({}, "give crl_source and/or ocsp_source"),
    ([], "must be a JSON object"),
    ("https://ca.example/crl", "must be a JSON object"),
    (None, "must be a JSON object"),
    (7, "must be a JSON object"),
])
def test_api_patch_bad_input(app, admin_api, authority, body, reason):
    _, auth = admin_api
    before = _snapshot(app)
    resp = app.test_client().patch(f"/admin/api/v1/authorities/{authority['id']}", headers=auth,
                                   data=json.dumps(body), content_type="application/json")
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"] == "invalid_request"
    assert reason in resp.get_json()["error_description"]
    assert _snapshot(app) == before


def test_api_patch_not_json_and_unknown_id(app, admin_api, authority):
    _, auth = admin_api
    http = app.test_client()
    before = _snapshot(app)
    bad = http.patch(f"/admin/api/v1/authorities/{authority['id']}", headers=auth, data="{nope",
                     content_type="application/json")
    assert bad.status_code == 400 and "not valid JSON" in bad.get_json()["error_description"]
    missing = http.patch("/admin/api/v1/authorities/" + "0" * 64, headers=auth,
                         json={"crl_source": "/srv/ca.crl"})
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert _snapshot(app) == before
    unauth = http.patch(f"/admin/api/v1/authorities/{authority['id']}", json={"crl_source": None})
    assert unauth.status_code == 401
    assert _snapshot(app) == before


def test_service_roles_and_not_found(app, svc, authority):
    for role in ("operator", "auditor"):
        with pytest.raises(AccessDenied):
            svc.update_authority_sources(Actor(f"user:{role}", role), authority["id"], crl_source=None)
    denied = _events(app, "admin.denied")
    assert [e.details["actor"] for e in denied[-2:]] == ["user:operator", "user:auditor"]
    assert all(e.reason == "authorities.write" for e in denied[-2:])
    with pytest.raises(NotFound):
        svc.update_authority_sources(BOSS, "f" * 64, crl_source=None)
    with pytest.raises(NotFound):
        svc.update_authority_sources(BOSS, None, crl_source=None)
    assert svc.list_authorities(BOSS)[0]["crl_source"] == "https://ca.example.gov/crl"
    # Omitted sources stay as they are.
    updated = svc.update_authority_sources(BOSS, authority["id"], ocsp_source=None)
    assert (updated["crl_source"], updated["ocsp_source"]) == ("https://ca.example.gov/crl", None)


def test_verifier_follows_edit_of_an_older_authority(app, svc, authority):
    newer = svc.add_authority(BOSS, make_cert("Newer CA"), crl_source="/srv/newer.crl")
    assert _verifier_entry(app, authority["id"]).ocsp_source == "aia"
    svc.update_authority_sources(BOSS, authority["id"], ocsp_source="https://ocsp.example.gov/")
    assert _verifier_entry(app, authority["id"]).ocsp_source == "https://ocsp.example.gov/"
    assert _verifier_entry(app, newer["id"]).crl_source == "/srv/newer.crl"


def test_disabled_authority_can_be_edited(app, svc, authority):
    svc.set_authority_enabled(BOSS, authority["id"], False)
    svc.update_authority_sources(BOSS, authority["id"], crl_source="/srv/ca.crl")
    assert _verifier_entry(app, authority["id"]) is None
    svc.set_authority_enabled(BOSS, authority["id"], True)
    assert _verifier_entry(app, authority["id"]).crl_source == "/srv/ca.crl"


def test_console_edit_and_clear(app, console_for, authority):
    console = console_for("admin")
    page = console.get("/admin/authorities").get_data(as_text=True)
    assert f'action="/admin/authorities/{authority["id"]}/sources"' in page
    assert 'value="https://ca.example.gov/crl"' in page
    resp = console.post(f"/admin/authorities/{authority['id']}/sources",
                        {"crl_source": "/srv/crl/ca.crl", "ocsp_source": "https://ocsp.example.gov/"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/authorities")
    [row] = app.extensions["idp"].services["admin"].authorities.list()
    assert (row["crl_source"], row["ocsp_source"]) == ("/srv/crl/ca.crl", "https://ocsp.example.gov/")
    info = _verifier_entry(app, authority["id"])
    assert (info.crl_source, info.ocsp_source) == ("/srv/crl/ca.crl", "https://ocsp.example.gov/")
    event = _events(app, "admin.authority.update")[-1]
    assert event.details["actor"] == "user:admin-user"
    resp = console.post(f"/admin/authorities/{authority['id']}/sources",
                        {"crl_source": "", "ocsp_source": "  "})
    assert resp.status_code == 303
    [row] = app.extensions["idp"].services["admin"].authorities.list()
    assert (row["crl_source"], row["ocsp_source"]) == (None, None)


def test_console_edit_bad_input_and_csrf(app, console_for, authority):
    console = console_for("admin")
    console.get("/admin/authorities")
    before = _snapshot(app)
    bad = console.post(f"/admin/authorities/{authority['id']}/sources",
                       {"crl_source": "relative.crl", "ocsp_source": ""})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "the CRL source must be an http(s) URL" in html
    assert 'id="form-error"' in html and "Editable CA" in html
    bad = console.post(f"/admin/authorities/{authority['id']}/sources",
                       {"crl_source": "", "ocsp_source": "gopher://x"})
    assert bad.status_code == 400 and "the OCSP source must be" in bad.get_data(as_text=True)
    no_csrf = console.post(f"/admin/authorities/{authority['id']}/sources",
                           {"crl_source": "", "ocsp_source": "", "csrf_token": "wrong"})
    assert no_csrf.status_code in (400, 403)
    missing = console.post("/admin/authorities/" + "0" * 64 + "/sources", {"crl_source": ""})
    assert missing.status_code == 404
    assert _snapshot(app) == before


@pytest.mark.parametrize("role", ["auditor", "operator"])
def test_console_edit_forbidden(app, console_for, authority, role):
    console = console_for(role)
    console.get("/admin/audit")
    before_rows = _snapshot(app)[0]
    resp = console.post(f"/admin/authorities/{authority['id']}/sources",
                        {"crl_source": "", "ocsp_source": ""})
    assert resp.status_code == 403
    assert _snapshot(app)[0] == before_rows
    assert _events(app, "admin.denied")[-1].details["actor"] == f"user:{role}-user"


def test_console_edit_form_hidden_from_operator(console_for, authority):
    page = console_for("operator").get("/admin/authorities").get_data(as_text=True)
    assert "/sources" not in page and "Editable CA" in page


@pytest.mark.parametrize("lang,text", [("en", "Edit CRL / OCSP sources"), ("zh-CN", "修改 CRL / OCSP 来源")])
def test_console_edit_strings(console_for, authority, lang, text):
    page = console_for("admin").get(f"/admin/authorities?lang={lang}").get_data(as_text=True)
    assert text in page


def test_verifier_sees_one_disabled_and_another_enabled_at_once(app, svc, authority):
    """Neither the count of enabled authorities nor the newest of them changes (the third,
    added last, stays enabled); the verifier must still follow."""
    other = svc.add_authority(BOSS, make_cert("Second CA"), crl_source=None)
    svc.add_authority(BOSS, make_cert("Third CA"), crl_source=None)
    svc.set_authority_enabled(BOSS, other["id"], False)
    assert _verifier_entry(app, authority["id"]) is not None
    assert _verifier_entry(app, other["id"]) is None
    svc.set_authority_enabled(BOSS, authority["id"], False)
    svc.set_authority_enabled(BOSS, other["id"], True)
    assert _verifier_entry(app, authority["id"]) is None
    assert _verifier_entry(app, other["id"]) is not None
