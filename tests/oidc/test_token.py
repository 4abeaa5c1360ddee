"""The token endpoint: authorization code grant and client authentication (RFC 6749 sections
3.2, 4.1.3, 5.2; RFC 7636 section 4.6)."""
from __future__ import annotations

import base64
import time

import pytest

from tests.oidc.rp import RP, pkce_pair


@pytest.fixture
def rp(app, client):
    return RP(app, client)


def _error(resp, status, error, description=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    if description is None:
        assert body["error"] == error, body
    else:
        assert body == {"error": error, "error_description": description}
    assert resp.headers["Cache-Control"] == "no-store"
    return body


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


# -- authorization codes ---------------------------------------------------------------------------
def test_code_is_single_use_and_replay_revokes_its_tokens(rp, client):
    cb = rp.login()
    first = rp.token(cb["code"])
    assert first.status_code == 200
    tokens = first.get_json()
    assert rp.introspect(tokens["access_token"])["active"] is True

    _error(rp.token(cb["code"]), 400, "invalid_grant", "Invalid 'code' in request.")
    # RFC 6749 section 4.1.2: the tokens issued from the code are revoked
    assert rp.introspect(tokens["access_token"]) == {"active": False}
    assert rp.introspect(tokens["refresh_token"]) == {"active": False}
    _error(rp.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    info = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.status_code == 401


def test_replay_is_audited(app, rp):
    from sqlalchemy import select
    from idp.store.models import AuditEvent
    cb = rp.login()
    rp.token(cb["code"])
    rp.token(cb["code"])
    with app.extensions["idp"].db.session(write=False) as s:
        events = s.execute(select(AuditEvent.event, AuditEvent.outcome)
                           .where(AuditEvent.event == "token.code_replay")).all()
    assert events == [("token.code_replay", "failure")]


def test_expired_code_is_invalid_grant(make_app):
    app = make_app(code_ttl=1)
    rp = RP(app, app.test_client())
    cb = rp.login()
    time.sleep(1.5)
    _error(rp.token(cb["code"]), 400, "invalid_grant", "Invalid 'code' in request.")


@pytest.mark.parametrize("change, status, error, description", [
    ({"code_verifier": "x" * 43}, 400, "invalid_grant", "Code challenge failed."),
    ({"code_verifier": None}, 400, "invalid_request", "Missing 'code_verifier'"),
    ({"code_verifier": "short"}, 400, "invalid_request", "Invalid 'code_verifier'"),
    ({"redirect_uri": "https://rp.example.org/other"}, 400, "invalid_grant",
     "Invalid 'redirect_uri' in request."),
    ({"redirect_uri": None}, 400, "invalid_grant", "Invalid 'redirect_uri' in request."),
    ({"code": "not-a-code"}, 400, "invalid_grant", "Invalid 'code' in request."),
    ({"code": "c" * 300}, 400, "invalid_grant", "Invalid 'code' in request."),
    ({"code": None}, 400, "invalid_request", "Missing 'code' in request."),
])
def test_bad_code_redemptions(rp, client, change, status, error, description):
    cb = rp.login()
    data = {"grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
            "code_verifier": rp.last["verifier"]}
    data.update(change)
    data = {k: v for k, v in data.items() if v is not None}
    _error(client.post("/token", data=data, headers=rp.auth()), status, error, description)


def test_verifier_without_challenge_is_refused(rp, client):
    resp = rp.authorize(code_challenge=None, code_challenge_method=None)
    assert resp.status_code == 302
    cb = rp.login(code_challenge=None, code_challenge_method=None)
    _error(rp.token(cb["code"], verifier="v" * 43), 400, "invalid_request")


def test_code_of_another_client_is_invalid_grant(app, client, rp):
    other = RP(app, client)
    cb = rp.login()
    data = {"grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
            "code_verifier": rp.last["verifier"]}
    _error(client.post("/token", data=data, headers=other.auth()), 400, "invalid_grant")
    # and the code is burnt: its own client cannot redeem it afterwards
    _error(rp.token(cb["code"]), 400, "invalid_grant")


# -- client authentication ----------------------------------------------------------------------
def test_wrong_secret_is_invalid_client_401(rp, client):
    cb = rp.login()
    resp = client.post("/token", data={"grant_type": "authorization_code", "code": cb["code"],
                                       "redirect_uri": rp.redirect,
                                       "code_verifier": rp.last["verifier"]},
                       headers=_basic(rp.client_id, "wrong"))
    body = _error(resp, 401, "invalid_client")
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    assert "invalid_client" in resp.headers["WWW-Authenticate"]
    assert set(body) == {"error", "error_description"}
    # a failed authentication does not consume the code
    assert rp.token(cb["code"]).status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic !!!"},
    {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    {"Authorization": "Bearer abc"},
    {"Authorization": "Basic " + base64.b64encode(b"unknown:secret").decode()},
])
def test_missing_or_malformed_client_authentication(rp, client, headers):
    resp = client.post("/token", data={"grant_type": "authorization_code", "code": "x",
                                       "redirect_uri": rp.redirect}, headers=headers)
    _error(resp, 401, "invalid_client")


def test_client_secret_post(app, client):
    rp = RP(app, client, token_endpoint_auth_method="client_secret_post")
    cb = rp.login()
    data = {"grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
            "code_verifier": rp.last["verifier"], "client_id": rp.client_id}
    # basic is not this client's registered method
    _error(client.post("/token", data=data, headers=rp.auth()), 401, "invalid_client")
    resp = client.post("/token", data={**data, "client_secret": rp.secret})
    assert resp.status_code == 200 and resp.get_json()["id_token"]


def test_client_secret_basic_client_cannot_use_post(rp, client):
    cb = rp.login()
    data = {"grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
            "code_verifier": rp.last["verifier"], "client_id": rp.client_id,
            "client_secret": rp.secret}
    _error(client.post("/token", data=data), 401, "invalid_client")


@pytest.mark.parametrize("grant", ["authorization_code", "client_credentials", "introspect"])
@pytest.mark.parametrize("extra", [
    {"client_secret": "SECRET"},  # Basic and client_secret_post at once
    {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
     "client_assertion": "a.b.c"},  # Basic and private_key_jwt at once
])
def test_two_authentication_methods_are_invalid_request(app, rp, client, grant, extra):
    """RFC 6749 section 2.3: a client MUST NOT use more than one authentication method in a
    request; the request is refused even when each method alone would have passed."""
    extra = {k: (rp.secret if v == "SECRET" else v) for k, v in extra.items()}
    if grant == "introspect":
        resp = client.post("/introspect", data={"token": "x", "client_id": rp.client_id, **extra},
                           headers=rp.auth())
    elif grant == "client_credentials":
        resp = client.post("/token", data={"grant_type": "client_credentials", **extra},
                           headers=rp.auth())
    else:
        cb = rp.login()
        resp = rp.token(cb["code"], client_id=rp.client_id, **extra)
        ok = rp.token(cb["code"])  # the refused request did not use the code up
        assert ok.status_code == 200, ok.get_data(as_text=True)
    body = _error(resp, 400, "invalid_request")
    assert "RFC 6749 section 2.3" in body["error_description"]


def test_client_secret_and_assertion_in_the_body_are_invalid_request(app, client):
    rp = RP(app, client, token_endpoint_auth_method="client_secret_post")
    resp = client.post("/token", data={
        "grant_type": "client_credentials", "client_id": rp.client_id, "client_secret": rp.secret,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "a.b.c"})
    _error(resp, 400, "invalid_request")


def test_basic_with_client_id_in_the_body_is_one_method(rp):
    cb = rp.login()
    resp = rp.token(cb["code"], client_id=rp.client_id)  # RFC 6749 4.1.3 allows client_id here
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_public_client_with_pkce_needs_no_secret(app, client):
    rp = RP(app, client, token_endpoint_auth_method="none")
    assert rp.secret is None
    cb = rp.login()
    data = {"grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
            "code_verifier": rp.last["verifier"], "client_id": rp.client_id}
    resp = client.post("/token", data=data)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert rp.verify(body["id_token"])["aud"] == rp.client_id


def test_public_client_without_verifier_is_refused(app, client):
    rp = RP(app, client, token_endpoint_auth_method="none")
    cb = rp.login()
    data = {"grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
            "client_id": rp.client_id}
    _error(client.post("/token", data=data), 400, "invalid_request", "Missing 'code_verifier'")


def test_public_client_cannot_pretend_to_be_confidential(app, client, rp):
    # a confidential client's id with no secret (method none) is refused
    cb = rp.login()
    data = {"grant_type": "authorization_code", "code": cb["code"], "redirect_uri": rp.redirect,
            "code_verifier": rp.last["verifier"], "client_id": rp.client_id}
    _error(client.post("/token", data=data), 401, "invalid_client")


def test_disabled_client_is_invalid_client(app, rp):
    cb = rp.login()
    app.extensions["idp"].clients.set_enabled(rp.client_id, False)
    _error(rp.token(cb["code"]), 401, "invalid_client")


# -- request shape -----------------------------------------------------------------------------
def test_unknown_grant_type(rp, client):
    _error(client.post("/token", data={"grant_type": "password", "username": "a", "password": "b"},
                       headers=rp.auth()),
           400, "unsupported_grant_type", "grant_type=password is not supported")


def test_missing_grant_type_is_invalid_request(rp, client):
    # RFC 6749 section 5.2: a missing required parameter is invalid_request
    _error(client.post("/token", data={"code": "x"}, headers=rp.auth()),
           400, "invalid_request", "grant_type is missing")


def test_client_not_allowed_the_grant_is_unauthorized_client(app, client):
    rp = RP(app, client, grant_types=["authorization_code"])
    _error(client.post("/token", data={"grant_type": "client_credentials"}, headers=rp.auth()),
           400, "unauthorized_client")
    _error(client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x"},
                       headers=rp.auth()),
           400, "unauthorized_client")


