"""``private_key_jwt`` client authentication (OIDC Core section 9, RFC 7523 sections 2.2 and 3)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tests.oidc.httpserver import LocalServer
from tests.oidc.rp import RP

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISS = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def keys():
    return {"rsa": RSAKey.generate_key(2048, {"kid": "rsa-1"}),
            "ec": ECKey.generate_key("P-256", {"kid": "ec-1"}),
            "other": RSAKey.generate_key(2048, {"kid": "rsa-1"})}  # same kid, another key


def _jwks(*keys):
    return {"keys": [k.as_dict(private=False) for k in keys]}


def _register(app, name, **meta):
    client, secret = app.extensions["idp"].clients.create({
        "client_name": name, "grant_types": ["client_credentials"], "scope": "liveness",
        "token_endpoint_auth_method": "private_key_jwt", **meta})
    assert secret is None  # no shared secret for key-based clients
    return client.client_id


def _assertion(client_id, key, alg="RS256", **changes):
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": ISS + "/token", "iat": now,
              "exp": now + 60, "jti": secrets.token_urlsafe(12)}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def _token(client, assertion, **extra):
    return client.post("/token", data={"grant_type": "client_credentials",
                                       "client_assertion_type": ASSERTION_TYPE,
                                       "client_assertion": assertion, **extra})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(client_id, alg="none") -> str:
    now = int(time.time())
    header = _b64(json.dumps({"alg": alg, "kid": "rsa-1"}).encode())
    payload = _b64(json.dumps({"iss": client_id, "sub": client_id, "aud": ISS + "/token",
                               "iat": now, "exp": now + 60,
                               "jti": secrets.token_urlsafe(12)}).encode())
    return f"{header}.{payload}."


def _hs256_with_public_key(client_id, public_secret: bytes) -> str:
    """The algorithm-confusion attack: HS256 keyed with the RSA public key."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"iss": client_id, "sub": client_id, "aud": ISS + "/token",
                               "iat": now, "exp": now + 60,
                               "jti": secrets.token_urlsafe(12)}).encode())
    mac = hmac.new(public_secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(mac)}"


def _invalid_client(resp):
    assert resp.status_code in (400, 401), resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == "invalid_client", body
    assert isinstance(body.get("error_description"), str)
    return body


@pytest.mark.parametrize("kind, alg", [("rsa", "RS256"), ("rsa", "PS256"), ("ec", "ES256")])
def test_good_assertion_with_registered_jwks(app, client, keys, kind, alg):
    cid = _register(app, "jwks " + alg, jwks=_jwks(keys["rsa"], keys["ec"]))
    resp = _token(client, _assertion(cid, keys[kind], alg))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["scope"] == "liveness"


@pytest.mark.parametrize("aud", [ISS, ISS + "/token", [ISS, "https://other.example"]])
def test_issuer_or_token_endpoint_audience(app, client, keys, aud):
    cid = _register(app, "aud", jwks=_jwks(keys["rsa"]))
    assert _token(client, _assertion(cid, keys["rsa"], aud=aud)).status_code == 200


def test_good_assertion_with_jwks_uri(app, client, keys):
    with LocalServer(_jwks(keys["ec"])) as server:
        cid = _register(app, "by uri", jwks_uri=server.url + "/jwks.json")
        first = _token(client, _assertion(cid, keys["ec"], "ES256"))
        assert first.status_code == 200, first.get_data(as_text=True)
        assert _token(client, _assertion(cid, keys["ec"], "ES256")).status_code == 200
        assert server.gets == 1  # cached between requests


def test_jwks_uri_is_fetched_again_for_a_new_kid(app, client, keys, monkeypatch):
    from idp.oidc import client_auth
    monkeypatch.setattr(client_auth, "JWKS_REFETCH_SECONDS", 0)
    with LocalServer(_jwks(keys["ec"])) as server:
        cid = _register(app, "rotating", jwks_uri=server.url + "/jwks.json")
        assert _token(client, _assertion(cid, keys["ec"], "ES256")).status_code == 200
        new = RSAKey.generate_key(2048, {"kid": "rsa-new"})
        server.document = _jwks(keys["ec"], new)  # the client rotates its keys
        assert _token(client, _assertion(cid, new)).status_code == 200
        assert server.gets == 2


