"""No existence oracle, attempt limits, lockout, and fail-closed on a store outage."""
import time

import pytest

from idp.errors import StoreUnavailable

from .conftest import ID, NAME, Browser, frame, make_number

OTHER = make_number("31010119800101001")  # valid, not registered
FAILED = {"ok": False, "reason": "login_failed", "redirect": None}


def _ip(ip):
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_no_existence_oracle(app):
    engine = app.extensions["idp"].services["person"].engine
    cases = {"registered, other face": (ID, NAME, "live:2"),
             "unknown ID number": (OTHER, NAME, "live:1"),
             "wrong name": (ID, "李四", "live:1")}
    starts, answers = {}, {}
    for label, (number, name, face) in cases.items():
        b = Browser(app)
        resp = b.start(id_number=number, name=name)
        body = resp.get_json()
        starts[label] = (resp.status_code, tuple(sorted(body)), tuple(body["actions"]), body["expires_in"],
                         len(body["session"]), len(body["nonce"]), resp.headers["Content-Length"])
        out = b.send(body, [frame(face, 0), frame(face, 1)])
        answers[label] = (out.status_code, out.get_json(), out.headers["Content-Length"])
    assert len(set(starts.values())) == 1, starts
    assert len({repr(a) for a in answers.values()}) == 1, answers
    assert answers["wrong name"][:2] == (403, FAILED)
    # every attempt was compared with some reference: the same work for all three
    assert all(call["reference"] is not None for call in engine.calls)


def test_capture_problems_are_told_as_they_are(browser):
    resp = browser.send(browser.challenge(), [frame("no_face")])
    assert resp.status_code == 403
    assert resp.get_json() == {"ok": False, "reason": "no_face", "redirect": None}


def test_spoof_is_a_generic_failure(browser):
    resp = browser.send(browser.challenge(), [frame("spoof")])
    assert resp.get_json() == FAILED


@pytest.fixture
def limited(person_app):
    return person_app(attempt_limit=3, lockout_seconds=60)


def _fail(app, number=ID, ip="10.0.0.1", kind="spoof"):
    b = Browser(app)
    resp = b.send(b.challenge(id_number=number, **_ip(ip)), [frame(kind)], **_ip(ip))
    assert resp.status_code == 403
    return b


def test_failures_lock_the_id_number(limited):
    for i in range(3):
        _fail(limited, ip=f"10.0.0.{i + 1}")  # three IPs: only the ID number's count reaches 3
    b = Browser(limited)
    resp = b.start(**_ip("10.9.9.9"))
    assert resp.status_code == 429
    assert resp.get_json()["error"] == "too_many_requests"
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    # the lock is about that number, not about this IP
    assert b.start(id_number=OTHER, **_ip("10.9.9.9")).status_code == 200


def test_failures_lock_the_client_ip(limited):
    numbers = [make_number(f"3101011980010100{i}") for i in range(4)]
    for number in numbers[:3]:
        _fail(limited, number=number, ip="10.1.1.1")
    b = Browser(limited)
    assert b.start(id_number=numbers[3], **_ip("10.1.1.1")).status_code == 429
    assert b.start(id_number=numbers[3], **_ip("10.1.1.2")).status_code == 200


def test_a_locked_key_also_stops_pending_sessions(limited):
    b = Browser(limited)
    ch = b.challenge(**_ip("10.2.2.2"))
    for i in range(3):
        _fail(limited, ip=f"10.3.3.{i}")
    resp = b.send(ch, [frame("live:1")], **_ip("10.2.2.2"))
    assert resp.status_code == 429


def test_capture_problems_do_not_count(limited):
    for _ in range(4):
        _fail(limited, kind="no_face")
    assert Browser(limited).start().status_code == 200


def test_success_clears_the_id_number_count(limited):
    _fail(limited)
    _fail(limited)
    Browser(limited).login()
    _fail(limited, ip="10.0.0.5")
    _fail(limited, ip="10.0.0.5")
    assert Browser(limited).start(**_ip("10.0.0.6")).status_code == 200


def test_lockout_ends(person_app):
    app = person_app(attempt_limit=2, lockout_seconds=1)
    _fail(app)
    _fail(app)
    assert Browser(app).start().status_code == 429
    time.sleep(2.1)
    assert Browser(app).start().status_code == 200


def _outage(monkeypatch, store, names):
    def down(*args, **kwargs):
        raise StoreUnavailable()
    for name in names:
        monkeypatch.setattr(store, name, down)


UNAVAILABLE = {"error": "temporarily_unavailable",
               "error_description": "The short-lived store (Redis or SQL) does not answer."}


@pytest.mark.parametrize("names", [("ttl",), ("get", "put", "take", "add", "incr", "delete", "ttl")])
def test_start_fails_closed_when_the_store_is_down(app, monkeypatch, names):
    b = Browser(app)
    _outage(monkeypatch, app.extensions["idp"].store, names)
    resp = b.start()
    assert resp.status_code == 503 and resp.get_json() == UNAVAILABLE


def test_failure_count_fails_closed(app, monkeypatch):
    b = Browser(app)
    ch = b.challenge()
    _outage(monkeypatch, app.extensions["idp"].store, ("incr",))
    resp = b.send(ch, [frame("spoof")])
    assert resp.status_code == 503 and resp.get_json() == UNAVAILABLE


def test_frames_fail_closed_when_the_store_is_down(app, monkeypatch):
    b = Browser(app)
    ch = b.challenge()
    _outage(monkeypatch, app.extensions["idp"].store, ("take",))
    resp = b.send(ch, [frame("live:1")])
    assert resp.status_code == 503 and resp.get_json() == UNAVAILABLE
