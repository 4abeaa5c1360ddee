"""Liveness sessions of the API: create, clip, state, ownership, bounds, no oracle, limits.

The tests named ``test_attack_*`` are what an attacker with the public code would try (issue
16, item 5); each failed against the API before it was changed."""
import base64
import json
import time

import pytest

from tests.person.conftest import make_number

from .conftest import CLIP_MS, FRAMES, ID, NAME, SESSIONS, STATE, Platform, frame, frames, times, video

OTHER = make_number("31010119800101001")


def _payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_create_passive_and_active(platform, contract):
    resp = platform.open(mode="passive")
    body = contract.check(SESSIONS, "post", resp)
    assert resp.status_code == 201 and body["expires_in"] == 120
    assert body["actions"] == ["turn_either", "move_closer"] and body["mode"] == "passive"
    assert resp.headers["Location"] == f"/api/v1/liveness/sessions/{body['session']}"
    assert [s["action"] for s in body["capture"]["steps"]] == ["hold", "turn_either", "move_closer"]
    body = contract.check(SESSIONS, "post", platform.open(mode="active"))
    assert 2 <= len(body["actions"]) <= 3 and body["mode"] == "active"
    assert contract.check(SESSIONS, "post", platform.open())["mode"] == "passive"


@pytest.mark.parametrize("body,status,error", [
    ({"mode": "slow"}, 400, "invalid_request"),
    ({"id_number": ID}, 400, "invalid_request"),
    ({"name": NAME}, 400, "invalid_request"),
    ({"id_number": "110105194912310021", "name": NAME}, 400, "invalid_request"),
    ({"id_number": ID, "name": ""}, 400, "invalid_request"),
])
def test_create_refuses_bad_bodies(platform, contract, body, status, error):
    resp = platform.open(**body)
    assert contract.check(SESSIONS, "post", resp)["error"] == error
    assert resp.status_code == status


def test_create_reports_the_id_number_reason(platform, contract):
    resp = platform.open(id_number="110105194912310021", name=NAME)
    assert contract.check(SESSIONS, "post", resp)["reason"] == "checksum"


def test_create_needs_json(platform, contract):
    resp = platform.http.post("/api/v1/liveness/sessions", data="mode=passive",
                              content_type="application/x-www-form-urlencoded",
                              headers=platform.bearer())
    assert resp.status_code == 415 and contract.check(SESSIONS, "post", resp)


def test_frames_without_a_person(platform, contract):
    ch = platform.open().get_json()
    resp = platform.send(ch["session"], ch["nonce"], frames("live:1"))
    body = contract.check(FRAMES, "post", resp)
    assert body["live"] is True and body["reason"] is None and "face_match" not in body
    claims = _payload(body["assertion"])
    assert claims["aud"] == platform.client_id and claims["sub"] == ch["session"]
    assert claims["exp"] - claims["iat"] == 120 and "person" not in claims


def test_frames_with_a_matching_person(platform, contract):
    out = platform.run(id_number=ID, name=NAME)
    assert out["live"] is True and out["face_match"] is True and out["reason"] is None
    header = json.loads(base64.urlsafe_b64decode(out["assertion"].split(".")[0] + "=="))
    assert header["typ"] == "liveness+jwt" and header["kid"]
    claims = _payload(out["assertion"])
    assert set(claims) == {"iss", "aud", "sub", "jti", "iat", "exp", "live", "score",
                           "face_match", "acr", "person"}
    raw = base64.urlsafe_b64decode(out["assertion"].split(".")[1] + "==")
    for secret in (ID.encode(), ID[:17].encode(), NAME.encode(), json.dumps(NAME).encode()):
        assert secret not in raw


def test_no_existence_oracle(platform):
    outs = [platform.run(id_number=ID, name=NAME, frames=frames("live:2")),
            platform.run(id_number=OTHER, name=NAME),
            platform.run(id_number=ID, name="李四")]
    shapes = {(o["live"], o["face_match"], o["reason"], o["score"],
               tuple(sorted(_payload(o["assertion"])))) for o in outs}
    assert shapes == {(True, False, "face_mismatch", 0.99,
                       ("aud", "exp", "face_match", "iat", "iss", "jti", "live", "score", "sub"))}


def test_spoof(platform, contract):
    ch = platform.open().get_json()
    body = contract.check(FRAMES, "post", platform.send(ch["session"], ch["nonce"], frames("spoof")))
    assert body["live"] is False and body["reason"] == "not_live" and body["score"] is None


