"""The client-credentials fast path (idp.ops.token_fastpath) answers exactly as the full path.

The same request with a query string (ignored by the grant) takes Flask's full cycle, so
each case compares the two.  Every refused request must reach the full path: a fast path
that skipped a check would answer 200 where the full path refuses.
"""
from __future__ import annotations

import base64
import logging

import pytest

from idp.ops import metrics
from idp.ops.token_fastpath import TokenFastPath
from tests.oidc.rp import RP

CC = {"grant_type": "client_credentials"}
VOLATILE = {"X-Request-Id", "Content-Length"}


@pytest.fixture
def service(app, client):
    return RP(app, client, grant_types=["client_credentials"], scope="liveness", redirect_uris=[])


@pytest.fixture
def full_path_calls(app):
    """How many requests the fast path handed to the app."""
    layer = app.wsgi_app
    while not isinstance(layer, TokenFastPath):
        layer = layer.wsgi_app
    inner, calls = layer.wsgi_app, []

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    layer.wsgi_app = counting
    return calls


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _both(client, data, headers):
    fast = client.post("/token", data=data, headers=headers)
    full = client.post("/token?via=full", data=data, headers=headers)
    return fast, full


def _headers(resp):
    return [(k, v) for k, v in resp.headers.items() if k not in VOLATILE]


def test_valid_request_is_answered_without_flask_with_the_full_paths_headers(
        service, client, full_path_calls):
    fast, full = _both(client, {**CC, "scope": "liveness"}, service.auth())
    assert full_path_calls == ["/token"]  # only the ?via=full request
    assert fast.status_code == full.status_code == 200
    assert _headers(fast) == _headers(full)
    assert fast.headers["Cache-Control"] == "no-store" and fast.headers["X-Request-Id"]
    body = fast.get_json()
    assert set(body) == set(full.get_json()) == {"access_token", "token_type", "expires_in", "scope"}
    claims = service.verify(body["access_token"])
    assert claims["client_id"] == service.client_id and claims["scope"] == "liveness"
    assert service.introspect(body["access_token"])["active"] is True


def test_client_secret_post_takes_the_fast_path(app, client, full_path_calls):
    rp = RP(app, client, grant_types=["client_credentials"], scope="liveness", redirect_uris=[],
            token_endpoint_auth_method="client_secret_post")
    resp = client.post("/token", data={**CC, "client_id": rp.client_id, "client_secret": rp.secret})
    assert resp.status_code == 200 and full_path_calls == []
    assert resp.get_json()["scope"] == "liveness"


@pytest.mark.parametrize("case", ["wrong_secret", "unknown_client", "empty_secret", "bad_scope",
                                  "repeated_grant_type", "basic_for_post_client",
                                  "post_for_basic_client", "no_cc_grant",
                                  "disabled", "other_grant"])
def test_every_refusal_is_the_full_paths_answer(app, client, service, full_path_calls, case):
    data, headers = {**CC}, service.auth()
    if case == "wrong_secret":
        headers = _basic(service.client_id, service.secret[:-2] + "xx")
    elif case == "unknown_client":
        headers = _basic("no-such-client", service.secret)
    elif case == "empty_secret":
        headers = _basic(service.client_id, "")
    elif case == "bad_scope":
        data["scope"] = "liveness admin"
    elif case == "repeated_grant_type":
        from werkzeug.datastructures import MultiDict
        data = MultiDict([("grant_type", "client_credentials"), ("grant_type", "client_credentials")])
    elif case == "basic_for_post_client":
        rp = RP(app, client, grant_types=["client_credentials"], scope="liveness", redirect_uris=[],
                token_endpoint_auth_method="client_secret_post")
        headers = _basic(rp.client_id, rp.secret)
    elif case == "post_for_basic_client":
        data.update(client_id=service.client_id, client_secret=service.secret)
        headers = {}
    elif case == "no_cc_grant":
        rp = RP(app, client)  # an authorization-code client
        headers = rp.auth()
    elif case == "disabled":
        app.extensions["idp"].clients.set_enabled(service.client_id, False)
    elif case == "other_grant":
        data = {"grant_type": "refresh_token", "refresh_token": "x" * 40}
    fast, full = _both(client, data, headers)
    assert fast.status_code == full.status_code and fast.status_code in (400, 401)
    assert fast.get_json() == full.get_json()
    assert _headers(fast) == _headers(full)
    assert len(full_path_calls) == 2  # the fast path answered neither


