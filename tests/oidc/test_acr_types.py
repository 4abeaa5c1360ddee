"""acr values never cross subject types (DESIGN section 5, README "Assurance levels").

The two person levels are ordered (face < face-active); the licence login of a legal person
stands alone.  A service that asks for a person's face gets a person, one that asks for a
company gets a company; acr_values naming both let the user choose.  The test login posts
the acr it reached, so both types can be played through the same flow.
"""
from __future__ import annotations

import json

import pytest

from idp.interaction import (ACR_ELICENSE, ACR_FACE, ACR_FACE_ACTIVE, acr_aim, acr_meets)
from tests.oidc.rp import RP, csrf_from, query


def essential(*values) -> str:
    return json.dumps({"id_token": {"acr": {"essential": True, "values": list(values)}}})


@pytest.fixture
def rp(app, client):
    return RP(app, client)


def _goes_to_login(resp) -> bool:
    assert resp.status_code == 302
    location = resp.headers["Location"]
    return location.startswith("/login/") and not location.endswith("/consent")


def _login_at(rp, acr, **params) -> dict:
    """Start /authorize, log in at ``acr``, return the RP callback parameters."""
    resp = rp.authorize(**params)
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    page = rp.browser.get(f"/login/{txn}").get_data(as_text=True)
    done = rp.browser.post(f"/login/{txn}/test", data={"user": "acme", "acr": acr},
                           headers={"X-CSRF-Token": csrf_from(page)})
    location = done.get_json()["redirect"]
    if "/consent" in location:
        path = location.replace(rp.issuer, "")
        token = csrf_from(rp.browser.get(path).get_data(as_text=True))
        answer = rp.browser.post(path, data={"decision": "allow", "csrf_token": token})
        location = answer.headers["Location"]
    return query(location)


@pytest.mark.parametrize("achieved,wanted,ok", [
    (ACR_FACE, ACR_FACE, True), (ACR_FACE_ACTIVE, ACR_FACE, True),
    (ACR_FACE, ACR_FACE_ACTIVE, False), (ACR_FACE_ACTIVE, ACR_FACE_ACTIVE, True),
    (ACR_ELICENSE, ACR_ELICENSE, True),
    (ACR_ELICENSE, ACR_FACE, False), (ACR_ELICENSE, ACR_FACE_ACTIVE, False),
    (ACR_FACE, ACR_ELICENSE, False), (ACR_FACE_ACTIVE, ACR_ELICENSE, False),
    (None, ACR_FACE, False), ("urn:other", ACR_FACE, False), (ACR_FACE, "urn:other", False),
])
def test_acr_meets(achieved, wanted, ok):
    assert acr_meets(achieved, wanted) is ok


def test_the_aim_is_a_person_level_when_one_is_asked_for():
    assert acr_aim([ACR_ELICENSE, ACR_FACE_ACTIVE], essential=True) == ACR_FACE_ACTIVE
    assert acr_aim([ACR_FACE_ACTIVE, ACR_FACE], essential=True) == ACR_FACE
    assert acr_aim([ACR_FACE_ACTIVE, ACR_FACE], essential=False) == ACR_FACE_ACTIVE
    assert acr_aim([ACR_ELICENSE], essential=True) == ACR_ELICENSE
    assert acr_aim([], essential=False) is None


def test_an_essential_person_acr_never_accepts_a_company_login(rp):
    cb = _login_at(rp, ACR_ELICENSE, claims=essential(ACR_FACE_ACTIVE))
    assert cb["error"] == "access_denied" and "code" not in cb


def test_an_essential_company_acr_never_accepts_a_person_login(rp):
    cb = _login_at(rp, ACR_FACE_ACTIVE, claims=essential(ACR_ELICENSE))
    assert cb["error"] == "access_denied" and "code" not in cb


def test_a_company_session_does_not_answer_a_person_request(rp):
    assert "code" in _login_at(rp, ACR_ELICENSE)
    for claims in (essential(ACR_FACE), essential(ACR_FACE_ACTIVE)):
        assert _goes_to_login(rp.authorize(claims=claims))  # a fresh login of the right type
        silent = query(rp.authorize(claims=claims, prompt="none").headers["Location"])
        assert silent["error"] == "login_required"
    # and a voluntary request for a person level is not answered by it silently either
    assert _goes_to_login(rp.authorize(acr_values=ACR_FACE))


def test_a_person_session_does_not_answer_a_company_request(rp):
    assert "code" in _login_at(rp, ACR_FACE_ACTIVE)
    assert _goes_to_login(rp.authorize(claims=essential(ACR_ELICENSE)))
    silent = query(rp.authorize(claims=essential(ACR_ELICENSE), prompt="none").headers["Location"])
    assert silent["error"] == "login_required"


def test_mixed_essential_values_let_the_user_choose(rp, app):
    claims = essential(ACR_FACE_ACTIVE, ACR_ELICENSE)
    resp = rp.authorize(claims=claims)
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    chooser = rp.browser.get(f"/login/{txn}").get_data(as_text=True)
    assert f"/login/{txn}/person" in chooser and f"/login/{txn}/enterprise" in chooser
    stored = app.extensions["idp"].provider.transactions.load(txn)
    assert stored.required_acr == ACR_FACE_ACTIVE  # the person method asks for actions
    assert "code" in _login_at(rp, ACR_ELICENSE, claims=claims, prompt="login")
    assert "code" in _login_at(rp, ACR_FACE_ACTIVE, claims=claims, prompt="login")
    assert _login_at(rp, ACR_FACE, claims=claims, prompt="login")["error"] == "access_denied"


def test_the_chooser_offers_only_methods_of_the_essential_type(rp):
    resp = rp.authorize(claims=essential(ACR_FACE_ACTIVE))
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    chooser = rp.browser.get(f"/login/{txn}").get_data(as_text=True)
    assert f"/login/{txn}/person" in chooser and f"/login/{txn}/enterprise" not in chooser
    resp = rp.authorize(claims=essential(ACR_ELICENSE))
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    chooser = rp.browser.get(f"/login/{txn}").get_data(as_text=True)
    assert f"/login/{txn}/enterprise" in chooser and f"/login/{txn}/person" not in chooser


def test_mixed_voluntary_values_accept_either_type_and_reuse_either_session(rp):
    values = f"{ACR_ELICENSE} {ACR_FACE}"
    first = _login_at(rp, ACR_ELICENSE, acr_values=values)
    assert "code" in first
    assert not _goes_to_login(rp.authorize(acr_values=values))  # the company session answers
    claims = rp.verify(rp.token(rp.login(acr_values=values)["code"]).get_json()["id_token"])
    assert claims["acr"] == ACR_ELICENSE


def test_an_essential_acr_is_answered_with_a_requested_value(rp):
    # OIDC Core 5.5.1.1: the acr returned matches one of the essential values; a face-active
    # login meets a request for face and is stated as face (amr still says what was done)
    rp.login(acr=ACR_FACE_ACTIVE)
    code = rp.login(claims=essential(ACR_FACE))["code"]
    claims = rp.verify(rp.token(code).get_json()["id_token"])
    assert claims["acr"] == ACR_FACE
    both = rp.verify(rp.token(rp.login(claims=essential(ACR_FACE, ACR_FACE_ACTIVE))["code"])
                     .get_json()["id_token"])
    assert both["acr"] == ACR_FACE_ACTIVE
    plain = rp.verify(rp.token(rp.login()["code"]).get_json()["id_token"])
    assert plain["acr"] == ACR_FACE_ACTIVE  # no essential request: the acr reached