@pytest.mark.parametrize("kind", ["spoof", "planar", "replay", "face_changed"])
def test_attack_a_refusal_gives_no_score_and_no_face_match(platform, contract, kind):
    """A flat photo of the registered person: the answer must not say the face matched, nor
    how close the score came, nor which check refused it."""
    out = platform.run(id_number=ID, name=NAME, frames=frames(kind))
    contract.check(FRAMES, "post", platform.send(*_fresh(platform), frames(kind)))
    assert out["live"] is False and out["reason"] == "not_live" and out["score"] is None
    assert "face_match" not in out
    claims = _payload(out["assertion"])
    assert claims["score"] is None and "face_match" not in claims and "person" not in claims


def _fresh(platform):
    ch = platform.open().get_json()
    return ch["session"], ch["nonce"]


def test_capture_problems_are_a_hint(platform, contract):
    ch = platform.open().get_json()
    body = contract.check(FRAMES, "post", platform.send(ch["session"], ch["nonce"],
                                                        frames("no_face")))
    assert body["reason"] == "try_again" and body["hint"] == "no_face" and body["score"] is None


def test_refusals_are_audited_in_full_with_the_number_masked(app, platform):
    from sqlalchemy import select

    from idp.store.models import AuditEvent
    platform.run(id_number=ID, name=NAME, frames=frames("planar"))
    with app.extensions["idp"].db.session(write=False) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.event == "liveness.session",
                                                   AuditEvent.outcome == "failure")).scalars().one()
        assert event.reason == "planar" and event.subject == "1****************X"
        details = dict(event.details)
    assert details["answered"] == "not_live" and details["score"] == 0.97
    assert details["similarity"] == 0.9 and details["presence"]["scores"]["residual"] == 0.07
    assert ID not in json.dumps(details)


def test_sessions_are_single_use(platform, contract):
    ch = platform.open().get_json()
    assert platform.send(ch["session"], ch["nonce"], frames("live:1")).status_code == 200
    resp = platform.send(ch["session"], ch["nonce"], frames("live:1"))
    assert resp.status_code == 400
    assert contract.check(FRAMES, "post", resp)["error"] == "invalid_session"


def test_sessions_belong_to_their_client(app, platform, contract):
    ch = platform.open().get_json()
    intruder = Platform(app)
    assert intruder.state(ch["session"]).status_code == 404
    resp = intruder.send(ch["session"], ch["nonce"], frames("live:1"))
    assert contract.check(FRAMES, "post", resp)["error"] == "invalid_session"
    # the intruder learnt nothing and changed nothing: the session is still its owner's
    state = platform.state(ch["session"]).get_json()
    assert state["state"] == "pending" and "result" not in state
    done = platform.send(ch["session"], ch["nonce"], frames("live:1"))
    assert done.status_code == 200 and done.get_json()["live"] is True


def test_wrong_nonce(platform):
    ch = platform.open().get_json()
    assert platform.send(ch["session"], "n" * 32).status_code == 400


def test_state(platform, contract):
    ch = platform.open(id_number=ID, name=NAME, mode="active").get_json()
    pending = contract.check(STATE, "get", platform.state(ch["session"]))
    assert pending["state"] == "pending" and pending["actions"] == ch["actions"]
    platform.send(ch["session"], ch["nonce"], frames("live:1"))
    done = contract.check(STATE, "get", platform.state(ch["session"]))
    assert done["state"] == "completed"
    assert done["result"] == {"live": True, "score": 0.99, "reason": None, "face_match": True}
    resp = platform.state("x" * 32)
    assert resp.status_code == 404 and contract.check(STATE, "get", resp)


def test_state_of_an_expired_session(person_app, contract):
    app = person_app(liveness_session_ttl=1)
    platform = Platform(app)
    ch = platform.open().get_json()
    time.sleep(1.5)
    assert platform.state(ch["session"]).get_json()["state"] == "expired"
    assert platform.send(ch["session"], ch["nonce"], frames("live:1")).status_code == 400