def test_unreachable_jwks_uri_is_invalid_client(app, client, keys):
    with LocalServer(_jwks(keys["ec"]), status=500) as server:
        cid = _register(app, "broken uri", jwks_uri=server.url + "/jwks.json")
        _invalid_client(_token(client, _assertion(cid, keys["ec"], "ES256")))


@pytest.mark.parametrize("case", [
    "alg_none", "alg_none_uppercase", "hs256_pem", "hs256_jwk", "replay", "wrong_aud",
    "expired", "no_exp", "no_jti", "short_jti", "iss_not_sub", "signed_by_other_client",
    "same_kid_other_key", "garbage", "unknown_client", "not_json_payload", "sub_not_string",
])
def test_bad_assertions_are_invalid_client(app, client, keys, case):
    cid = _register(app, "victim", jwks=_jwks(keys["rsa"]))
    other = _register(app, "attacker", jwks=_jwks(keys["ec"]))
    rsa = keys["rsa"]
    public_pem = rsa.as_pem(private=False)
    if case == "replay":
        assertion = _assertion(cid, rsa)
        assert _token(client, assertion).status_code == 200
    elif case == "alg_none":
        assertion = _unsigned(cid)
    elif case == "alg_none_uppercase":
        assertion = _unsigned(cid, "None")
    elif case == "hs256_pem":
        assertion = _hs256_with_public_key(cid, public_pem)
    elif case == "hs256_jwk":
        assertion = _hs256_with_public_key(cid, json.dumps(rsa.as_dict(private=False)).encode())
    elif case == "wrong_aud":
        assertion = _assertion(cid, rsa, aud="https://other-op.example/token")
    elif case == "expired":
        assertion = _assertion(cid, rsa, iat=int(time.time()) - 600, exp=int(time.time()) - 300)
    elif case == "no_exp":
        assertion = _assertion(cid, rsa, exp=None)
    elif case == "no_jti":
        assertion = _assertion(cid, rsa, jti=None)
    elif case == "short_jti":
        assertion = _assertion(cid, rsa, jti="1")
    elif case == "iss_not_sub":
        assertion = _assertion(cid, rsa, iss=other)
    elif case == "signed_by_other_client":
        assertion = _assertion(cid, keys["ec"], "ES256")  # B's key, A's client_id
    elif case == "same_kid_other_key":
        assertion = _assertion(cid, keys["other"])
    elif case == "garbage":
        assertion = "a.b.c"
    elif case == "unknown_client":
        assertion = _assertion("no-such-client", rsa)
    elif case == "not_json_payload":
        assertion = _b64(b'{"alg":"RS256"}') + "." + _b64(b"[1,2]") + ".sig"
    elif case == "sub_not_string":
        assertion = _assertion(cid, rsa, sub=5, iss=5)
    _invalid_client(_token(client, assertion))


def test_assertion_is_refused_for_a_secret_client(app, client, keys):
    rp = RP(app, client, grant_types=["client_credentials"], scope="liveness", redirect_uris=[])
    _invalid_client(_token(client, _assertion(rp.client_id, keys["rsa"])))


def test_wrong_assertion_type_is_invalid_client(app, client, keys):
    cid = _register(app, "type", jwks=_jwks(keys["rsa"]))
    resp = client.post("/token", data={"grant_type": "client_credentials",
                                       "client_assertion_type": "urn:other",
                                       "client_assertion": _assertion(cid, keys["rsa"])})
    _invalid_client(resp)


def test_oversized_assertion_is_invalid_client(app, client, keys):
    cid = _register(app, "big", jwks=_jwks(keys["rsa"]))
    _invalid_client(_token(client, _assertion(cid, keys["rsa"], pad="x" * 9000)))


def test_private_key_jwt_at_introspection(app, client, keys):
    cid = _register(app, "introspector", jwks=_jwks(keys["rsa"]))
    token = _token(client, _assertion(cid, keys["rsa"])).get_json()["access_token"]
    resp = client.post("/introspect", data={"token": token,
                                            "client_assertion_type": ASSERTION_TYPE,
                                            "client_assertion": _assertion(cid, keys["rsa"])})
    assert resp.status_code == 200 and resp.get_json()["active"] is True
