"""POST /login/{txn}/person/frames: input bounds and single-use, bound sessions."""
import base64
import io
import time

import pytest

from .conftest import JPEG, Browser, frame

PNG = b"\x89PNG\r\n\x1a\n"


def test_frames_json_base64_and_data_urls(browser):
    ch = browser.challenge()
    frames = [base64.b64encode(frame("live:1", 0)).decode(),
              "data:image/jpeg;base64," + base64.b64encode(frame("live:1", 1)).decode()]
    resp = browser.client.post(f"/login/{browser.txn}/person/frames",
                               json={"session": ch["session"], "nonce": ch["nonce"], "frames": frames},
                               headers={"X-CSRF-Token": browser.csrf})
    assert resp.status_code == 200 and resp.get_json()["ok"] is True


def test_png_frames_are_accepted(browser):
    resp = browser.send(browser.challenge(), [PNG + b"live:1#0"])
    # the fake engine reads the JPEG-sized prefix: what matters is that PNG passed the gate
    assert resp.status_code in (200, 403) and "ok" in resp.get_json()


def _post(browser, **kwargs):
    return browser.client.post(f"/login/{browser.txn}/person/frames",
                               headers={"X-CSRF-Token": browser.csrf}, **kwargs)


CASES = [
    ("text/plain", {"data": "frames=1", "content_type": "text/plain"}, 415),
    ("urlencoded-form", {"data": {"session": "x", "nonce": "y"}}, 415),
    ("json-not-object", {"data": "[]", "content_type": "application/json"}, 400),
    ("json-frames-not-list", {"json": {"session": "x", "nonce": "y", "frames": "abc"}}, 400),
    ("json-bad-base64", {"json": {"session": "x", "nonce": "y", "frames": ["%%%"]}}, 400),
    ("json-frame-not-string", {"json": {"session": "x", "nonce": "y", "frames": [1]}}, 400),
]


@pytest.mark.parametrize("name,kwargs,status", CASES, ids=[c[0] for c in CASES])
def test_malformed_requests(browser, name, kwargs, status):
    resp = _post(browser, **kwargs)
    assert resp.status_code == status
    body = resp.get_json()
    assert body["error"] == "invalid_request" and body["error_description"]


def test_no_frames(browser):
    ch = browser.challenge()
    resp = _post(browser, data={"session": ch["session"], "nonce": ch["nonce"]},
                 content_type="multipart/form-data")
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "invalid_request",
                               "error_description": "no frames were sent (field frames)"}


def test_too_many_frames(browser):
    resp = browser.send(browser.challenge(), [frame("live:1", i) for i in range(13)])
    assert resp.status_code == 413
    assert resp.get_json() == {"error": "invalid_request",
                               "error_description": "at most 12 frames per session"}


def test_too_large_frame(browser):
    big = JPEG + b"0" * (2 * 1024 * 1024)
    resp = browser.send(browser.challenge(), [big])
    assert resp.status_code == 413
    assert "frame 0 is larger than" in resp.get_json()["error_description"]


def test_body_over_the_upload_limit(person_app):
    app = person_app(max_upload_bytes=64 * 1024)
    b = Browser(app)
    resp = b.send(b.challenge(), [JPEG + b"1" * 40_000, JPEG + b"2" * 40_000])
    assert resp.status_code == 413 and resp.get_json()["error"] == "invalid_request"


def test_upload_limit_not_the_small_body_limit(person_app):
    app = person_app(max_body_bytes=10_000)
    b = Browser(app)
    resp = b.send(b.challenge(), [frame("live:1") + b"0" * 50_000])
    assert resp.status_code == 200


@pytest.mark.parametrize("data", [b"GIF89a....", b"<html>", b"", b"\x00" * 100])
def test_non_images_are_refused(browser, data):
    resp = browser.send(browser.challenge(), [frame("live:1"), data])
    assert resp.status_code == 415
    assert resp.get_json()["error_description"] == "frame 1 is not a JPEG or PNG image"


def test_frames_need_csrf(browser):
    ch = browser.challenge()
    resp = browser.client.post(f"/login/{browser.txn}/person/frames",
                               data={"session": ch["session"], "nonce": ch["nonce"],
                                     "frames": [(io.BytesIO(frame()), "a.jpg")]},
                               content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf_failed"


INVALID_SESSION = {"error": "invalid_session", "error_description":
                   "The liveness session is unknown, expired, already used or belongs to another login; start again."}


def test_sessions_are_single_use(browser):
    ch = browser.challenge()
    first = browser.send(ch, [frame("spoof")])
    assert first.status_code == 403
    again = browser.send(ch, [frame("live:1", 9)])
    assert again.status_code == 400 and again.get_json() == INVALID_SESSION


def test_success_cannot_be_replayed_either(browser):
    ch = browser.challenge()
    assert browser.send(ch, [frame("live:1", 1)]).status_code == 200
    assert browser.send(ch, [frame("live:1", 2)]).get_json() == INVALID_SESSION


def test_session_is_bound_to_its_transaction(app):
    a = Browser(app)
    b = Browser(app, client=a.client, rp=a.rp)  # same browser, a second login transaction
    ch = a.challenge()
    resp = b.send(ch, [frame("live:1")])
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION
    # another owner's attempt changes nothing: the rightful transaction still uses it
    assert a.send(ch, [frame("live:1")]).get_json()["ok"] is True


def test_session_is_bound_to_its_nonce(browser):
    ch = browser.challenge()
    resp = browser.send({**ch, "nonce": "x" * 32}, [frame("live:1")])
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION
    assert browser.send(ch, [frame("live:1")]).get_json() == INVALID_SESSION


@pytest.mark.parametrize("session", ["", "short", "x" * 200, "../../etc", "a" * 32])
def test_unknown_sessions(browser, session):
    resp = browser.send({"session": session, "nonce": "n" * 32}, [frame("live:1")])
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION


def test_expired_sessions(person_app):
    app = person_app(liveness_session_ttl=1)
    b = Browser(app)
    ch = b.challenge()
    time.sleep(2.1)
    resp = b.send(ch, [frame("live:1")])
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION


def test_uploads_stay_in_memory(browser, monkeypatch):
    """Frames larger than werkzeug's 500 kB spooling threshold never touch a temporary file."""
    import werkzeug.formparser

    def no_disk(*args, **kwargs):
        raise AssertionError("a frame was spooled to a temporary file")

    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", no_disk)
    big = frame("live:1") + b"0" * 900_000
    resp = browser.send(browser.challenge(), [big, frame("live:1", 2)])
    assert resp.status_code == 200
