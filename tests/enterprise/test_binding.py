"""Attacks on the licence login by someone who knows the victim's transaction or challenge id.

The transaction id is in the victim's address bar (and so in referrers and screenshots);
the challenge id is in the QR code on the victim's screen.  Neither may let anyone else
finish, spoil or steal the victim's login.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from idp.oidc.sessions import COOKIE as SESSION_COOKIE
from idp.store.models import AuditEvent
from tests.enterprise.test_flow import answer, start

STATUS = "/login/{txn}/enterprise/status"
JSON = {"Accept": "application/json"}  # as the page's script polls


def _cookie_names(resp) -> set[str]:
    return {h.split("=", 1)[0] for h in resp.headers.getlist("Set-Cookie")}


def test_a_cookieless_poller_gets_neither_the_code_nor_the_session(licensed_app, licence):
    victim = licensed_app.test_client()
    _, txn, cid = start(licensed_app, victim)
    assert answer(victim, cid, licence).status_code == 200  # the holder signed
    attacker = licensed_app.test_client()  # no cookies; knows only the txn id
    stolen = attacker.get(STATUS.format(txn=txn), headers=JSON)
    assert stolen.status_code == 403 and stolen.get_json()["error"] == "access_denied"
    assert "redirect" not in stolen.get_json()
    assert SESSION_COOKIE not in _cookie_names(stolen)
    # nothing was consumed: the victim's own poll completes the login
    done = victim.get(STATUS.format(txn=txn))
    assert done.status_code == 200 and done.get_json()["state"] == "done"
    assert SESSION_COOKIE in _cookie_names(done)


def test_another_browser_with_its_own_cookies_is_refused_too(licensed_app, licence):
    victim = licensed_app.test_client()
    _, txn, cid = start(licensed_app, victim)
    attacker = licensed_app.test_client()
    start(licensed_app, attacker)  # the attacker's own login: its own binding cookie
    assert answer(victim, cid, licence).status_code == 200
    for path in (f"/login/{txn}", f"/login/{txn}/enterprise", STATUS.format(txn=txn)):
        assert attacker.get(path).status_code == 403, path
    assert victim.get(STATUS.format(txn=txn)).get_json()["state"] == "done"


def test_a_forged_holder_response_changes_nothing(licensed_app, licence):
    victim = licensed_app.test_client()
    _, txn, cid = start(licensed_app, victim)
    attacker = licensed_app.test_client()
    forged = attacker.post(f"/elicense/challenges/{cid}/response", json={"jws": "x.y.z"})
    assert forged.status_code == 400
    wrong_nonce = answer(attacker, cid, licence, nonce="guessed")
    assert wrong_nonce.status_code == 400
    # the victim's page still waits, and the real response completes the login
    assert victim.get(STATUS.format(txn=txn)).get_json() == {"state": "pending"}
    assert victim.get(f"/elicense/challenges/{cid}").status_code == 200
    assert answer(victim, cid, licence).status_code == 200
    assert victim.get(STATUS.format(txn=txn)).get_json()["state"] == "done"


def test_invalid_responses_are_counted_and_expire_the_challenge(licensed_app, licence):
    victim = licensed_app.test_client()
    _, txn, cid = start(licensed_app, victim)
    attacker = licensed_app.test_client()
    for _ in range(4):
        assert attacker.post(f"/elicense/challenges/{cid}/response",
                             json={"jws": "x.y.z"}).status_code == 400
    assert victim.get(STATUS.format(txn=txn)).get_json() == {"state": "pending"}
    assert attacker.post(f"/elicense/challenges/{cid}/response",
                         json={"jws": "x.y.z"}).status_code == 400
    assert victim.get(STATUS.format(txn=txn)).get_json() == {
        "state": "expired", "reason": "too_many_invalid_responses"}
    assert victim.get(f"/elicense/challenges/{cid}").status_code == 404  # used up
    late = victim.post(f"/elicense/challenges/{cid}/response", json={"jws": "x.y.z"})
    assert late.status_code == 404
    with licensed_app.extensions["idp"].db.session(write=False) as s:
        reasons = s.execute(select(AuditEvent.reason).where(AuditEvent.method == "enterprise")).scalars().all()
    assert reasons.count("too_many_invalid_responses") == 1
    # a new code for the same login works
    page = victim.get(f"/login/{txn}/enterprise?refresh=1").get_data(as_text=True)
    from tests.enterprise.conftest import challenge_of
    fresh = challenge_of(page)
    assert fresh != cid and answer(victim, fresh, licence).status_code == 200
    assert victim.get(STATUS.format(txn=txn) + f"?challenge={fresh}").get_json()["state"] == "done"


def test_a_poll_naming_another_logins_challenge_consumes_nothing(licensed_app, licence):
    victim = licensed_app.test_client()
    _, victim_txn, victim_cid = start(licensed_app, victim)
    attacker = licensed_app.test_client()
    _, attacker_txn, _ = start(licensed_app, attacker)
    assert attacker.get(STATUS.format(txn=attacker_txn) + f"?challenge={victim_cid}").status_code == 409
    assert answer(victim, victim_cid, licence).status_code == 200
    resp = attacker.get(STATUS.format(txn=attacker_txn) + f"?challenge={victim_cid}")
    assert resp.status_code == 409 and SESSION_COOKIE not in _cookie_names(resp)
    done = victim.get(STATUS.format(txn=victim_txn))
    assert done.status_code == 200 and done.get_json()["state"] == "done"


def test_the_response_that_ends_the_login_deletes_its_browser_cookie(licensed_app, licence):
    """The binding cookie is not left behind until it expires: answers before the end keep
    it (the consent page still needs it), the one that issues the code deletes it, for that
    transaction's path."""
    victim = licensed_app.test_client()
    _, txn, cid = start(licensed_app, victim)
    assert victim.get_cookie("idp_login", path=f"/login/{txn}") is not None
    pending = victim.get(STATUS.format(txn=txn), headers=JSON)
    assert pending.get_json() == {"state": "pending"} and "idp_login" not in _cookie_names(pending)
    assert answer(victim, cid, licence).status_code == 200
    done = victim.get(STATUS.format(txn=txn)).get_json()
    assert done["state"] == "done" and done["redirect"].endswith(f"/login/{txn}/consent")
    assert victim.get_cookie("idp_login", path=f"/login/{txn}") is not None
    page = victim.get(f"/login/{txn}/consent").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    allowed = victim.post(f"/login/{txn}/consent", data={"decision": "allow", "csrf_token": token})
    assert allowed.status_code == 302 and "code=" in allowed.headers["Location"]
    deleted = [h for h in allowed.headers.getlist("Set-Cookie") if h.startswith("idp_login=")]
    assert len(deleted) == 1 and f"Path=/login/{txn}" in deleted[0]
    assert victim.get_cookie("idp_login", path=f"/login/{txn}") is None


def test_cancelling_deletes_the_browser_cookie(licensed_app, licence):
    victim = licensed_app.test_client()
    _, txn, _ = start(licensed_app, victim)
    page = victim.get(f"/login/{txn}/enterprise").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    resp = victim.post(f"/login/{txn}/cancel", data={"csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    assert victim.get_cookie("idp_login", path=f"/login/{txn}") is None
