"""The API end to end with the real face models: a real person's H.264 recording passes and is
exchanged for tokens; the victim's registry photo moved or warped, another person's face and
a replayed recording do not, and a refusal tells nothing (no score, no face_match)."""
import pytest

from tests.person import faces
from tests.person.conftest import ID, NAME, Clock, make_number

from .conftest import FRAMES, Platform

pytestmark = pytest.mark.models
OBAMA = make_number("31010119610804001")
VICTIM = make_number("44030419900101001")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return faces.warm_engine(tmp_path_factory)


@pytest.fixture
def app(make_app, engine):
    faces.need_videos()
    app = make_app()
    state = app.extensions["idp"]
    state.services["person"].engine = engine
    state.services["person"].sessions.clock = Clock()
    registry = state.services["registry"]
    registry.enrol(ID, NAME, engine.make_template(faces.reference()), "t")
    registry.enrol(VICTIM, "王五", engine.make_template(faces.read("live_T1")), "t")
    registry.enrol(OBAMA, "奥巴马", engine.make_template(faces.read("obama_1")), "t")
    return app


def test_a_recording_is_exchanged_for_tokens(app, contract):
    platform = Platform(app)
    ch = platform.open(id_number=ID, name=NAME).get_json()
    resp = platform.send(ch["session"], ch["nonce"], clip=faces.mp4(), wait=12.5)
    body = contract.check(FRAMES, "post", resp)
    assert body["live"] and body["face_match"] and body["reason"] is None, body
    assert platform.exchange(body["assertion"]).status_code == 200


def test_timestamped_frames_pass_too(app, contract):
    platform = Platform(app)
    ch = platform.open(id_number=ID, name=NAME).get_json()
    images, times = faces.genuine()
    body = contract.check(FRAMES, "post", platform.send(ch["session"], ch["nonce"], images,
                                                        times_ms=times, wait=5.0))
    assert body["live"] and body["face_match"], body


@pytest.mark.parametrize("kind", ["still", "perspective_turn", "zoom", "photo_moved"])
def test_attack_the_registry_photo_is_refused_and_told_nothing(app, contract, kind):
    platform = Platform(app)
    ch = platform.open(id_number=VICTIM, name="王五").get_json()
    images, times = faces.attack(kind)
    body = contract.check(FRAMES, "post", platform.send(ch["session"], ch["nonce"], images,
                                                        times_ms=times, wait=5.0))
    assert body["live"] is False and body["reason"] in ("not_live", "try_again")
    assert body["score"] is None and "face_match" not in body
    assert platform.exchange(body["assertion"]).get_json()["error"] == "invalid_grant"


def test_another_persons_recording(app, contract):
    platform = Platform(app)
    ch = platform.open(id_number=OBAMA, name="奥巴马").get_json()
    body = platform.send(ch["session"], ch["nonce"], clip=faces.mp4(), wait=12.5).get_json()
    assert body["reason"] == "face_mismatch" and body["face_match"] is False, body
    assert platform.exchange(body["assertion"]).get_json()["error"] == "invalid_grant"


def test_attack_a_replayed_recording(app):
    platform = Platform(app)
    for expected in (None, "not_live"):
        ch = platform.open().get_json()
        body = platform.send(ch["session"], ch["nonce"], clip=faces.mp4(), wait=12.5).get_json()
        assert body["reason"] == expected, body
