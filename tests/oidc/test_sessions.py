"""SSO sessions, re-authentication, step-up and consent (OIDC Core sections 3.1.2.1-3.1.2.4)."""
from __future__ import annotations

import json
import time

import pytest

from tests.oidc.rp import RP, csrf_from, query

FACE = "urn:idp:acr:person:face"
FACE_ACTIVE = "urn:idp:acr:person:face-active"
ESSENTIAL_FACE_ACTIVE = json.dumps({"id_token": {"acr": {"essential": True, "values": [FACE_ACTIVE]}}})


@pytest.fixture
def rp(app, client):
    return RP(app, client)


def _goes_to_login(resp) -> bool:
    assert resp.status_code == 302
    location = resp.headers["Location"]
    return location.startswith("/login/") and not location.endswith("/consent")


def _id_token(rp, **params) -> dict:
    return rp.verify(rp.tokens(**params)["id_token"])


def test_session_is_reused_without_login(rp):
    first = _id_token(rp)
    assert not _goes_to_login(rp.authorize())
    again = _id_token(rp)
    assert again["auth_time"] == first["auth_time"] and again["sid"] == first["sid"]


def test_session_cookie_flags(rp, client):
    rp.login()
    cookie = client.get_cookie("idp_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure  # local http issuer; https issuers get Secure (DESIGN section 4)


def test_max_age_zero_forces_a_new_login(rp):
    first = _id_token(rp)
    time.sleep(1.05)
    assert _goes_to_login(rp.authorize(max_age="0"))
    second = _id_token(rp, max_age="0")
    assert second["auth_time"] > first["auth_time"]
    assert second["sid"] == first["sid"]  # same user: the session is extended, not replaced


def test_max_age_satisfied_by_a_recent_login(rp):
    _id_token(rp)
    assert not _goes_to_login(rp.authorize(max_age="3600"))


def test_prompt_login_forces_a_new_login(rp):
    first = _id_token(rp)
    time.sleep(1.05)
    assert _goes_to_login(rp.authorize(prompt="login"))
    assert _id_token(rp, prompt="login")["auth_time"] > first["auth_time"]


def test_essential_acr_steps_up(rp):
    first = _id_token(rp)
    assert first["acr"] == FACE
    assert _goes_to_login(rp.authorize(claims=ESSENTIAL_FACE_ACTIVE))
    stepped = _id_token(rp, claims=ESSENTIAL_FACE_ACTIVE, acr=FACE_ACTIVE)
    assert stepped["acr"] == FACE_ACTIVE and stepped["sid"] == first["sid"]
    # the session now satisfies face-active requests and still face ones
    assert not _goes_to_login(rp.authorize(claims=ESSENTIAL_FACE_ACTIVE))
    assert _id_token(rp)["acr"] == FACE_ACTIVE


def test_login_below_the_essential_acr_is_denied(rp):
    resp = rp.authorize(claims=ESSENTIAL_FACE_ACTIVE)
    txn = resp.headers["Location"].rsplit("/", 1)[1]
    token = csrf_from(rp.browser.get(f"/login/{txn}").get_data(as_text=True))
    done = rp.browser.post(f"/login/{txn}/test", data={"user": "alice", "acr": FACE},
                           headers={"X-CSRF-Token": token})
    params = query(done.get_json()["redirect"])
    assert params["error"] == "access_denied" and params["state"] == rp.last["state"]


def test_voluntary_acr_values_step_up_too(rp):
    _id_token(rp)
    assert _goes_to_login(rp.authorize(acr_values=FACE_ACTIVE))
    assert _id_token(rp, acr_values=FACE_ACTIVE, acr=FACE_ACTIVE)["acr"] == FACE_ACTIVE


def test_voluntary_acr_values_accept_a_lower_login(rp):
    # acr_values is voluntary (OIDC Core 3.1.2.1): a login below it is not access_denied
    claims = _id_token(rp, acr_values=FACE_ACTIVE, acr=FACE)
    assert claims["acr"] == FACE


def test_voluntary_acr_values_are_not_refused(rp):
    # a voluntary request for something we cannot do is not an error (OIDC Core 3.1.2.1)
    assert _id_token(rp, acr_values="urn:other:loa:4")["acr"] == FACE


# -- consent ---------------------------------------------------------------------------------
def _asks_consent(resp) -> bool:
    return resp.status_code == 302 and resp.headers["Location"].endswith("/consent")


def test_consent_is_remembered_per_client_and_scopes(app, client, rp):
    rp.login(scope="openid")
    assert not _asks_consent(rp.authorize(scope="openid"))
    assert _asks_consent(rp.authorize(scope="openid profile"))  # a new scope
    rp.login(scope="openid profile")
    assert not _asks_consent(rp.authorize(scope="openid profile"))
    assert not _asks_consent(rp.authorize(scope="openid"))  # a subset
    other = RP(app, client)  # another client: its own consent
    assert _asks_consent(other.authorize(scope="openid"))


def test_prompt_consent_asks_again(rp):
    rp.login()
    assert _asks_consent(rp.authorize(prompt="consent"))
    assert "code" in rp.login(prompt="consent")


@pytest.mark.parametrize("action", ["deny", "cancel"])
def test_deny_or_cancel_is_access_denied(rp, action):
    resp = rp.authorize()
    txn = resp.headers["Location"].rsplit("/", 1)[1]
    page = rp.browser.get(f"/login/{txn}").get_data(as_text=True)
    token = csrf_from(page)
    if action == "cancel":
        resp = rp.browser.post(f"/login/{txn}/cancel", data={"csrf_token": token})
        description = "the user cancelled the login"
    else:
        done = rp.browser.post(f"/login/{txn}/test", data={"user": "alice"},
                               headers={"X-CSRF-Token": token})
        path = done.get_json()["redirect"].replace(rp.issuer, "")
        token = csrf_from(rp.browser.get(path).get_data(as_text=True))
        resp = rp.browser.post(path, data={"decision": "deny", "csrf_token": token})
        description = "the user denied the request"
    assert resp.status_code == 302
    assert query(resp.headers["Location"]) == {
        "error": "access_denied", "error_description": description,
        "state": rp.last["state"], "iss": rp.issuer}
    # the transaction is gone: a second answer cannot produce a code
    again = rp.browser.post(f"/login/{txn}/cancel", data={"csrf_token": token})
    assert again.status_code == 400


def test_consent_page_needs_csrf(rp):
    resp = rp.authorize()
    txn = resp.headers["Location"].rsplit("/", 1)[1]
    token = csrf_from(rp.browser.get(f"/login/{txn}").get_data(as_text=True))
    done = rp.browser.post(f"/login/{txn}/test", data={"user": "alice"},
                           headers={"X-CSRF-Token": token})
    path = done.get_json()["redirect"].replace(rp.issuer, "")
    resp = rp.browser.post(path, data={"decision": "allow"})
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_consent_of_another_browser_is_refused(app, rp):
    resp = rp.authorize()
    txn = resp.headers["Location"].rsplit("/", 1)[1]
    token = csrf_from(rp.browser.get(f"/login/{txn}").get_data(as_text=True))
    done = rp.browser.post(f"/login/{txn}/test", data={"user": "alice"},
                           headers={"X-CSRF-Token": token})
    path = done.get_json()["redirect"].replace(rp.issuer, "")
    stranger = app.test_client()
    page = stranger.get(path)
    assert page.status_code == 403


def test_login_as_another_user_replaces_the_session(rp):
    alice = _id_token(rp, user="alice")
    bob = _id_token(rp, user="bob", prompt="login")
    assert bob["sub"] != alice["sub"] and bob["sid"] != alice["sid"]
    assert _id_token(rp)["sub"] == bob["sub"]


def test_another_user_logging_in_ends_the_previous_session_everywhere(app, client):
    from tests.oidc.httpserver import LocalServer
    with LocalServer() as server:
        rp = RP(app, client, backchannel_logout_uri=server.url + "/bcl")
        alice = rp.tokens(user="alice")
        alice_sid = rp.verify(alice["id_token"])["sid"]
        rp.tokens(user="bob", prompt="login")
        app.extensions["idp"].backchannel.flush()
        assert len(server.posts) == 1  # alice's relying party hears that her session ended
    assert rp.refresh(alice["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.introspect(alice["access_token"]) == {"active": False}
    assert app.extensions["idp"].provider.sessions.ended(alice_sid)


def test_ui_locales_also_applies_to_the_consent_page(rp, client):
    resp = rp.authorize(ui_locales="en")
    txn = resp.headers["Location"].rsplit("/", 1)[1]
    token = csrf_from(client.get(f"/login/{txn}").get_data(as_text=True))
    done = client.post(f"/login/{txn}/test", data={"user": "alice"}, headers={"X-CSRF-Token": token})
    page = client.get(done.get_json()["redirect"].replace(rp.issuer, ""))
    assert "Authorise access" in page.get_data(as_text=True)


def test_https_issuer_sets_secure_cookies(make_app):
    app = make_app(issuer="https://id.example.gov")
    client = app.test_client()
    rp = RP(app, client)
    client.get(rp.authorize().headers["Location"], base_url="https://id.example.gov")
    assert client.get_cookie("idp_csrf", domain="id.example.gov").secure
    rp.login()
    cookie = client.get_cookie("idp_session")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
