"""POST /login/{txn}/person/frames: the clip formats, their bounds, the time bounds, and
single-use, bound sessions."""
import base64
import io
import json
import time

import pytest

from .conftest import CLIP_MS, JPEG, Browser, frame, frames, times, video

PNG = b"\x89PNG\r\n\x1a\n"


def _post(browser, **kwargs):
    return browser.client.post(f"/login/{browser.txn}/person/frames",
                               headers={"X-CSRF-Token": browser.csrf}, **kwargs)


def _advance(browser, seconds=CLIP_MS / 1000 + 0.5):
    browser.app.extensions["idp"].services["person"].sessions.clock.advance(seconds)


def test_multipart_frames_with_times(browser):
    resp = browser.send(browser.challenge())
    assert resp.status_code == 200 and resp.get_json()["ok"] is True
    call = browser.app.extensions["idp"].services["person"].engine.calls[-1]
    assert call["frames"] == 30 and call["duration_ms"] == CLIP_MS
    assert call["actions"] == ["turn_either", "move_closer"]


def test_multipart_video(browser):
    resp = browser.send(browser.challenge(), clip=video("live:1"))
    assert resp.status_code == 200 and resp.get_json()["ok"] is True


def test_webm_is_accepted(browser):
    webm = b"\x1a\x45\xdf\xa3" + b"\x00" * 8  # EBML magic; the fake engine cannot decode it
    resp = browser.send(browser.challenge(), clip=webm)
    assert resp.status_code == 400 and resp.get_json()["reason"] == "bad_clip"


def test_json_frames_and_data_urls(browser):
    ch = browser.challenge()
    items = [{"t": t, "data": base64.b64encode(f).decode()}
             for t, f in zip(times(20), frames(count=20))]
    items[1]["data"] = "data:image/jpeg;base64," + items[1]["data"]
    _advance(browser)
    resp = _post(browser, json={"session": ch["session"], "nonce": ch["nonce"], "frames": items})
    assert resp.status_code == 200 and resp.get_json()["ok"] is True


def test_json_video(browser):
    ch = browser.challenge()
    _advance(browser)
    resp = _post(browser, json={"session": ch["session"], "nonce": ch["nonce"],
                                "clip": base64.b64encode(video()).decode()})
    assert resp.status_code == 200 and resp.get_json()["ok"] is True


def test_png_frames_are_accepted(browser):
    resp = browser.send(browser.challenge(), [PNG + f"live:1#{i}".encode() for i in range(5)])
    # the fake engine reads the JPEG-sized prefix: what matters is that PNG passed the gate
    assert resp.status_code in (200, 403) and "ok" in resp.get_json()


def test_a_single_still_is_refused(browser):
    resp = browser.send(browser.challenge(), [frame("live:1")])
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["reason"] == "clip_too_short" and "single still" in body["error_description"]


