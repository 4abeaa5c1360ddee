"""The person login through the OIDC flow: claims, acr/amr, step-up, audit."""
from sqlalchemy import select

from idp.interaction import ACR_FACE, ACR_FACE_ACTIVE
from idp.store.models import AuditEvent

from .conftest import ID, NAME, Browser, frames


def _tokens(b, cb):
    resp = b.rp.token(cb["code"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    return body, b.rp.verify(body["id_token"])


def test_passive_login_gives_acr_face_and_person_claims(app):
    b = Browser(app, scope="openid profile id_number")
    body, claims = _tokens(b, b.login())
    assert claims["acr"] == ACR_FACE and claims["amr"] == ["face", "user"]
    assert claims["name"] == NAME and claims["birthdate"] == "1949-12-31"
    assert claims["gender"] == "female" and claims["entity_type"] == "natural_person"
    assert claims["id_number_masked"] == "1****************X" and "id_number" not in claims
    assert claims["nonce"] == b.rp.last["nonce"]
    userinfo = b.client.get("/userinfo", headers={"Authorization": "Bearer " + body["access_token"]})
    assert userinfo.get_json()["name"] == NAME


def test_allowed_clients_get_the_full_id_number(app):
    from tests.oidc.rp import RP
    client = app.test_client()
    rp = RP(app, client, allow_id_number=True)
    b = Browser(app, client=client, rp=rp, scope="openid profile id_number")
    _, claims = _tokens(b, b.login())
    assert claims["id_number"] == ID


def test_sub_is_pairwise_and_never_the_id_number(app):
    b = Browser(app)
    _, claims = _tokens(b, b.login())
    assert ID not in claims["sub"] and len(claims["sub"]) == 43


def test_face_active_login(app):
    b = Browser(app, acr_values=ACR_FACE_ACTIVE)
    ch = b.challenge()
    assert ch["actions"]
    resp = b.send(ch, frames("live:1"))
    assert resp.status_code == 200
    _, claims = _tokens(b, b.follow(resp.get_json()["redirect"]))
    assert claims["acr"] == ACR_FACE_ACTIVE and claims["amr"] == ["face", "user", "mfa"]


def test_failed_challenge_is_told_as_a_hint(app):
    b = Browser(app, acr_values=ACR_FACE_ACTIVE)
    resp = b.send(b.challenge(), frames("still"))
    assert resp.get_json() == {"ok": False, "reason": "try_again", "hint": "follow_prompts",
                               "redirect": None}


def test_step_up_from_face_to_face_active(app):
    first = Browser(app)
    _, claims = _tokens(first, first.login())
    assert claims["acr"] == ACR_FACE
    sub = claims["sub"]
    # the SSO session answers a plain request at once ...
    again = first.rp.authorize()
    assert again.status_code == 302 and "code=" in again.headers["Location"]
    # ... but a request for face-active needs a new, active login
    second = Browser(app, client=first.client, rp=first.rp, acr_values=ACR_FACE_ACTIVE)
    ch = second.challenge()
    assert len(ch["actions"]) >= 2
    resp = second.send(ch, frames("live:1"))
    _, claims = _tokens(second, second.follow(resp.get_json()["redirect"]))
    assert claims["acr"] == ACR_FACE_ACTIVE and claims["sub"] == sub


def test_retry_after_a_failure_in_the_same_transaction(browser):
    assert browser.send(browser.challenge(), frames("spoof")).status_code == 403
    cb = browser.login()
    assert "code" in cb


def test_every_attempt_is_audited_with_the_id_number_masked(app):
    b = Browser(app)
    b.send(b.challenge(), frames("spoof"))
    b.login()
    with app.extensions["idp"].db.session(write=False) as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.method == "person")
                           .order_by(AuditEvent.id)).scalars().all()
        rows = [(e.event, e.outcome, e.subject, e.reason, e.ip, e.client_id, dict(e.details))
                for e in events]
    kinds = [(r[0], r[1]) for r in rows]
    assert kinds == [("login.person.start", "info"), ("liveness.check", "failure"),
                     ("login", "failure"), ("login.person.start", "info"),
                     ("liveness.check", "success"), ("login", "success")]
    for event, outcome, subject, reason, ip, client_id, details in rows:
        assert subject == "1****************X" and client_id == b.rp.client_id
        assert ip == "127.0.0.1"
    start = rows[0][6]
    assert start["consent"] is True and start["mode"] == "passive"
    check = rows[1]
    assert check[3] == "login_failed" and check[6]["engine_reason"] == "spoof"
    assert check[6]["score"] == 0.1 and check[6]["registry"] == "found"
    assert rows[2][3] == "login_failed"
    assert rows[4][6]["similarity"] == 0.9 and rows[5][6]["acr"] == ACR_FACE


def _events(app, event):
    with app.extensions["idp"].db.session(write=False) as s:
        return [(e.outcome, e.reason, e.subject) for e in s.execute(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)).scalars()]


def test_refused_starts_are_audited_masked(app):
    b = Browser(app)
    b.start(id_number="110105194912310021")
    b.start(consent=False)
    assert _events(app, "login.person.start") == [
        ("failure", "checksum", "1****************1"),
        ("failure", "consent_required", "1****************X")]


def test_lockouts_are_audited(person_app):
    app = person_app(attempt_limit=2)
    b = Browser(app)
    ch = b.challenge()
    b.send(b.challenge(), frames("spoof"))
    assert b.start().status_code == 429  # the third start: over the limit, the key locks
    assert b.send(ch, frames("live:1")).status_code == 429
    assert _events(app, "login")[-1] == ("failure", "locked_out", "1****************X")
    assert _events(app, "login.person.start")[-1] == ("failure", "too_many_requests",
                                                      "1****************X")
