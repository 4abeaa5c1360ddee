"""The signed-in user's authorize / userinfo fast path (idp.ops.oidc_fastpath) answers exactly
as the full path, and leaves every other case (every refusal, page and error redirect) to it.

A fast path that skipped a check would answer where the full path refuses, so each refused
case asserts that the app answered it, and each answered case is compared with the same
request through Flask's full cycle.
"""
from __future__ import annotations

import html
import logging

import pytest

from idp.ops import metrics
from idp.ops.oidc_fastpath import SignedInFastPath
from tests.oidc.rp import RP, query

VOLATILE = {"X-Request-Id", "Content-Length", "Location"}


@pytest.fixture
def rp(app, client):
    return RP(app, client)


@pytest.fixture
def layer(app):
    layer = app.wsgi_app
    while not isinstance(layer, SignedInFastPath):
        layer = layer.wsgi_app
    return layer


@pytest.fixture
def full_path_calls(layer):
    """The /authorize and /userinfo requests the fast path handed to the app."""
    inner, calls = layer.wsgi_app, []

    def counting(environ, start_response):
        if environ["PATH_INFO"] in ("/authorize", "/userinfo"):
            calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    layer.wsgi_app = counting
    return calls


def _headers(resp):
    return sorted((k, v) for k, v in resp.headers.items() if k not in VOLATILE)


def _signed_in(rp):
    """A browser with an SSO session and this RP's consent remembered."""
    rp.tokens()
    return rp


# -- /authorize --------------------------------------------------------------------------------
def test_signed_in_authorize_is_answered_without_flask_as_the_full_path(
        rp, layer, full_path_calls, monkeypatch):
    _signed_in(rp)
    full_path_calls.clear()
    fast = rp.authorize()
    assert fast.status_code == 302 and full_path_calls == []
    params = query(fast.headers["Location"])
    assert fast.headers["Location"].startswith(rp.redirect + "?")
    assert params["state"] == rp.last["state"] and params["iss"] == rp.issuer
    tokens = rp.token(params["code"])  # a code like any other: single use, PKCE, ID token
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    assert rp.verify(tokens.get_json()["id_token"])["nonce"] == rp.last["nonce"]
    assert rp.token(params["code"]).status_code == 400
    monkeypatch.setattr(layer, "_authorize", lambda environ: None)
    full = rp.authorize()
    assert full_path_calls == ["/authorize"]
    assert full.status_code == 302 and _headers(fast) == _headers(full)
    body = lambda r: r.get_data(as_text=True).replace(html.escape(r.headers["Location"]), "LOC")  # noqa: E731
    assert body(fast) == body(full) and "LOC" in body(fast)


@pytest.mark.parametrize("params, where", [
    ({"prompt": "login"}, "/login/"),
    ({"prompt": "consent"}, "/consent"),
    ({"max_age": "0"}, "/login/"),
    ({"scope": "openid profile id_number"}, "/consent"),  # not consented yet
    ({"prompt": "none", "max_age": "0"}, "error=login_required"),
    ({"response_type": "token"}, "error=unsupported_response_type"),
    ({"code_challenge_method": "plain"}, "error="),
    ({"acr_values": "urn:idp:acr:person:face-active", "claims":
      '{"id_token": {"acr": {"essential": true, "value": "urn:idp:acr:person:face-active"}}}'},
     "/login/"),
])
def test_every_other_authorize_is_the_full_paths(rp, full_path_calls, params, where):
    _signed_in(rp)
    full_path_calls.clear()
    resp = rp.authorize(**params)
    assert full_path_calls == ["/authorize"], resp.headers.get("Location")
    assert resp.status_code == 302 and where in resp.headers["Location"], resp.headers["Location"]


def test_authorize_refusals_without_a_redirect_are_the_full_paths(rp, client, full_path_calls):
    _signed_in(rp)
    full_path_calls.clear()
    for params in ({"client_id": "nobody"}, {"redirect_uri": "https://evil.example/cb"}):
        resp = rp.authorize(**params)
        assert resp.status_code == 400 and "Location" not in resp.headers
    resp = client.get(f"/authorize?client_id={rp.client_id}&client_id={rp.client_id}")
    assert resp.status_code == 400
    assert full_path_calls == ["/authorize"] * 3


