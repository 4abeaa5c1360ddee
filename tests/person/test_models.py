"""End to end with the real face models and registry templates made from the shared faces."""
import pytest

from idp.interaction import ACR_FACE, ACR_FACE_ACTIVE

from . import faces
from .conftest import ID, NAME, Browser, make_number
from .privacy import dump_database, id_number_forms, image_chunks, leaks

pytestmark = pytest.mark.models
OBAMA = make_number("31010119610804001")
FAILED = {"ok": False, "reason": "login_failed", "redirect": None}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return faces.warm_engine(tmp_path_factory)


@pytest.fixture
def app(make_app, engine):
    app = make_app()
    state = app.extensions["idp"]
    state.services["liveness"] = engine
    state.services["person"].engine = engine
    registry = state.services["registry"]
    registry.enrol(ID, NAME, engine.make_template(faces.read("live_T1")), "test")
    registry.enrol(OBAMA, "奥巴马", engine.make_template(faces.read("obama_1")), "test")
    return app


def _audit_reasons(app):
    from sqlalchemy import select
    from idp.store.models import AuditEvent
    with app.extensions["idp"].db.session(write=False) as s:
        rows = s.execute(select(AuditEvent).where(AuditEvent.event == "liveness.check")
                         .order_by(AuditEvent.id)).scalars().all()
        return [(r.outcome, r.details.get("engine_reason")) for r in rows]


def test_passive_login_with_live_frames(app):
    b = Browser(app)
    cb = b.login(frames=faces.still_frames("live_T1"))
    token = b.rp.token(cb["code"]).get_json()
    claims = b.rp.verify(token["id_token"])
    assert claims["acr"] == ACR_FACE and claims["name"] == NAME


def test_printed_photo_fails(app):
    b = Browser(app)
    resp = b.send(b.challenge(), faces.still_frames("spoof_print_F1"))
    assert resp.status_code == 403 and resp.get_json()["ok"] is False
    assert _audit_reasons(app)[-1][0] == "failure"


def test_screen_replay_fails(app):
    b = Browser(app)
    resp = b.send(b.challenge(), faces.still_frames("spoof_screen_F2"))
    assert resp.get_json() == FAILED
    assert _audit_reasons(app)[-1] == ("failure", "spoof")


def test_another_persons_face_fails(app):
    b = Browser(app)
    resp = b.send(b.challenge(id_number=OBAMA, name="奥巴马"), faces.still_frames("biden_1"))
    assert resp.status_code == 403 and resp.get_json() == FAILED
    assert _audit_reasons(app)[-1] == ("failure", "face_mismatch")


def test_same_person_other_photo_passes(app):
    b = Browser(app)
    resp = b.send(b.challenge(id_number=OBAMA, name="奥巴马"), faces.still_frames("obama_2"))
    assert resp.status_code == 200 and resp.get_json()["ok"] is True


def test_unknown_number_and_wrong_name_fail_like_a_mismatch(app):
    answers = []
    for number, name in ((make_number("44030419900101001"), NAME), (ID, "李四")):
        b = Browser(app)
        resp = b.send(b.challenge(id_number=number, name=name),
                      faces.still_frames("live_T1", salt=len(answers) + 7))
        answers.append((resp.status_code, resp.get_json()))
    assert answers == [(403, FAILED), (403, FAILED)]


def test_replayed_frames_are_rejected(app):
    frames = faces.still_frames("live_T1", salt=3)
    first = Browser(app)
    assert first.send(first.challenge(), frames).status_code == 200
    second = Browser(app)
    resp = second.send(second.challenge(), frames)
    assert resp.status_code == 403 and resp.get_json() == FAILED
    assert _audit_reasons(app)[-1] == ("failure", "replay")


def test_face_active_login_with_head_movements(app, engine):
    b = Browser(app, acr_values=ACR_FACE_ACTIVE)
    ch = b.challenge()
    assert 2 <= len(ch["actions"]) <= 3
    resp = b.send(ch, faces.action_frames(engine, ch["actions"]))
    assert resp.status_code == 200, resp.get_json()
    token = b.rp.token(b.follow(resp.get_json()["redirect"])["code"]).get_json()
    claims = b.rp.verify(token["id_token"])
    assert claims["acr"] == ACR_FACE_ACTIVE and claims["amr"] == ["face", "user", "mfa"]


def test_a_still_face_does_not_pass_an_active_challenge(app):
    b = Browser(app, acr_values=ACR_FACE_ACTIVE)
    resp = b.send(b.challenge(), faces.still_frames("live_T1", count=4, salt=11))
    assert resp.get_json() == {"ok": False, "reason": "challenge_failed", "redirect": None}


def test_movements_in_the_wrong_order_fail(app, engine):
    b = Browser(app, acr_values=ACR_FACE_ACTIVE)
    ch = b.challenge()
    frames = faces.action_frames(engine, list(reversed(ch["actions"])), salt=2)
    resp = b.send(ch, frames)
    assert resp.get_json()["ok"] is False


def test_no_image_bytes_in_the_database(app):
    sent = faces.still_frames("live_T1", salt=21) + faces.still_frames("spoof_print_F1")
    b = Browser(app, scope="openid profile id_number")
    b.send(b.challenge(), sent[3:])
    b.rp.token(b.login(frames=sent[:3])["code"])
    cells = dump_database(app.extensions["idp"].db)
    assert leaks(cells, image_chunks(sent)) == []
    assert leaks(cells, id_number_forms(ID)) == []
