"""RP-initiated logout (OIDC RP-Initiated Logout 1.0) and back-channel logout (OIDC Back-Channel
Logout 1.0)."""
from __future__ import annotations

import time

import pytest
from joserfc import jws, jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.store.models import AuditEvent
from tests.oidc.httpserver import LocalServer
from tests.oidc.rp import RP, csrf_from, query

BYE = "https://rp.example.org/bye"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def rp(app, client):
    return RP(app, client)


def _logged_out(rp) -> bool:
    resp = rp.authorize(prompt="none")
    return query(resp.headers["Location"]).get("error") == "login_required"


def test_logout_with_hint_redirects_with_state(rp, client):
    tokens = rp.tokens()
    assert not _logged_out(rp)
    resp = client.get("/end-session", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": BYE, "state": "s-1"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == BYE + "?state=s-1"
    assert _logged_out(rp)
    assert client.get_cookie("idp_session") is None


def test_logout_by_post_with_hint(rp, client):
    tokens = rp.tokens()
    resp = client.post("/end-session", data={"id_token_hint": tokens["id_token"],
                                             "post_logout_redirect_uri": BYE})
    assert resp.status_code == 302 and resp.headers["Location"] == BYE
    assert _logged_out(rp)


def test_expired_hint_is_still_accepted(make_app):
    app = make_app(id_token_ttl=1)
    rp = RP(app, app.test_client())
    tokens = rp.tokens()
    time.sleep(1.1)
    resp = rp.browser.get("/end-session", query_string={"id_token_hint": tokens["id_token"],
                                                        "post_logout_redirect_uri": BYE})
    assert resp.status_code == 302 and _logged_out(rp)


@pytest.mark.parametrize("params, text", [
    ({"post_logout_redirect_uri": "https://evil.example.com/"}, "is not registered"),
    ({"post_logout_redirect_uri": BYE + "/x"}, "is not registered"),
    ({"post_logout_redirect_uri": BYE, "id_token_hint": "garbage"}, "not an ID token"),
    ({"client_id": "no-such-client", "id_token_hint": None}, "unknown client_id"),
    ({"client_id": "no-such-client"}, "does not match the id_token_hint audience"),
])
def test_bad_logout_requests_render_a_400_page(rp, client, params, text):
    tokens = rp.tokens()
    if "id_token_hint" not in params:
        params = {**params, "id_token_hint": tokens["id_token"]}
    params = {k: v for k, v in params.items() if v is not None}
    resp = client.get("/end-session", query_string=params)
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert resp.mimetype == "text/html" and text in resp.get_data(as_text=True)
    assert not _logged_out(rp)  # nothing happened


def test_redirect_uri_without_hint_or_client_id_is_refused(rp, client):
    rp.login()
    resp = client.get("/end-session", query_string={"post_logout_redirect_uri": BYE})
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_hint_of_another_client_with_its_client_id_mismatch(app, client, rp):
    other = RP(app, client)
    tokens = rp.tokens()
    resp = client.get("/end-session", query_string={"id_token_hint": tokens["id_token"],
                                                    "client_id": other.client_id})
    assert resp.status_code == 400


def test_without_hint_the_user_confirms(rp, client):
    rp.login()
    page = client.get("/end-session", query_string={"client_id": rp.client_id,
                                                    "post_logout_redirect_uri": BYE, "state": "x"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="logout"' in html and not _logged_out(rp)
    token = csrf_from(html)
    resp = client.post("/end-session", data={"confirm": "yes", "csrf_token": token,
                                             "client_id": rp.client_id,
                                             "post_logout_redirect_uri": BYE, "state": "x"})
    assert resp.status_code == 302 and resp.headers["Location"] == BYE + "?state=x"
    assert _logged_out(rp)


def test_confirmation_without_redirect_shows_logged_out_page(rp, client):
    rp.login()
    token = csrf_from(client.get("/end-session").get_data(as_text=True))
    resp = client.post("/end-session", data={"confirm": "yes", "csrf_token": token})
    assert resp.status_code == 200 and 'id="logged-out"' in resp.get_data(as_text=True)
    assert _logged_out(rp)


@pytest.mark.parametrize("csrf", [None, "wrong"])
def test_confirmation_without_csrf_is_400(rp, client, csrf):
    rp.login()
    data = {"confirm": "yes"}
    if csrf:
        data["csrf_token"] = csrf
    resp = client.post("/end-session", data=data)
    assert resp.status_code == 400 and 'data-error="csrf_failed"' in resp.get_data(as_text=True)
    assert not _logged_out(rp)


def test_hint_for_another_user_asks_for_confirmation(rp, client):
    bob = rp.tokens(user="bob")["id_token"]
    rp.login(user="alice", prompt="login")
    page = client.get("/end-session", query_string={"id_token_hint": bob})
    assert page.status_code == 200 and 'id="logout"' in page.get_data(as_text=True)
    assert not _logged_out(rp)


def test_logout_without_session_still_redirects(rp, client, app):
    tokens = rp.tokens()
    other_browser = app.test_client()
    resp = other_browser.get("/end-session", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": BYE})
    assert resp.status_code == 302 and resp.headers["Location"] == BYE
    assert not _logged_out(rp)  # the session of the first browser is untouched


def test_logout_is_audited(app, rp, client):
    tokens = rp.tokens()
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    with app.extensions["idp"].db.session(write=False) as s:
        rows = s.execute(select(AuditEvent.reason, AuditEvent.details)
                         .where(AuditEvent.event == "logout")).all()
    assert len(rows) == 1 and rows[0].reason == "rp_initiated"
    assert rows[0].details["clients"] == [rp.client_id]


# -- back-channel logout --------------------------------------------------------------------------
def test_backchannel_logout_token_is_delivered(app, client):
    with LocalServer() as server:
        rp = RP(app, client, backchannel_logout_uri=server.url + "/bcl")
        plain = RP(app, client)  # no back-channel URI: nothing sent to it
        tokens = rp.tokens()
        plain.tokens()
        id_claims = rp.verify(tokens["id_token"])
        client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
        app.extensions["idp"].backchannel.flush()
        assert len(server.posts) == 1
    post = server.posts[0]
    assert post["path"] == "/bcl"
    assert post["content_type"] == "application/x-www-form-urlencoded"
    logout_token = post["form"]["logout_token"]
    header = jws.extract_compact(logout_token.encode()).headers()
    assert header["typ"] == "logout+jwt" and header["alg"] == "RS256" and header["kid"]
    jwks = KeySet.import_key_set(client.get("/jwks.json").get_json())
    claims = jwt.decode(logout_token, jwks, algorithms=["RS256"]).claims
    assert claims["iss"] == rp.issuer and claims["aud"] == rp.client_id
    assert claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"]
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims  # Back-Channel Logout 2.4: a nonce is prohibited
    assert claims["jti"] and claims["iat"] <= time.time() < claims["exp"]
    with app.extensions["idp"].db.session(write=False) as s:
        rows = s.execute(select(AuditEvent.outcome, AuditEvent.client_id)
                         .where(AuditEvent.event == "logout.backchannel")).all()
    assert [tuple(r) for r in rows] == [("success", rp.client_id)]


def test_every_rp_of_the_session_is_notified(app, client):
    with LocalServer() as a, LocalServer() as b:
        rp_a = RP(app, client, backchannel_logout_uri=a.url + "/a")
        rp_b = RP(app, client, backchannel_logout_uri=b.url + "/b")
        hint = rp_a.tokens()["id_token"]
        rp_b.tokens()
        client.get("/end-session", query_string={"id_token_hint": hint})
        app.extensions["idp"].backchannel.flush()
        assert len(a.posts) == 1 and len(b.posts) == 1


def test_failing_backchannel_endpoint_is_retried_and_audited(make_app):
    app = make_app(backchannel_retries=2)
    client = app.test_client()
    with LocalServer(status=500) as server:
        rp = RP(app, client, backchannel_logout_uri=server.url + "/bcl")
        hint = rp.tokens()["id_token"]
        client.get("/end-session", query_string={"id_token_hint": hint})
        app.extensions["idp"].backchannel.flush()
        assert len(server.posts) == 2  # backchannel_retries attempts
    with app.extensions["idp"].db.session(write=False) as s:
        rows = s.execute(select(AuditEvent.outcome, AuditEvent.client_id, AuditEvent.reason)
                         .where(AuditEvent.event == "logout.backchannel")).all()
    assert len(rows) == 1
    assert rows[0].outcome == "failure" and rows[0].client_id == rp.client_id
    assert rows[0].reason == "delivery failed after 2 attempts: HTTP 500"


def test_unreachable_backchannel_endpoint_does_not_block_logout(make_app):
    app = make_app(backchannel_retries=1, backchannel_timeout=0.5)
    client = app.test_client()
    with LocalServer() as server:
        url = server.url
    rp = RP(app, client, backchannel_logout_uri=url + "/gone")  # the server is closed
    hint = rp.tokens()["id_token"]
    start = time.monotonic()
    resp = client.get("/end-session", query_string={"id_token_hint": hint,
                                                    "post_logout_redirect_uri": BYE})
    assert resp.status_code == 302 and time.monotonic() - start < 0.5
    app.extensions["idp"].backchannel.flush()
    with app.extensions["idp"].db.session(write=False) as s:
        outcome = s.execute(select(AuditEvent.outcome)
                            .where(AuditEvent.event == "logout.backchannel")).scalar_one()
    assert outcome == "failure"