def test_no_session_cookie_or_an_ended_session_is_the_full_paths(app, rp, client, full_path_calls):
    _signed_in(rp)
    sid = client.get_cookie("idp_session").value
    app.extensions["idp"].provider.sessions.end(sid)
    full_path_calls.clear()
    resp = rp.authorize()
    assert full_path_calls == ["/authorize"] and "/login/" in resp.headers["Location"]
    client.delete_cookie("idp_session")
    resp = rp.authorize(prompt="none")
    assert query(resp.headers["Location"])["error"] == "login_required"
    assert full_path_calls == ["/authorize"] * 2


def test_a_disabled_client_is_refused(app, rp, full_path_calls):
    _signed_in(rp)
    app.extensions["idp"].clients.set_enabled(rp.client_id, False)  # drops the cached row
    full_path_calls.clear()
    resp = rp.authorize()
    assert resp.status_code == 400 and full_path_calls == ["/authorize"]


# -- /userinfo ---------------------------------------------------------------------------------
def test_userinfo_is_answered_without_flask_as_the_full_path(rp, client, full_path_calls):
    tokens = _signed_in(rp) and rp.tokens()
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    full_path_calls.clear()
    fast = client.get("/userinfo", headers=bearer)
    full = client.get("/userinfo?via=full", headers=bearer)
    assert full_path_calls == ["/userinfo"]
    assert fast.status_code == full.status_code == 200
    assert fast.get_json() == full.get_json() and fast.get_json()["sub"]
    assert _headers(fast) == _headers(full)


def test_every_refused_userinfo_is_the_full_paths(app, rp, client, full_path_calls):
    tokens = rp.tokens()
    access = tokens["access_token"]
    cases = []
    cases.append(client.get("/userinfo"))  # no token
    cases.append(client.get("/userinfo", headers={"Authorization": "Bearer x.y.z"}))
    cases.append(client.get("/userinfo", headers={"Authorization": "Basic " + access}))
    tampered = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    cases.append(client.get("/userinfo", headers={"Authorization": "Bearer " + tampered}))
    assert client.post("/revoke", data={"token": access}, headers=rp.auth()).status_code == 200
    cases.append(client.get("/userinfo", headers={"Authorization": "Bearer " + access}))
    assert [r.status_code for r in cases] == [401, 401, 401, 401, 401]
    assert cases[0].headers["WWW-Authenticate"] == "Bearer"
    assert all('error="invalid_token"' in r.headers["WWW-Authenticate"] for r in cases[1:2] + cases[3:])
    assert full_path_calls.count("/userinfo") == 5


def test_userinfo_after_logout_or_code_replay_is_refused(app, rp, client, full_path_calls):
    cb = rp.login()
    tokens = rp.token(cb["code"]).get_json()
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    rp.token(cb["code"])  # replay: the grant is revoked
    resp = client.get("/userinfo", headers=bearer)
    assert resp.status_code == 401 and full_path_calls[-1] == "/userinfo"


def test_metrics_and_access_lines_as_the_full_path(rp, client, full_path_calls, caplog):
    tokens = _signed_in(rp) and rp.tokens()
    full_path_calls.clear()
    authorize = metrics.REQUESTS.labels("oidc.authorize", "GET", "302")
    userinfo = metrics.REQUESTS.labels("oidc.userinfo", "GET", "200")
    before = authorize._value.get(), userinfo._value.get()
    with caplog.at_level(logging.INFO, logger="idp.access"):
        rp.authorize()
        resp = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"],
                                                "X-Request-Id": "req-12345678"})
    assert full_path_calls == []
    assert (authorize._value.get(), userinfo._value.get()) == (before[0] + 1, before[1] + 1)
    lines = [r for r in caplog.records if r.name == "idp.access"][-2:]
    assert [line.getMessage() for line in lines] == ["GET /authorize 302", "GET /userinfo 200"]
    assert (lines[1].request_id, lines[1].route, lines[1].status) == ("req-12345678", "/userinfo", 200)
    assert resp.headers["X-Request-Id"] == "req-12345678"