def test_code_flow_without_refresh_grant_issues_no_refresh_token(app, client):
    rp = RP(app, client, grant_types=["authorization_code"])
    body = rp.tokens(scope="openid offline_access")
    assert "refresh_token" not in body and body["id_token"]


def test_repeated_parameter_is_invalid_request(rp, client):
    resp = client.post("/token", data="grant_type=authorization_code&code=a&code=b",
                       content_type="application/x-www-form-urlencoded", headers=rp.auth())
    _error(resp, 400, "invalid_request", "parameter code is repeated (RFC 6749 section 3.2)")


@pytest.mark.parametrize("kwargs", [
    {"json": {"grant_type": "client_credentials"}},
    {"data": b"grant_type=client_credentials", "content_type": "text/plain"},
    {"data": b"", "content_type": "multipart/form-data; boundary=x"},
    {},
])
def test_wrong_content_type_is_415(rp, client, kwargs):
    resp = client.post("/token", headers=rp.auth(), **kwargs)
    _error(resp, 415, "invalid_request",
           "this endpoint takes application/x-www-form-urlencoded (RFC 6749 section 3.2)")


def test_get_is_405_with_allow(client):
    resp = client.get("/token")
    assert resp.status_code == 405 and "POST" in resp.headers["Allow"].split(", ")
    assert resp.get_json()["error"] == "invalid_request"


