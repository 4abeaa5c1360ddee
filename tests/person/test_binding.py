"""A login transaction belongs to the browser that opened it (the person method and the
pages every method shares).  The attacker knows the victim's transaction id and, where
said, the victim's liveness session and nonce; they use their own browser."""
from __future__ import annotations

import io

from idp.binding import COOKIE
from idp.oidc.sessions import COOKIE as SESSION_COOKIE
from tests.oidc.rp import RP

from .conftest import Browser, frame


def _set_cookies(resp) -> dict[str, str]:
    out = {}
    for header in resp.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        out[name] = header
    return out


def _intruder(app, txn):
    """Another browser, with a CSRF token of its own (from a login it started itself)."""
    other = Browser(app)
    return other.client, other.csrf


def test_authorize_sets_a_scoped_httponly_binding_cookie(app):
    rp = RP(app, app.test_client())
    resp = rp.authorize()
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    header = _set_cookies(resp)[COOKIE]
    assert f"Path=/login/{txn}" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # http issuer (local)
    stored = app.extensions["idp"].provider.transactions.load(txn)
    secret = header.split("=", 1)[1].split(";", 1)[0]
    assert stored.browser_hash and secret not in stored.browser_hash  # only its hash is kept


def test_the_cookie_is_secure_under_an_https_issuer(person_app):
    app = person_app(issuer="https://id.example.gov.cn")
    resp = RP(app, app.test_client()).authorize()
    assert "Secure" in _set_cookies(resp)[COOKIE]


def test_a_second_browser_cannot_start_or_post_frames(app):
    victim = Browser(app)
    challenge = victim.challenge()  # the victim started; the attacker learnt session + nonce
    attacker, csrf = _intruder(app, victim.txn)
    started = attacker.post(f"/login/{victim.txn}/person", json={
        "id_number": "11010519491231002X", "name": "张三", "consent": True},
        headers={"X-CSRF-Token": csrf})
    assert started.status_code == 403 and started.get_json()["error"] == "access_denied"
    data = {"session": challenge["session"], "nonce": challenge["nonce"],
            "frames": [(io.BytesIO(frame("live:1", i)), f"f{i}.jpg", "image/jpeg") for i in range(3)]}
    posted = attacker.post(f"/login/{victim.txn}/person/frames", data=data,
                           headers={"X-CSRF-Token": csrf}, content_type="multipart/form-data")
    assert posted.status_code == 403 and posted.get_json()["error"] == "access_denied"
    assert SESSION_COOKIE not in _set_cookies(posted) and "redirect" not in posted.get_json()
    assert app.extensions["idp"].services["liveness"].calls == []  # no frame was even judged
    # the victim's session was not consumed: the victim logs in with it
    resp = victim.send(challenge, [frame("live:1", i) for i in range(3)])
    assert resp.status_code == 200 and resp.get_json()["ok"] is True
    assert SESSION_COOKIE in _set_cookies(resp)
    assert "code" in victim.follow(resp.get_json()["redirect"])


def test_pages_consent_and_cancel_of_another_browser_are_refused(app):
    victim = Browser(app)
    attacker, csrf = _intruder(app, victim.txn)
    for path in (f"/login/{victim.txn}", f"/login/{victim.txn}/person",
                 f"/login/{victim.txn}/consent"):
        assert attacker.get(path).status_code == 403, path
    for path in (f"/login/{victim.txn}/cancel", f"/login/{victim.txn}/consent"):
        resp = attacker.post(path, data={"decision": "allow", "csrf_token": csrf})
        assert resp.status_code == 403, path
        assert "Location" not in resp.headers
    # the victim's transaction is intact
    assert "code" in victim.login()


def test_a_cookieless_request_changes_nothing(app):
    victim = Browser(app)
    bare = app.test_client()
    assert bare.post(f"/login/{victim.txn}/cancel").status_code in (400, 403)
    assert bare.get(f"/login/{victim.txn}/person").status_code == 403
    assert "code" in victim.login()


def test_parallel_logins_in_tabs_of_one_browser(app):
    client = app.test_client()
    rp = RP(app, client)
    first = Browser(app, client=client, rp=rp)
    second = Browser(app, client=client, rp=RP(app, client))
    assert first.txn != second.txn
    cookies = [c for c in client._cookies.values() if c.key == COOKIE]
    assert len(cookies) >= 2  # one per transaction, each on its own path
    assert "code" in second.login()
    assert "code" in first.login()


def test_a_forged_cookie_value_is_refused(app):
    victim = Browser(app)
    attacker = app.test_client()
    attacker.set_cookie(COOKIE, "A" * 43, path=f"/login/{victim.txn}")
    assert attacker.get(f"/login/{victim.txn}/person").status_code == 403
    assert "code" in victim.login()