def test_frames_without_times_are_refused(browser):
    """The old upload (frames only) is a handful of stills: refused with a reason."""
    ch = browser.challenge()
    data = {"session": ch["session"], "nonce": ch["nonce"],
            "frames": [(io.BytesIO(f), "f.jpg") for f in frames(count=5)]}
    resp = _post(browser, data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["reason"] == "times_required"
    json_frames = [base64.b64encode(f).decode() for f in frames(count=5)]
    resp = _post(browser, json={"session": ch["session"], "nonce": ch["nonce"],
                                "frames": json_frames})
    assert resp.status_code == 400 and resp.get_json()["reason"] == "times_required"


CASES = [
    ("text/plain", {"data": "frames=1", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ("urlencoded-form", {"data": {"session": "x", "nonce": "y"}}, 415, "unsupported_media_type"),
    ("json-not-object", {"data": "[]", "content_type": "application/json"}, 400, None),
    ("json-frames-not-list", {"json": {"session": "x", "nonce": "y", "frames": "abc"}}, 400, "bad_clip"),
    ("json-bad-base64", {"json": {"session": "x", "nonce": "y",
                                  "frames": [{"t": 0, "data": "%%%"}, {"t": 3000, "data": "%%"}]}},
     400, "bad_clip"),
    ("json-t-not-number", {"json": {"session": "x", "nonce": "y",
                                    "frames": [{"t": "0", "data": ""}, {"t": 1, "data": ""}]}},
     400, "bad_timestamps"),
    ("json-clip-and-frames", {"json": {"clip": "", "frames": []}}, 400, "bad_clip"),
    ("json-nothing", {"json": {"session": "x"}}, 400, "no_clip"),
]


@pytest.mark.parametrize("name,kwargs,status,reason", CASES, ids=[c[0] for c in CASES])
def test_malformed_requests(browser, name, kwargs, status, reason):
    resp = _post(browser, **kwargs)
    assert resp.status_code == status
    body = resp.get_json()
    assert body["error"] == "invalid_request" and body["error_description"]
    assert body.get("reason") == reason


def test_no_clip(browser):
    ch = browser.challenge()
    resp = _post(browser, data={"session": ch["session"], "nonce": ch["nonce"]},
                 content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["reason"] == "no_clip"


@pytest.mark.parametrize("bad,reason", [
    ("[1, 2]", "bad_timestamps"),                       # not one per frame
    ("not json", "bad_timestamps"),
    (json.dumps([0, 100, 100, 3000]), "bad_timestamps"),  # not strictly increasing
    (json.dumps([0, 100, None, 3000]), "bad_timestamps"),
    (json.dumps([0, 100, 200, 20000]), "clip_too_long"),
    (json.dumps([0, 100, 200, 300]), "clip_too_short"),
])
def test_bad_times(browser, bad, reason):
    ch = browser.challenge()
    data = {"session": ch["session"], "nonce": ch["nonce"], "times": bad,
            "frames": [(io.BytesIO(f), "f.jpg") for f in frames(count=4)]}
    resp = _post(browser, data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["reason"] == reason


def test_too_many_frames(browser):
    resp = browser.send(browser.challenge(), frames(count=181))
    assert resp.status_code == 413 and resp.get_json()["reason"] == "too_many_frames"


def test_frames_too_large_together(person_app):
    app = person_app(clip_max_bytes=100_000, max_upload_bytes=1_000_000)
    b = Browser(app)
    big = [frame("live:1", i) + b"0" * 30_000 for i in range(4)]
    resp = b.send(b.challenge(), big)
    assert resp.status_code == 413 and resp.get_json()["reason"] == "clip_too_large"


def test_video_too_large(person_app):
    app = person_app(clip_max_bytes=100_000, max_upload_bytes=1_000_000)
    b = Browser(app)
    resp = b.send(b.challenge(), clip=video() + b"0" * 100_000)
    assert resp.status_code == 413 and resp.get_json()["reason"] == "clip_too_large"


def test_body_over_the_upload_limit(person_app):
    app = person_app(clip_max_bytes=40_000, max_upload_bytes=120_000)
    b = Browser(app)
    resp = b.send(b.challenge(), [JPEG + b"1" * 70_000, JPEG + b"2" * 70_000])
    assert resp.status_code == 413 and resp.get_json()["error"] == "invalid_request"


def test_upload_limit_not_the_small_body_limit(person_app):
    app = person_app(max_body_bytes=10_000)
    b = Browser(app)
    resp = b.send(b.challenge(), [f + b"0" * 5_000 for f in frames(count=10)])
    assert resp.status_code == 200


@pytest.mark.parametrize("data", [b"GIF89a....", b"<html>", b"", b"\x00" * 100])
def test_non_images_are_refused(browser, data):
    resp = browser.send(browser.challenge(), [frame("live:1"), data, frame("live:1", 2)])
    assert resp.status_code == 415 and resp.get_json()["reason"] == "unsupported_format"
    assert resp.get_json()["error_description"] == "frame 1 is not a JPEG or PNG image"


@pytest.mark.parametrize("data", [b"GIF89a....", b"RIFF\x00\x00\x00\x00AVI ", b"\x00" * 100])
def test_non_videos_are_refused(browser, data):
    resp = browser.send(browser.challenge(), clip=data)
    assert resp.status_code == 415 and resp.get_json()["reason"] == "unsupported_format"


def test_clip_and_frames_together_are_refused(browser):
    ch = browser.challenge()
    data = {"session": ch["session"], "nonce": ch["nonce"], "times": "[0, 3000]",
            "clip": (io.BytesIO(video()), "c.mp4"),
            "frames": [(io.BytesIO(f), "f.jpg") for f in frames(count=2)]}
    resp = _post(browser, data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["reason"] == "bad_clip"


# -- time bounds ------------------------------------------------------------------------------
def test_attack_a_clip_recorded_before_the_session(browser):
    """A 10 s clip uploaded 2 s after the session started was not captured for it."""
    ch = browser.challenge()
    _advance(browser, 2.0)
    resp = browser.send(ch, frames(count=60), times_ms=times(60, 10_000), wait=False)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["reason"] == "clip_outside_session"
    # the session is spent: the same upload cannot be tried again later
    _advance(browser, 10.0)
    again = browser.send(ch, frames(count=60), times_ms=times(60, 10_000), wait=False)
    assert again.get_json()["error"] == "invalid_session"


def test_attack_a_video_longer_than_its_session(browser):
    ch = browser.challenge()
    resp = browser.send(ch, clip=video(duration_ms=CLIP_MS), wait=False)
    assert resp.status_code == 400 and resp.get_json()["reason"] == "clip_outside_session"


def test_a_clip_that_fits_its_session_passes(browser):
    ch = browser.challenge()
    _advance(browser, CLIP_MS / 1000 + 0.05)
    assert browser.send(ch, wait=False).status_code == 200


def test_clip_refusals_are_audited(app):
    from sqlalchemy import select

    from idp.store.models import AuditEvent
    b = Browser(app)
    b.send(b.challenge(), clip=video(duration_ms=CLIP_MS), wait=False)
    with app.extensions["idp"].db.session(write=False) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.event == "liveness.check")
                          ).scalars().one()
        assert (event.outcome, event.reason) == ("failure", "clip_outside_session")
        assert event.subject == "1****************X" and event.details["upload"] == "video"


def test_frames_need_csrf(browser):
    ch = browser.challenge()
    resp = browser.client.post(f"/login/{browser.txn}/person/frames",
                               data={"session": ch["session"], "nonce": ch["nonce"],
                                     "clip": (io.BytesIO(video()), "a.mp4")},
                               content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf_failed"


INVALID_SESSION = {"error": "invalid_session", "error_description":
                   "The liveness session is unknown, expired, already used or belongs to another login; start again."}


def test_sessions_are_single_use(browser):
    ch = browser.challenge()
    first = browser.send(ch, frames("spoof"))
    assert first.status_code == 403
    again = browser.send(ch, frames("live:1"))
    assert again.status_code == 400 and again.get_json() == INVALID_SESSION


def test_success_cannot_be_replayed_either(browser):
    ch = browser.challenge()
    assert browser.send(ch).status_code == 200
    assert browser.send(ch).get_json() == INVALID_SESSION


def test_session_is_bound_to_its_transaction(app):
    a = Browser(app)
    b = Browser(app, client=a.client, rp=a.rp)  # same browser, a second login transaction
    ch = a.challenge()
    resp = b.send(ch)
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION
    # another owner's attempt changes nothing: the rightful transaction still uses it
    assert a.send(ch).get_json()["ok"] is True


def test_session_is_bound_to_its_nonce(browser):
    ch = browser.challenge()
    resp = browser.send({**ch, "nonce": "x" * 32})
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION
    assert browser.send(ch).get_json() == INVALID_SESSION


@pytest.mark.parametrize("session", ["", "short", "x" * 200, "../../etc", "a" * 32])
def test_unknown_sessions(browser, session):
    resp = browser.send({"session": session, "nonce": "n" * 32})
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION


def test_expired_sessions(person_app):
    app = person_app(liveness_session_ttl=5)
    b = Browser(app)
    ch = b.challenge()
    time.sleep(2.1)
    resp = b.send(ch)  # the capture's time passes too: past the session's lifetime
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION


def test_the_upload_must_come_within_the_session_lifetime(browser):
    """Even where the store still holds the session (its expiry is coarse), the server's
    clock decides."""
    ch = browser.challenge()
    _advance(browser, 121)
    resp = browser.send(ch, wait=False)
    assert resp.status_code == 400 and resp.get_json() == INVALID_SESSION


def test_uploads_stay_in_memory(browser, monkeypatch):
    """Clips larger than werkzeug's 500 kB spooling threshold never touch a temporary file."""
    import werkzeug.formparser

    def no_disk(*args, **kwargs):
        raise AssertionError("an upload was spooled to a temporary file")

    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", no_disk)
    big = [frame("live:1", 0) + b"0" * 900_000] + frames(count=10)[1:]
    resp = browser.send(browser.challenge(), big)
    assert resp.status_code == 200