@pytest.mark.parametrize("upload,status,reason", [
    ({"images": frames(count=181)}, 413, "too_many_frames"),
    ({"images": [frame("live:1"), b"GIF89a", frame("live:1", 2)]}, 415, "unsupported_format"),
    ({"images": [frame("live:1")]}, 400, "clip_too_short"),
    ({"images": frames(count=3), "times_ms": [0, 1, 20_000]}, 400, "clip_too_long"),
    ({"clip": b"\xff\xd8\xff" + b"0" * 100}, 415, "unsupported_format"),
    ({"clip": b"\x1a\x45\xdf\xa3" + b"0" * (8 * 1024 * 1024)}, 413, "clip_too_large"),
    ({"clip": video(duration_ms=60_000)}, 400, "clip_outside_session"),
])
def test_clip_bounds(platform, contract, upload, status, reason):
    ch = platform.open().get_json()
    resp = platform.send(ch["session"], ch["nonce"], **upload)
    body = contract.check(FRAMES, "post", resp)
    assert resp.status_code == status and body["reason"] == reason


def test_an_h264_mp4_recording_is_accepted(platform, contract):
    ch = platform.open().get_json()
    resp = platform.send(ch["session"], ch["nonce"], clip=video("live:1"))
    assert resp.status_code == 200 and contract.check(FRAMES, "post", resp)["live"] is True


def test_frames_as_json_or_nothing(platform, contract):
    ch = platform.open().get_json()
    resp = platform.http.post(f"/api/v1/liveness/sessions/{ch['session']}/frames",
                              data="x", content_type="text/plain", headers=platform.bearer())
    assert resp.status_code == 415 and contract.check(FRAMES, "post", resp)


def test_attempts_lock_the_id_number(make_app, contract):
    from tests.person.conftest import Clock, FakeEngine, template
    app = make_app(attempt_limit=2, attempt_limit_id=4)
    state = app.extensions["idp"]
    state.services["person"].engine = FakeEngine()
    state.services["person"].sessions.clock = Clock()
    state.services["registry"].enrol(ID, NAME, template(1), "test")
    platform = Platform(app)
    for _ in range(2):
        platform.run(id_number=ID, name=NAME, frames=frames("live:2"))
    resp = platform.open(id_number=ID, name=NAME)
    assert resp.status_code == 429 and contract.check(SESSIONS, "post", resp)
    assert resp.headers["Retry-After"]
    # another platform: its own (number, client) count, up to the number's ceiling
    other = Platform(app)
    assert other.open(id_number=ID, name=NAME).status_code == 201
    assert other.open(id_number=ID, name=NAME).status_code == 429


def test_attack_anonymous_sessions_are_limited_per_client(person_app, contract):
    """Without an ID number the API was an unlimited oracle to tune a spoof against."""
    app = person_app(api_anon_limit=5)
    platform = Platform(app)
    answers = [platform.open().status_code for _ in range(8)]
    assert answers == [201] * 5 + [429] * 3
    resp = platform.open()
    assert contract.check(SESSIONS, "post", resp)["error"] == "too_many_requests"
    from sqlalchemy import select

    from idp.store.models import AuditEvent
    with app.extensions["idp"].db.session(write=False) as s:
        reasons = [e.reason for e in s.execute(select(AuditEvent).where(
            AuditEvent.event == "liveness.session", AuditEvent.outcome == "failure")).scalars()]
    assert reasons == ["locked_out"] * 4


def test_attack_anonymous_sessions_are_limited_per_ip(person_app):
    """... nor can the attacker register client after client behind one address."""
    app = person_app(api_anon_limit=4)
    platforms = [Platform(app) for _ in range(6)]  # kept: Platform names its client by id()
    answers = [p.open().status_code for p in platforms]
    assert answers == [201] * 4 + [429] * 2
    elsewhere = Platform(app)
    resp = elsewhere.http.post("/api/v1/liveness/sessions", json={}, headers=elsewhere.bearer(),
                               environ_base={"REMOTE_ADDR": "10.8.8.8"})
    assert resp.status_code == 201


def test_frames_as_base64_json(platform, contract):
    ch = platform.open().get_json()
    items = [{"t": t, "data": base64.b64encode(f).decode()}
             for t, f in zip(times(12), frames(count=12))]
    platform.app.extensions["idp"].services["person"].sessions.clock.advance(CLIP_MS / 1000 + 1)
    resp = platform.http.post(f"/api/v1/liveness/sessions/{ch['session']}/frames",
                              json={"nonce": ch["nonce"], "frames": items}, headers=platform.bearer())
    assert contract.check(FRAMES, "post", resp)["live"] is True