def test_credentials_in_header_and_body_are_left_to_the_full_path(service, client, full_path_calls):
    data = {**CC, "client_id": service.client_id, "client_secret": service.secret}
    fast, full = _both(client, data, service.auth())
    assert fast.status_code == full.status_code and len(full_path_calls) == 2


def test_a_rotated_secret_stops_working_at_once(app, client, service, full_path_calls):
    assert client.post("/token", data=CC, headers=service.auth()).status_code == 200
    new = app.extensions["idp"].clients.rotate_secret(service.client_id)
    assert client.post("/token", data=CC, headers=service.auth()).status_code == 401
    assert client.post("/token", data=CC, headers=_basic(service.client_id, new)).status_code == 200


def test_refusals_are_still_audited(app, client, service):
    from sqlalchemy import select

    from idp.store.models import AuditEvent
    client.post("/token", data=CC, headers=_basic(service.client_id, "wrong"))
    with app.extensions["idp"].db.session(write=False) as s:  # append returns once committed
        rows = s.execute(select(AuditEvent.client_id).where(
            AuditEvent.event == "token", AuditEvent.outcome == "failure")).all()
    assert [r.client_id for r in rows] == [service.client_id]


def test_metrics_and_access_line_as_the_full_path(service, client, full_path_calls, caplog):
    tokens = metrics.TOKENS.labels("client_credentials")
    requests = metrics.REQUESTS.labels("oidc.token", "POST", "200")
    before = tokens._value.get(), requests._value.get()
    with caplog.at_level(logging.INFO, logger="idp.access"):
        resp = client.post("/token", data=CC, headers={**service.auth(), "X-Request-Id": "req-12345678"})
    assert resp.status_code == 200 and full_path_calls == []
    assert (tokens._value.get(), requests._value.get()) == (before[0] + 1, before[1] + 1)
    line = [r for r in caplog.records if r.name == "idp.access"][-1]
    assert line.getMessage() == "POST /token 200"
    assert (line.request_id, line.route, line.status) == ("req-12345678", "/token", 200)
    assert resp.headers["X-Request-Id"] == "req-12345678"


def test_a_token_rate_limit_keeps_the_full_path(make_app):
    app = make_app(rate_limit_token=600)
    layer, found = app.wsgi_app, False
    while hasattr(layer, "wsgi_app"):
        found = found or isinstance(layer, TokenFastPath)
        layer = layer.wsgi_app
    assert not found


def test_the_transport_check_is_kept_per_uri_and_an_insecure_uri_always_fails():
    from authlib.oauth2.rfc6749 import OAuth2Request
    from authlib.oauth2.rfc6749.errors import InsecureTransportError

    from idp.ops.token_fastpath import _FormRequest

    _FormRequest._passed.clear()
    secure = "http://127.0.0.1:8000/token"
    first = _FormRequest(secure, {"h": "1"}, {"grant_type": "client_credentials"})
    kept = _FormRequest._passed[secure]
    # Only plain values are copied from one request to the next (a newer Authlib that set a
    # mutable attribute in OAuth2Request.__init__ would share it between requests).
    assert all(v is None or isinstance(v, (str, int, bool, tuple)) for k, v in kept.items()
               if k != "headers"), kept
    second = _FormRequest(secure, {"h": "2"}, {"grant_type": "client_credentials",
                                               "scope": "x"})
    fresh = OAuth2Request("POST", secure, headers={"h": "2"})
    ignore = {"payload", "_form"}
    assert {k: v for k, v in vars(second).items() if k not in ignore} == \
        {k: v for k, v in vars(fresh).items() if k not in ignore}
    assert second.form == {"grant_type": "client_credentials", "scope": "x"}
    assert first.headers == {"h": "1"} and first.form == {"grant_type": "client_credentials"}
    # An attacker's Host naming a public name over plain HTTP: refused every time, never kept.
    for _ in range(2):
        with pytest.raises(InsecureTransportError):
            _FormRequest("http://op.example.org/token", {}, {"grant_type": "client_credentials"})
    assert list(_FormRequest._passed) == [secure]
