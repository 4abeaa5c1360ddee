"""The authorization endpoint (RFC 6749 section 4.1, OIDC Core section 3.1.2).

Errors before the client and its redirect URI are known render a page and never redirect
(RFC 6749 section 4.1.2.1); later errors go back to the client with ``error``, ``state``
and ``iss`` (RFC 9207).
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.oidc.rp import REDIRECT, RP, csrf_from, pkce_pair, query

ISS = "http://127.0.0.1:8000"
FACE_ACTIVE = "urn:idp:acr:person:face-active"


@pytest.fixture
def rp(app, client):
    return RP(app, client)


def _page_error(resp, error):
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "Location" not in resp.headers
    assert resp.mimetype == "text/html"
    assert f'data-error="{error}"' in resp.get_data(as_text=True)


# -- errors shown as a page: the redirect URI cannot be trusted -------------------------------
@pytest.mark.parametrize("params, error", [
    ({"redirect_uri": "https://evil.example.com/cb"}, "invalid_request"),
    ({"redirect_uri": REDIRECT + "/"}, "invalid_request"),  # exact match only
    ({"redirect_uri": REDIRECT + "?x=1"}, "invalid_request"),
    ({"redirect_uri": None}, "invalid_request"),
    ({"client_id": None}, "invalid_request"),
    ({"client_id": "no-such-client"}, "invalid_client"),
    ({"client_id": "x" * 3000}, "invalid_request"),
])
def test_untrusted_client_or_redirect_uri_renders_a_page(rp, params, error):
    _page_error(rp.authorize(**params), error)


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_repeated_client_id_or_redirect_uri_renders_a_page(rp, client, name):
    _, challenge = pkce_pair()
    params = [("response_type", "code"), ("client_id", rp.client_id), ("redirect_uri", REDIRECT),
              ("scope", "openid"), ("code_challenge", challenge), ("code_challenge_method", "S256"),
              (name, rp.client_id if name == "client_id" else REDIRECT)]
    _page_error(client.get("/authorize?" + urlencode(params)), "invalid_request")


def test_disabled_client_renders_a_page(app, rp):
    app.extensions["idp"].clients.set_enabled(rp.client_id, False)
    _page_error(rp.authorize(), "invalid_client")


# -- errors sent back to the client ------------------------------------------------------------
def _redirect_error(resp, rp, error, description=None):
    assert resp.status_code == 302, resp.get_data(as_text=True)
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    params = query(location)
    assert params["error"] == error, params
    assert params["state"] == rp.last["state"]
    assert params["iss"] == ISS  # RFC 9207
    assert "code" not in params
    if description is not None:
        assert params["error_description"] == description
    return params


CLAIMS_BAD = [
    ("not json", "claims parameter is not valid JSON"),
    ("[1, 2]", "claims parameter must be a JSON object"),
    ('{"id_token": 5}', "claims.id_token must be a JSON object"),
    ('{"userinfo": {"name": 1}}', "claims.userinfo.name must be null or an object"),
    # OIDC Core 5.5.1: essential is a boolean, value a string, values an array (of strings:
    # every claim this OP releases is a string)
    ('{"id_token": {"acr": {"essential": true, "values": 5}}}',
     "claims.id_token.acr.values must be an array of strings"),
    ('{"id_token": {"acr": {"essential": true, "values": [5]}}}',
     "claims.id_token.acr.values must be an array of strings"),
    ('{"id_token": {"acr": {"essential": "yes", "values": ["urn:idp:acr:person:face"]}}}',
     "claims.id_token.acr.essential must be a boolean"),
    ('{"id_token": {"acr": {"essential": true, "value": ["urn:idp:acr:person:face"]}}}',
     "claims.id_token.acr.value must be a string"),
    ('{"userinfo": {"name": {"essential": 1}}}', "claims.userinfo.name.essential must be a boolean"),
    ('{"id_token": {"acr": {"value": NaN}}}', "NaN is not a JSON value (RFC 8259)"),
    ("[" * 1000 + "]" * 1000, "claims parameter is nested deeper than 8 levels"),
]


@pytest.mark.parametrize("params, error, description", [
    ({"response_type": "token"}, "unsupported_response_type", "only response_type=code is supported"),
    ({"response_type": "code id_token"}, "unsupported_response_type", "only response_type=code is supported"),
    ({"response_type": None}, "invalid_request", "response_type is missing"),
    ({"scope": "openid admin"}, "invalid_scope", "the client may not request scope admin"),
    ({"scope": "openid liveness"}, "invalid_scope", "the client may not request scope liveness"),
    ({"scope": "profile"}, "invalid_scope", "scope must include openid"),
    ({"scope": None}, "invalid_scope", "scope must include openid"),
    ({"code_challenge_method": "plain"}, "invalid_request", "code_challenge_method must be S256"),
    ({"code_challenge": "short"}, "invalid_request", "code_challenge is missing or malformed"),
    ({"code_challenge": "a" * 42}, "invalid_request", "code_challenge is missing or malformed"),
    ({"code_challenge": "a" * 129}, "invalid_request", "code_challenge is missing or malformed"),
    ({"code_challenge": "+" * 43}, "invalid_request", "code_challenge is missing or malformed"),
    ({"code_challenge": None}, "invalid_request", "code_challenge is missing or malformed"),
    ({"prompt": "none login"}, "invalid_request", "prompt=none cannot be combined with other values"),
    ({"prompt": "sometimes"}, "invalid_request", "unknown prompt value"),
    ({"max_age": "-1"}, "invalid_request", "max_age must be a non-negative integer"),
    ({"max_age": "1.5"}, "invalid_request", "max_age must be a non-negative integer"),
    ({"max_age": "ten"}, "invalid_request", "max_age must be a non-negative integer"),
    ({"max_age": "9" * 12}, "invalid_request", "max_age must be a non-negative integer"),
    *[({"claims": raw}, "invalid_request", text) for raw, text in CLAIMS_BAD],
    ({"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": ["urn:other:loa:4"]}}})},
     "access_denied", "none of the essential acr values can be satisfied"),
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported", "request objects are not supported"),
    ({"request_uri": "https://rp.example.org/req.jwt"}, "request_uri_not_supported",
     "request_uri is not supported"),
    ({"response_mode": "fragment"}, "invalid_request", "only response_mode=query is supported"),
    ({"id_token_hint": "garbage"}, "invalid_request", "id_token_hint is not an ID token issued by this OP"),
])
def test_errors_redirect_with_state_and_iss(rp, params, error, description):
    _redirect_error(rp.authorize(**params), rp, error, description)


def test_repeated_other_parameter_redirects_invalid_request(rp, client):
    _, challenge = pkce_pair()
    params = [("response_type", "code"), ("client_id", rp.client_id), ("redirect_uri", REDIRECT),
              ("scope", "openid"), ("scope", "openid profile"), ("state", "s1"),
              ("code_challenge", challenge), ("code_challenge_method", "S256")]
    resp = client.get("/authorize?" + urlencode(params))
    assert resp.status_code == 302
    assert query(resp.headers["Location"]) == {
        "error": "invalid_request", "error_description": "parameter scope is repeated",
        "state": "s1", "iss": ISS}


def test_public_client_must_use_pkce(app, client):
    public = RP(app, client, token_endpoint_auth_method="none")
    resp = public.authorize(code_challenge=None, code_challenge_method=None)
    _redirect_error(resp, public, "invalid_request",
                    "PKCE (code_challenge with S256) is required for public clients")


def test_confidential_client_may_skip_pkce(rp):
    resp = rp.authorize(code_challenge=None, code_challenge_method=None)
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_client_without_code_grant_is_unauthorized(app, client):
    cc = RP(app, client, grant_types=["client_credentials"], scope="openid liveness")
    _redirect_error(cc.authorize(), cc, "unauthorized_client")


def test_unknown_scopes_and_parameters_are_ignored(rp):
    cb = rp.login(scope="openid profile made-up-scope", foo="bar", acr_values="urn:unknown")
    tokens = rp.token(cb["code"]).get_json()
    assert tokens["scope"] == "openid profile"
    assert rp.verify(tokens["id_token"])["name"] == "张三"


def test_state_is_optional(rp):
    resp = rp.authorize(state=None, response_type="token")
    params = query(resp.headers["Location"])
    assert "state" not in params and params["error"] == "unsupported_response_type"


# -- prompt=none ---------------------------------------------------------------------------------
def test_prompt_none_without_session_is_login_required(rp):
    _redirect_error(rp.authorize(prompt="none"), rp, "login_required")


def test_prompt_none_with_session_but_no_consent_is_consent_required(app, client, rp):
    rp.login()
    other = RP(app, client)  # same browser, another client the user never consented to
    _redirect_error(other.authorize(prompt="none"), other, "consent_required")


def test_prompt_none_with_session_and_consent_answers_silently(rp):
    rp.login()
    resp = rp.authorize(prompt="none")
    params = query(resp.headers["Location"])
    assert params["code"] and params["state"] == rp.last["state"] and params["iss"] == ISS


# -- POST, locales, hints ----------------------------------------------------------------------
def test_post_authorize_form_encoded(rp, client):
    verifier, challenge = pkce_pair()
    resp = client.post("/authorize", data={
        "response_type": "code", "client_id": rp.client_id, "redirect_uri": REDIRECT,
        "scope": "openid", "state": "st", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_post_authorize_rejects_json(rp, client):
    resp = client.post("/authorize", json={"client_id": rp.client_id})
    assert resp.status_code == 415
    assert resp.get_json() == {
        "error": "invalid_request",
        "error_description": "POST /authorize takes application/x-www-form-urlencoded"}


@pytest.mark.parametrize("locales, expected, absent", [
    ("en", "Choose how to log in", "请选择登录方式"),
    ("fr en-GB", "Choose how to log in", "请选择登录方式"),
    (None, "请选择登录方式", "Choose how to log in"),
])
def test_ui_locales_chooses_the_page_language(rp, client, locales, expected, absent):
    resp = rp.authorize(ui_locales=locales)
    page = client.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert expected in html and absent not in html


def test_login_hint_is_kept_in_the_transaction(app, rp):
    resp = rp.authorize(login_hint="alice@example")
    txn_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert app.extensions["idp"].provider.transactions.load(txn_id).login_hint == "alice@example"


def test_id_token_hint_of_another_client_is_rejected(app, client, rp):
    other = RP(app, client)
    hint = other.tokens()["id_token"]
    _redirect_error(rp.authorize(id_token_hint=hint), rp, "invalid_request",
                    "id_token_hint was issued to another client")


def test_id_token_hint_of_the_session_user_answers_silently(rp):
    hint = rp.tokens()["id_token"]
    resp = rp.authorize(id_token_hint=hint, prompt="none")
    assert "code" in query(resp.headers["Location"])


def test_id_token_hint_for_another_user_forces_login(app, client, rp):
    bob_hint = rp.tokens(user="bob")["id_token"]
    rp.login(user="alice", prompt="login")  # the browser's session is now alice's
    _redirect_error(rp.authorize(id_token_hint=bob_hint, prompt="none"), rp, "login_required")
    resp = rp.authorize(id_token_hint=bob_hint)
    assert "/login/" in resp.headers["Location"]


def test_login_page_carries_csrf_and_lists_methods(rp, client):
    page = client.get(rp.authorize().headers["Location"])
    html = page.get_data(as_text=True)
    assert csrf_from(html) and 'id="method-test"' in html
    assert page.headers["Cache-Control"] == "no-store"