def test_token_response_headers(rp):
    resp = rp.token(rp.login()["code"])
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Pragma"] == "no-cache"
    assert resp.mimetype == "application/json"


def test_pkce_pair_helper_is_s256():
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128 and len(challenge) == 43


def test_token_requests_are_audited(app, rp, client):
    from sqlalchemy import select
    from idp.store.models import AuditEvent
    cb = rp.login()
    rp.token(cb["code"])
    client.post("/token", data={"grant_type": "client_credentials"},
                headers=_basic(rp.client_id, "wrong"))
    client.post("/token", data={"grant_type": "client_credentials"},
                headers=_basic("x" * 500, "wrong"))  # unknown ids are not recorded
    with app.extensions["idp"].db.session(write=False) as s:
        rows = s.execute(select(AuditEvent.outcome, AuditEvent.client_id, AuditEvent.reason,
                                AuditEvent.details)
                         .where(AuditEvent.event == "token").order_by(AuditEvent.id)).all()
    assert [(r.outcome, r.client_id, r.reason) for r in rows] == [
        ("success", rp.client_id, None), ("failure", rp.client_id, "invalid_client"),
        ("failure", None, "invalid_client")]
    assert rows[0].details == {"grant_type": "authorization_code"}


@pytest.mark.parametrize("grant_type, shown", [
    ('x"y\\z', "grant_type=x?y?z is not supported"),
    ("令牌", "grant_type=?? is not supported"),
    ("g" * 500, None),
])
def test_unknown_grant_type_description_is_safe(rp, client, grant_type, shown):
    resp = client.post("/token", data={"grant_type": grant_type}, headers=rp.auth())
    body = _error(resp, 400, "unsupported_grant_type")
    if shown:
        assert body["error_description"] == shown
    assert len(body["error_description"]) <= 200


def test_client_credentials_successes_are_counted_not_chained(app, client):
    """Machine tokens go to the metrics; the audit trail keeps only their failures."""
    from sqlalchemy import func, select
    from idp.store.models import AuditEvent
    state = app.extensions["idp"]
    machine, secret = state.clients.create({"client_name": "m2m", "grant_types": ["client_credentials"],
                                            "scope": "liveness"})
    for _ in range(3):
        assert client.post("/token", data={"grant_type": "client_credentials"},
                           headers=_basic(machine.client_id, secret)).status_code == 200
    client.post("/token", data={"grant_type": "client_credentials"},
                headers=_basic(machine.client_id, "wrong"))
    with state.db.session(write=False) as s:
        rows = s.execute(select(AuditEvent.outcome, func.count()).where(
            AuditEvent.event == "token", AuditEvent.client_id == machine.client_id)
            .group_by(AuditEvent.outcome)).all()
    assert dict(rows) == {"failure": 1}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'grant_type="client_credentials"' in metrics
