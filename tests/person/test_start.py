"""POST /login/{txn}/person: validation, consent, CSRF, content types, challenge shape."""
import pytest

from idp.interaction import ACR_FACE_ACTIVE

from .conftest import ID, NAME, Browser, make_number


def test_page_has_notice_consent_form_and_ways_back(browser):
    html = browser.html
    for marker in ('id="privacy-notice"', 'id="person-consent"', 'name="id_number"',
                   'name="name"', f'href="/login/{browser.txn}"', '/static/person.js',
                   'id="camera-video"', 'name="csrf-token"'):
        assert marker in html
    assert "<script>" not in html  # CSP script-src 'self': no inline scripts


def test_page_in_english(app):
    b = Browser(app, ui_locales="en")
    assert "Privacy notice" in b.html and 'lang="en"' in b.html


def test_chooser_lists_the_person_method(app):
    b = Browser(app)
    page = b.client.get(f"/login/{b.txn}").get_data(as_text=True)
    assert f'href="/login/{b.txn}/person"' in page and "刷脸登录" in page


def test_passive_challenge_shape(browser):
    resp = browser.start()
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"session", "nonce", "actions", "expires_in", "mode", "capture"}
    # face (passive) is the guided movement, the same for everyone
    assert body["actions"] == ["turn_either", "move_closer"] and body["mode"] == "passive"
    assert body["expires_in"] == 120
    assert resp.headers["Cache-Control"] == "no-store"


def test_the_challenge_carries_the_capture_plan(app):
    b = Browser(app, ui_locales="en")
    capture = b.challenge()["capture"]
    steps = capture["steps"]
    assert [s["action"] for s in steps] == ["hold", "turn_either", "move_closer"]
    assert all(s["duration_ms"] > 0 and s["hint"] for s in steps)
    assert steps[2]["hint"] == "Slowly move closer to the camera"
    assert capture["duration_ms"] >= capture["min_duration_ms"] >= 2500
    assert capture["frame_rate"] >= 12 and capture["max_duration_ms"] <= 12000
    zh = Browser(app).challenge()["capture"]["steps"][2]["hint"]
    assert zh == "请慢慢靠近摄像头"


def test_form_post_is_accepted_too(browser):
    resp = browser.client.post(f"/login/{browser.txn}/person",
                               data={"id_number": ID, "name": NAME, "consent": "on",
                                     "csrf_token": browser.csrf})
    assert resp.status_code == 200 and resp.get_json()["mode"] == "passive"


def test_active_challenge_when_face_active_is_required(app):
    b = Browser(app, acr_values=ACR_FACE_ACTIVE)
    actions = b.challenge()["actions"]
    assert 2 <= len(actions) <= 3


def test_policy_can_always_ask_for_actions(person_app):
    app = person_app(IDP_LIVENESS_MODE="active", IDP_LIVENESS_ACTIONS="3")
    app.extensions["idp"].services["person"].engine.actions = None
    b = Browser(app)
    assert len(b.challenge()["actions"]) >= 2


BAD_NUMBERS = [
    ("11010519491231002Y", "format"),
    ("1101051949123100", "format"),
    ("110105194912310021", "checksum"),
    (make_number("11010519491331002"), "birth_date"),
    (make_number("11010529991231002"), "future_birth_date"),
    (make_number("99010519491231002"), "region"),
    ("", "format"),
]


@pytest.mark.parametrize("number,reason", BAD_NUMBERS)
def test_invalid_id_numbers_are_refused_with_a_reason(browser, number, reason):
    resp = browser.start(id_number=number)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "invalid_request" and body["reason"] == reason
    assert body["error_description"]
    assert number[:10] not in body["error_description"] or not number


@pytest.mark.parametrize("name", ["", "   ", "x" * 129, "张\x00三", None, 12])
def test_invalid_names_are_refused(browser, name):
    resp = browser.start(name=name)
    assert resp.status_code == 400
    assert resp.get_json()["reason"] == "invalid_name"


@pytest.mark.parametrize("consent", [False, None, "no", ""])
def test_consent_is_required(browser, consent):
    resp = browser.start(consent=consent)
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "consent_required", "error_description":
                               "Face verification needs your explicit consent to process your face image."}


def test_csrf_token_is_required(browser):
    resp = browser.client.post(f"/login/{browser.txn}/person",
                               json={"id_number": ID, "name": NAME, "consent": True})
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf_failed"
    resp = browser.start(headers={"X-CSRF-Token": "0" * 64})
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf_failed"


def test_wrong_content_type(browser):
    resp = browser.client.post(f"/login/{browser.txn}/person", data="id_number=1",
                               content_type="text/plain", headers={"X-CSRF-Token": browser.csrf})
    assert resp.status_code == 415 and resp.get_json()["error"] == "invalid_request"


def test_json_must_be_an_object(browser):
    resp = browser.client.post(f"/login/{browser.txn}/person", data="[1, 2]",
                               content_type="application/json", headers={"X-CSRF-Token": browser.csrf})
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request"


def test_unknown_transaction(browser):
    resp = browser.client.post("/login/" + "x" * 32 + "/person", json={"id_number": ID},
                               headers={"X-CSRF-Token": browser.csrf})
    assert resp.status_code == 400 and resp.get_json()["error"] == "login_expired"


def test_full_width_and_lowercase_input_is_normalised(browser):
    resp = browser.start(id_number=ID.lower().replace("1", "１"))
    assert resp.status_code == 200
