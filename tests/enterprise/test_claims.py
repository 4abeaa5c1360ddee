"""Standard claims for companies and minimal disclosure (DESIGN section 5, OIDC Core 5.1, 5.4).

A legal person's ``name`` is its registered organisation name; ``scope=openid`` alone gives
only ``sub`` and the protocol claims; the consent page lists what will really be released.
"""
from __future__ import annotations

import json

from tests.enterprise.conftest import challenge_of
from tests.enterprise.test_flow import answer
from tests.oidc.rp import RP, csrf_from, query

ORG = "福州示例科技有限公司"
PROTOCOL = {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
            "at_hash", "c_hash"}
PERSON_ITEMS = ("出生日期", "性别", "身份证号码", "Date of birth", "Gender", "ID number")


def licence_login(app, licence, scope, consent=True, **params):
    """Log in with the licence; return (rp, consent page html or None, callback params)."""
    client = app.test_client()
    rp = RP(app, client, scope="openid profile org id_number")
    resp = rp.authorize(scope=scope, **params)
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    cid = challenge_of(client.get(f"/login/{txn}/enterprise").get_data(as_text=True))
    assert answer(client, cid, licence).status_code == 200
    location = client.get(f"/login/{txn}/enterprise/status").get_json()["redirect"]
    page = None
    if "/consent" in location:
        path = location.replace(rp.issuer, "")
        page = client.get(path, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        location = client.post(path, data={"decision": "allow" if consent else "deny",
                                           "csrf_token": csrf_from(page)}).headers["Location"]
    return rp, page, query(location)


def _tokens(rp, cb):
    resp = rp.token(cb["code"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    bearer = {"Authorization": "Bearer " + body["access_token"]}
    userinfo = rp.browser.get("/userinfo", headers=bearer)
    return rp.verify(body["id_token"]), userinfo.get_json()


def test_a_company_name_is_its_registered_name(licensed_app, licence):
    rp, _, cb = licence_login(licensed_app, licence, "openid profile")
    claims, userinfo = _tokens(rp, cb)
    assert claims["name"] == ORG and claims["org_name"] == ORG
    assert claims["entity_type"] == "legal_person"
    assert userinfo["name"] == ORG and userinfo["org_name"] == ORG
    assert not {"birthdate", "gender", "id_number", "id_number_masked"} & set(claims)


def test_an_essential_name_claim_is_answered_for_a_company(licensed_app, licence):
    request = json.dumps({"id_token": {"name": {"essential": True}},
                          "userinfo": {"name": {"essential": True}}})
    rp, _, cb = licence_login(licensed_app, licence, "openid", claims=request)
    claims, userinfo = _tokens(rp, cb)
    assert claims["name"] == ORG and userinfo["name"] == ORG


def test_scope_openid_alone_releases_no_identity_claim(licensed_app, licence):
    rp, _, cb = licence_login(licensed_app, licence, "openid")
    claims, userinfo = _tokens(rp, cb)
    assert set(claims) <= PROTOCOL, set(claims) - PROTOCOL
    assert claims["acr"] == "urn:idp:acr:entity:elicense"  # what tells a company login apart
    assert set(userinfo) == {"sub"}


def test_scope_openid_alone_for_a_person(app, client):
    rp = RP(app, client)
    tokens = rp.tokens(scope="openid")
    claims = rp.verify(tokens["id_token"])
    assert set(claims) <= PROTOCOL, set(claims) - PROTOCOL
    info = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert set(info.get_json()) == {"sub"}


def test_the_consent_page_of_a_company_lists_what_is_released(licensed_app, licence):
    _, page, cb = licence_login(licensed_app, licence, "openid profile org id_number")
    assert "code" in cb
    items = page.split('<ul class="scopes">', 1)[1].split("</ul>", 1)[0]
    for shown in ("单位名称", "统一社会信用代码", "法定代表人", "主体类型"):
        assert shown in items, items
    for person_item in PERSON_ITEMS + ("<li>姓名</li>",):
        assert person_item not in items, items


def test_the_consent_page_of_a_person_lists_the_persons_data(app, client):
    rp = RP(app, client, scope="openid profile org id_number")
    resp = rp.authorize(scope="openid profile id_number")
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    token = csrf_from(client.get(f"/login/{txn}").get_data(as_text=True))
    done = client.post(f"/login/{txn}/test", data={"user": "bob"}, headers={"X-CSRF-Token": token})
    page = client.get(done.get_json()["redirect"].replace(rp.issuer, ""),
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    items = page.split('<ul class="scopes">', 1)[1].split("</ul>", 1)[0]
    for shown in ("Name", "Date of birth", "Gender", "ID number (partly hidden)"):
        assert shown in items, items
    assert "Unified social credit code" not in items and "Organisation name" not in items


def test_an_essential_person_acr_refuses_a_licence_login(licensed_app, licence):
    essential = json.dumps({"id_token": {"acr": {"essential": True,
                                                 "values": ["urn:idp:acr:person:face-active"]}}})
    _, page, cb = licence_login(licensed_app, licence, "openid profile", claims=essential)
    assert page is None and cb["error"] == "access_denied" and "code" not in cb
