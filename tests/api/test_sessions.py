"""Liveness sessions of the API: create, frames, state, ownership, bounds, no oracle."""
import base64
import json
import time

import pytest

from tests.person.conftest import make_number

from .conftest import FRAMES, ID, NAME, SESSIONS, STATE, Platform, frame

OTHER = make_number("31010119800101001")


def _payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_create_passive_and_active(platform, contract):
    resp = platform.open(mode="passive")
    body = contract.check(SESSIONS, "post", resp)
    assert resp.status_code == 201 and body["actions"] == [] and body["expires_in"] == 120
    assert resp.headers["Location"] == f"/api/v1/liveness/sessions/{body['session']}"
    body = contract.check(SESSIONS, "post", platform.open(mode="active"))
    assert 2 <= len(body["actions"]) <= 3
    assert contract.check(SESSIONS, "post", platform.open())["actions"] == []


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
    resp = platform.send(ch["session"], ch["nonce"], [frame("live:1", i) for i in range(3)])
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
    outs = [platform.run(id_number=ID, name=NAME, frames=[frame("live:2")]),
            platform.run(id_number=OTHER, name=NAME),
            platform.run(id_number=ID, name="李四")]
    shapes = {(o["live"], o["face_match"], o["reason"], o["score"],
               tuple(sorted(_payload(o["assertion"])))) for o in outs}
    assert shapes == {(True, False, "face_mismatch", 0.99,
                       ("aud", "exp", "face_match", "iat", "iss", "jti", "live", "score", "sub"))}


def test_spoof(platform, contract):
    ch = platform.open().get_json()
    body = contract.check(FRAMES, "post", platform.send(ch["session"], ch["nonce"], [frame("spoof")]))
    assert body["live"] is False and body["reason"] == "spoof"


def test_sessions_are_single_use(platform, contract):
    ch = platform.open().get_json()
    assert platform.send(ch["session"], ch["nonce"], [frame("live:1")]).status_code == 200
    resp = platform.send(ch["session"], ch["nonce"], [frame("live:1", 1)])
    assert resp.status_code == 400
    assert contract.check(FRAMES, "post", resp)["error"] == "invalid_session"


def test_sessions_belong_to_their_client(app, platform, contract):
    ch = platform.open().get_json()
    intruder = Platform(app)
    assert intruder.state(ch["session"]).status_code == 404
    resp = intruder.send(ch["session"], ch["nonce"], [frame("live:1")])
    assert contract.check(FRAMES, "post", resp)["error"] == "invalid_session"
    # the intruder learnt nothing and changed nothing: the session is still its owner's
    state = platform.state(ch["session"]).get_json()
    assert state["state"] == "pending" and "result" not in state
    done = platform.send(ch["session"], ch["nonce"], [frame("live:1")])
    assert done.status_code == 200 and done.get_json()["live"] is True


def test_wrong_nonce(platform):
    ch = platform.open().get_json()
    assert platform.send(ch["session"], "n" * 32, [frame("live:1")]).status_code == 400


def test_state(platform, contract):
    ch = platform.open(id_number=ID, name=NAME, mode="active").get_json()
    pending = contract.check(STATE, "get", platform.state(ch["session"]))
    assert pending["state"] == "pending" and pending["actions"] == ch["actions"]
    platform.send(ch["session"], ch["nonce"], [frame("live:1", i) for i in range(7)])
    done = contract.check(STATE, "get", platform.state(ch["session"]))
    assert done["state"] == "completed"
    assert done["result"] == {"live": True, "score": 0.99, "reason": None, "face_match": True}
    resp = platform.state("x" * 32)
    assert resp.status_code == 404 and contract.check(STATE, "get", resp)


def test_state_of_an_expired_session(make_app, contract):
    app = make_app(liveness_session_ttl=1)
    platform = Platform(app)
    ch = platform.open().get_json()
    time.sleep(1.5)
    assert platform.state(ch["session"]).get_json()["state"] == "expired"
    assert platform.send(ch["session"], ch["nonce"], [frame("live:1")]).status_code == 400


@pytest.mark.parametrize("frames,status", [
    ([frame("live:1", i) for i in range(13)], 413),
    ([b"GIF89a"], 415),
    ([b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024)], 413),
])
def test_frame_bounds(platform, contract, frames, status):
    ch = platform.open().get_json()
    resp = platform.send(ch["session"], ch["nonce"], frames)
    assert resp.status_code == status and contract.check(FRAMES, "post", resp)


def test_frames_as_json_or_nothing(platform, contract):
    ch = platform.open().get_json()
    resp = platform.http.post(f"/api/v1/liveness/sessions/{ch['session']}/frames",
                              data="x", content_type="text/plain", headers=platform.bearer())
    assert resp.status_code == 415 and contract.check(FRAMES, "post", resp)


def test_failed_matches_lock_the_id_number(make_app, contract):
    from tests.person.conftest import FakeEngine, template
    app = make_app(attempt_limit=2)
    state = app.extensions["idp"]
    state.services["person"].engine = FakeEngine()
    state.services["registry"].enrol(ID, NAME, template(1), "test")
    platform = Platform(app)
    for _ in range(2):
        platform.run(id_number=ID, name=NAME, frames=[frame("live:2")])
    resp = platform.open(id_number=ID, name=NAME)
    assert resp.status_code == 429 and contract.check(SESSIONS, "post", resp)
    assert resp.headers["Retry-After"]


def test_frames_as_base64_json(platform, contract):
    ch = platform.open().get_json()
    frames = [base64.b64encode(frame("live:1", i)).decode() for i in range(3)]
    resp = platform.http.post(f"/api/v1/liveness/sessions/{ch['session']}/frames",
                              json={"nonce": ch["nonce"], "frames": frames}, headers=platform.bearer())
    assert contract.check(FRAMES, "post", resp)["live"] is True
