"""The API end to end with the real face models: live_T1 passes and is exchanged for tokens,
a printed photo and another person's face do not."""
import pytest

from idp.interaction import ACR_FACE_ACTIVE
from tests.person import faces
from tests.person.conftest import ID, NAME, make_number

from .conftest import FRAMES, Platform

pytestmark = pytest.mark.models
OBAMA = make_number("31010119610804001")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return faces.warm_engine(tmp_path_factory)


@pytest.fixture
def app(make_app, engine):
    app = make_app()
    state = app.extensions["idp"]
    state.services["person"].engine = engine
    state.services["registry"].enrol(ID, NAME, engine.make_template(faces.read("live_T1")), "t")
    state.services["registry"].enrol(OBAMA, "奥巴马", engine.make_template(faces.read("obama_1")), "t")
    return app


def test_live_face_is_exchanged_for_tokens(app, contract):
    platform = Platform(app)
    ch = platform.open(id_number=ID, name=NAME).get_json()
    resp = platform.send(ch["session"], ch["nonce"], faces.still_frames("live_T1", salt=30))
    body = contract.check(FRAMES, "post", resp)
    assert body["live"] and body["face_match"] and body["reason"] is None and body["score"] > 0.9
    assert platform.exchange(body["assertion"]).status_code == 200


def test_active_session(app, engine):
    platform = Platform(app)
    ch = platform.open(id_number=ID, name=NAME, mode="active").get_json()
    body = platform.send(ch["session"], ch["nonce"],
                         faces.action_frames(engine, ch["actions"], salt=5)).get_json()
    assert body["reason"] is None, body
    tokens = platform.exchange(body["assertion"]).get_json()
    from joserfc import jwt
    from joserfc.jwk import KeySet
    keys = KeySet.import_key_set(platform.http.get("/jwks.json").get_json())
    assert jwt.decode(tokens["id_token"], keys).claims["acr"] == ACR_FACE_ACTIVE


@pytest.mark.parametrize("photo,number,name,expect", [
    ("spoof_screen_F2", ID, NAME, (False, "spoof")),
    ("biden_1", OBAMA, "奥巴马", (True, "face_mismatch")),
])
def test_spoof_and_mismatch(app, photo, number, name, expect):
    platform = Platform(app)
    ch = platform.open(id_number=number, name=name).get_json()
    body = platform.send(ch["session"], ch["nonce"], faces.still_frames(photo)).get_json()
    assert (body["live"], body["reason"]) == expect
    assert platform.exchange(body["assertion"]).get_json()["error"] == "invalid_grant"


def test_replayed_frames(app):
    platform = Platform(app)
    frames = faces.still_frames("live_T1", salt=40)
    for expected in (None, "replay"):
        ch = platform.open().get_json()
        body = platform.send(ch["session"], ch["nonce"], frames).get_json()
        assert body["reason"] == expected and body["live"] is (expected is None)
