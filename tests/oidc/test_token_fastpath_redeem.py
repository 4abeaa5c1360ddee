"""Code and refresh redemptions in the token fast path (idp.ops.token_fastpath).

They spend their code or refresh token before they can fail, so the fast path never hands
such a request to the app to be run again: a success is answered with the full path's
bytes and headers, and every other outcome (a refusal, an outage, a bug) is handed over to
be rendered and audited by the app exactly as if the app had run the grant itself.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.errors import DatabaseUnavailable
from idp.ops.token_fastpath import TokenFastPath
from idp.store.models import AuditEvent
from tests.oidc.rp import RP

VOLATILE = {"X-Request-Id", "Content-Length"}


@pytest.fixture
def rp(app, client):
    return RP(app, client)


@pytest.fixture
def handed(app):
    """The token requests the fast path handed to the app, and whether each carried an
    outcome (the fast path ran its grant)."""
    layer = app.wsgi_app
    while not isinstance(layer, TokenFastPath):
        layer = layer.wsgi_app
    inner, calls = layer.wsgi_app, []

    def counting(environ, start_response):
        if environ["PATH_INFO"] == "/token":
            calls.append((environ["PATH_INFO"], "idp.token_outcome" in environ))
        return inner(environ, start_response)

    layer.wsgi_app = counting
    return calls


@pytest.fixture
def grant_runs(monkeypatch):
    """How often a code was looked up (it is taken when found)."""
    from idp.oidc.grants import CodeGrant
    original, runs = CodeGrant.query_authorization_code, []

    def spy(self, code, client):
        runs.append(code)
        return original(self, code, client)

    monkeypatch.setattr(CodeGrant, "query_authorization_code", spy)
    return runs


def _headers(resp):
    return sorted((k, v) for k, v in resp.headers.items() if k not in VOLATILE)


def _token_events(app):
    with app.extensions["idp"].db.session(write=False) as s:
        return s.execute(select(AuditEvent.outcome, AuditEvent.details, AuditEvent.ip)
                         .where(AuditEvent.event == "token").order_by(AuditEvent.id)).all()


def test_code_and_refresh_are_answered_with_the_full_paths_headers(app, rp, handed, grant_runs):
    fast = rp.token(rp.login()["code"])
    cb = rp.login()
    full = rp.browser.post("/token?via=full", data={
        "grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
        "code_verifier": rp.last["verifier"]}, headers=rp.auth())
    assert fast.status_code == full.status_code == 200
    assert handed == [("/token", False)]  # only the ?via=full request reached the app
    assert _headers(fast) == _headers(full)
    assert sorted(fast.get_json()) == sorted(full.get_json())
    assert len(grant_runs) == 2
    again = rp.refresh(fast.get_json()["refresh_token"])
    assert again.status_code == 200 and _headers(again) == _headers(full)
    assert len(handed) == 1
    claims = rp.verify(again.get_json()["id_token"])
    assert claims["aud"] == rp.client_id and "at_hash" in claims
    events = _token_events(app)  # one success event per redemption, with the client's address
    assert [(o, d["grant_type"]) for o, d, _ in events] == [
        ("success", "authorization_code"), ("success", "authorization_code"),
        ("success", "refresh_token")]
    assert all(ip for _, _, ip in events)


def test_a_replayed_code_is_refused_by_the_app_without_running_it_again(app, rp, handed,
                                                                         grant_runs):
    cb = rp.login()
    tokens = rp.token(cb["code"]).get_json()
    replay = rp.token(cb["code"])
    assert replay.status_code == 400
    assert replay.get_json() == {"error": "invalid_grant",
                                 "error_description": "Invalid 'code' in request."}
    assert replay.headers["Cache-Control"] == "no-store"
    assert handed == [("/token", True)]  # the app rendered the fast path's outcome
    assert len(grant_runs) == 2  # once per request: never again in the app
    assert rp.introspect(tokens["access_token"]) == {"active": False}  # replay revoked them
    with app.extensions["idp"].db.session(write=False) as s:
        events = s.execute(select(AuditEvent.event, AuditEvent.outcome, AuditEvent.reason)
                           .where(AuditEvent.event.like("token%")).order_by(AuditEvent.id)).all()
    assert [(e, o) for e, o, _ in events] == [("token", "success"), ("token.code_replay", "failure"),
                                              ("token", "failure")]
    assert events[-1].reason == "invalid_grant"


def test_a_reused_refresh_token_is_refused_by_the_app(app, rp, handed):
    tokens = rp.tokens()
    assert rp.refresh(tokens["refresh_token"]).status_code == 200
    reuse = rp.refresh(tokens["refresh_token"])
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    assert handed == [("/token", True)]
    assert [o for o, _, _ in _token_events(app)][-1] == "failure"


def test_an_outage_during_a_redemption_is_the_apps_503_and_is_not_retried(app, rp, handed,
                                                                         grant_runs, monkeypatch):
    provider = app.extensions["idp"].provider

    def down(*args, **kwargs):
        raise DatabaseUnavailable()

    monkeypatch.setattr(provider.grant_store, "create", down)
    resp = rp.token(rp.login()["code"])
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.get_json()["error"] and "access_token" not in resp.get_json()
    assert handed == [("/token", True)] and len(grant_runs) == 1


def test_a_bug_during_a_redemption_is_a_500_from_the_app_not_a_second_run(app, rp, handed,
                                                                        grant_runs, monkeypatch):
    provider = app.extensions["idp"].provider
    monkeypatch.setattr(provider, "id_token_for", lambda *a, **k: 1 / 0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    resp = rp.token(rp.login()["code"])
    assert resp.status_code == 500
    assert handed == [("/token", True)] and len(grant_runs) == 1


@pytest.mark.parametrize("extra", [{"scope": "openid"}, {"client_id": "x"}, {"resource": "y"}])
def test_other_shapes_take_the_full_path_untouched(rp, handed, grant_runs, extra):
    resp = rp.token(rp.login()["code"], **extra)
    assert handed == [("/token", False)] and len(grant_runs) <= 1
    assert resp.status_code in (200, 400, 401)
