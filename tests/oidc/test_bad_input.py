"""Bad input everywhere gets a clear 4xx, never a 500 (DESIGN section 13)."""
from __future__ import annotations

import io
import os

import pytest

from tests.oidc.rp import RP

GARBAGE = {
    "binary": (os.urandom(512), "application/octet-stream"),
    "binary_as_form": (b"\xff\xfe\x00\x01=%%%\x80&&==\xc3", "application/x-www-form-urlencoded"),
    "bad_json": (b'{"a": [1, 2', "application/json"),
    "deep_json": (b"[" * 5000 + b"]" * 5000, "application/json"),
    "bad_percent": (b"grant_type=%zz&code=%&&=x", "application/x-www-form-urlencoded"),
    "nul_bytes": (b"grant_type=\x00\x00&token=\x00", "application/x-www-form-urlencoded"),
    "huge_value": (b"token=" + b"A" * 200_000, "application/x-www-form-urlencoded"),
    "many_params": (b"&".join(b"p%d=1" % i for i in range(5000)), "application/x-www-form-urlencoded"),
    "multipart": (b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n",
                  "multipart/form-data; boundary=x"),
    "text": ("令牌=值".encode(), "text/plain; charset=utf-8"),
}
POST_ENDPOINTS = ["/token", "/introspect", "/revoke", "/userinfo", "/authorize", "/end-session",
                  "/login/abcdefghijklmnopqrstuvwxyz/test", "/login/abcdefghijklmnopqrstuvwxyz/consent",
                  "/login/abcdefghijklmnopqrstuvwxyz/cancel"]
GET_ENDPOINTS = [
    "/authorize", "/authorize?client_id=%00&redirect_uri=%ff", "/authorize?" + "a=1&" * 2000,
    "/authorize?client_id=" + "x" * 10_000, "/authorize?claims=%7B%7B%7B",
    "/userinfo", "/end-session?id_token_hint=a.b.c", "/end-session?post_logout_redirect_uri=%00",
    "/end-session?client_id=" + "x" * 5000, "/login/x", "/login/" + "y" * 500,
    "/login/abcdefghijklmnopqrstuvwxyz/consent", "/jwks.json", "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server", "/nope", "/api/v1/nope", "/token/extra",
    "/%ff%fe", "/authorize?response_type=code&client_id[]=1",
]


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
@pytest.mark.parametrize("kind", list(GARBAGE))
def test_no_500_on_garbage_posts(shared_client, endpoint, kind):
    body, content_type = GARBAGE[kind]
    resp = shared_client.post(endpoint, data=body, content_type=content_type)
    assert 400 <= resp.status_code < 500 or resp.status_code in (200, 302), \
        (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.status_code != 500


@pytest.mark.parametrize("path", GET_ENDPOINTS)
def test_no_500_on_garbage_gets(shared_client, path):
    resp = shared_client.get(path)
    assert resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:300])


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/token", "/authorize", "/userinfo", "/jwks.json", "/introspect"])
def test_wrong_method_is_405_with_allow(shared_client, method, path):
    resp = shared_client.open(path, method=method)
    assert resp.status_code == 405
    assert resp.headers["Allow"]
    assert method not in resp.headers["Allow"]


@pytest.mark.parametrize("path", ["/token/x", "/api/v1/nothing", "/admin/api/v1/nothing",
                                  "/.well-known/webfinger", "/userinfo/1"])
def test_unknown_api_paths_are_json_404(shared_client, path):
    resp = shared_client.get(path)
    assert resp.status_code == 404 and resp.mimetype == "application/json"
    assert resp.get_json()["error"] == "not_found"


def test_unknown_page_is_html_404(client):
    resp = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert resp.status_code == 404 and resp.mimetype == "text/html"


@pytest.mark.parametrize("endpoint", ["/token", "/introspect", "/revoke"])
def test_oversized_body_is_413_json(make_app, endpoint):
    app = make_app(max_body_bytes=4096)
    client = app.test_client()
    resp = client.post(endpoint, data={"grant_type": "client_credentials", "pad": "x" * 5000})
    assert resp.status_code == 413
    assert resp.get_json() == {"error": "invalid_request", "error_description":
                               "the request body is larger than this endpoint accepts"}


def test_oversized_body_without_length_is_413(make_app):
    app = make_app(max_body_bytes=4096)
    client = app.test_client()

    body = io.BytesIO(b"&".join(b"a%d=" % i + b"x" * 1000 for i in range(10)))
    resp = client.post("/token", input_stream=body, content_type="application/x-www-form-urlencoded",
                       headers={"Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})  # as gunicorn sets it
    assert resp.status_code == 413


def test_huge_authorize_values_are_refused_with_a_page(app, client):
    rp = RP(app, client)
    resp = rp.authorize(state="s" * 5000)
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_huge_but_valid_token_request_values(app, client):
    rp = RP(app, client)
    resp = client.post("/token", data={"grant_type": "authorization_code", "code": "c" * 100_000,
                                       "redirect_uri": rp.redirect}, headers=rp.auth())
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_grant"


def test_security_headers_on_pages_and_apis(app, client):
    rp = RP(app, client)
    page = client.get(rp.authorize().headers["Location"])
    for resp in (page, client.get("/jwks.json"), client.post("/token", data={"a": "b"})):
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
