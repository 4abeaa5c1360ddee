"""Interoperability: independent relying-party libraries against the real server over HTTP.

The OP runs on 127.0.0.1 (werkzeug, threaded) in a background thread.  The RP is Authlib's
own OAuth2 client (``OAuth2Session``) with ``requests`` playing the browser; the ID token is
validated the way Authlib's OpenID client does it (``CodeIDToken`` over the JWKS from
``jwks_uri``).  When Node and npm are available, panva's certified ``openid-client`` runs the
same flow in ``tests/interop/openid_client_rp.mjs``.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
REDIRECT = "https://rp.example.org/cb"
BYE = "https://rp.example.org/bye"
NODE_DIR = Path(os.environ.get("IDP_TEST_NODE_DIR", Path.home() / ".cache" / "idp-interop-node"))


@pytest.fixture
def live_op(make_app):
    """The OP on a free local port; yields (app, issuer)."""
    server = make_server("127.0.0.1", 0, lambda environ, start: [], threaded=True)
    issuer = f"http://127.0.0.1:{server.port}"
    app = make_app(issuer=issuer)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield app, issuer
    finally:
        server.shutdown()
        server.server_close()


def _register(app, **meta) -> tuple[str, str | None]:
    client, secret = app.extensions["idp"].clients.create({
        "client_name": "interop " + secrets.token_hex(3), "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": [BYE], "scope": "openid profile offline_access",
        "grant_types": ["authorization_code", "refresh_token"], **meta})
    return client.client_id, secret


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def browser_login(browser: requests.Session, url: str, user="alice") -> str:
    """Play the user agent: follow the OP's pages until it redirects to the RP; return that URL."""
    for _ in range(10):
        if url.startswith(REDIRECT) or url.startswith(BYE):
            return url
        resp = browser.get(url, allow_redirects=False, timeout=10)
        if resp.status_code in (301, 302, 303):
            url = urljoin(url, resp.headers["Location"])
            continue
        assert resp.status_code == 200, resp.text
        token = _csrf(resp.text)
        path = urlsplit(url).path
        if path.endswith("/consent"):
            resp = browser.post(url, data={"decision": "allow", "csrf_token": token},
                                allow_redirects=False, timeout=10)
            assert resp.status_code == 302, resp.text
            url = urljoin(url, resp.headers["Location"])
        else:  # the login chooser: use the test login method
            resp = browser.post(urljoin(url, path + "/test"), data={"user": user},
                                headers={"X-CSRF-Token": token}, timeout=10)
            assert resp.status_code == 200, resp.text
            url = urljoin(url, resp.json()["redirect"])
    raise AssertionError("the login did not finish")


def _validate_id_token(id_token, metadata, client_id, nonce, access_token):
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.jwk import KeySet
    jwks = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    token = jwt.decode(id_token, jwks, algorithms=metadata["id_token_signing_alg_values_supported"])
    claims = CodeIDToken(token.claims, token.header,
                         options={"iss": {"essential": True, "value": metadata["issuer"]},
                                  "aud": {"essential": True, "value": client_id}},
                         params={"nonce": nonce, "client_id": client_id,
                                 "access_token": access_token})
    claims.validate(leeway=5)  # iss, aud, exp, iat, nonce, at_hash, azp, auth_time
    assert "at_hash" in claims and claims.get("nonce") == nonce
    return claims


def test_authlib_client_full_flow(live_op):
    from authlib.integrations.requests_client import OAuth2Session
    app, issuer = live_op
    client_id, secret = _register(app)

    metadata = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True

    rp = OAuth2Session(client_id, secret, scope="openid profile offline_access",
                       redirect_uri=REDIRECT, code_challenge_method="S256",
                       token_endpoint_auth_method="client_secret_basic")
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(metadata["authorization_endpoint"],
                                             code_verifier=verifier, nonce=nonce)
    browser = requests.Session()
    callback = browser_login(browser, url)
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert params["state"] == state and params["iss"] == issuer  # RFC 9207

    token = rp.fetch_token(metadata["token_endpoint"], authorization_response=callback,
                           code_verifier=verifier)
    claims = _validate_id_token(token["id_token"], metadata, client_id, nonce,
                                token["access_token"])
    assert claims["acr"] == "urn:idp:acr:person:face"
    from joserfc.errors import InvalidClaimError
    with pytest.raises(InvalidClaimError):  # the validator does check at_hash and nonce
        _validate_id_token(token["id_token"], metadata, client_id, nonce, "another-token")
    with pytest.raises(InvalidClaimError):
        _validate_id_token(token["id_token"], metadata, client_id, "another-nonce",
                           token["access_token"])

    info = rp.get(metadata["userinfo_endpoint"], timeout=10)
    assert info.status_code == 200 and info.json()["sub"] == claims["sub"]
    assert info.json()["name"] == "张三"

    old_refresh = token["refresh_token"]
    new = rp.refresh_token(metadata["token_endpoint"])
    assert new["refresh_token"] != old_refresh and new["access_token"] != token["access_token"]
    refreshed = _validate_id_token(new["id_token"], metadata, client_id, None, new["access_token"])
    assert refreshed["sub"] == claims["sub"] and refreshed["auth_time"] == claims["auth_time"]
    assert "nonce" not in refreshed  # OIDC Core 12.2

    resp = rp.revoke_token(metadata["revocation_endpoint"], token=new["refresh_token"],
                           token_type_hint="refresh_token")
    assert resp.status_code == 200
    introspect = requests.post(metadata["introspection_endpoint"],
                               data={"token": new["access_token"]}, auth=(client_id, secret),
                               timeout=10)
    assert introspect.json() == {"active": False}
    again = requests.post(metadata["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": new["refresh_token"]},
        auth=(client_id, secret), timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    # RP-initiated logout with id_token_hint, then the session is gone
    logout = browser.get(metadata["end_session_endpoint"], params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": BYE, "state": "bye-1"},
        allow_redirects=False, timeout=10)
    assert logout.status_code == 302 and logout.headers["Location"] == BYE + "?state=bye-1"
    silent, _ = rp.create_authorization_url(metadata["authorization_endpoint"],
                                            code_verifier=verifier, prompt="none")
    resp = browser.get(silent, allow_redirects=False, timeout=10)
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["error"] == ["login_required"]


def test_authlib_public_client_with_pkce(live_op):
    from authlib.integrations.requests_client import OAuth2Session
    app, issuer = live_op
    client_id, _ = _register(app, token_endpoint_auth_method="none")
    metadata = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    rp = OAuth2Session(client_id, None, scope="openid", redirect_uri=REDIRECT,
                       code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, _ = rp.create_authorization_url(metadata["authorization_endpoint"],
                                         code_verifier=verifier, nonce=nonce)
    callback = browser_login(requests.Session(), url)
    token = rp.fetch_token(metadata["token_endpoint"], authorization_response=callback,
                           code_verifier=verifier)
    _validate_id_token(token["id_token"], metadata, client_id, nonce, token["access_token"])


# -- panva/openid-client (Node) ---------------------------------------------------------------------
def _node_rp() -> Path:
    """Install openid-client once into a cache folder outside the repository."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node/npm are not installed")
    if not (NODE_DIR / "node_modules" / "openid-client").exists():
        if os.environ.get("IDP_TEST_OFFLINE"):
            pytest.skip("openid-client is not installed and IDP_TEST_OFFLINE forbids npm install")
        try:
            NODE_DIR.mkdir(parents=True, exist_ok=True)
            (NODE_DIR / "package.json").write_text(json.dumps(
                {"name": "idp-interop", "private": True, "type": "module",
                 "dependencies": {"openid-client": "^6.1.0"}}))
            result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"],
                                    cwd=NODE_DIR, capture_output=True, text=True, timeout=120)
        except OSError as exc:
            pytest.skip(f"cannot prepare {NODE_DIR} for openid-client: {exc}")
        except subprocess.TimeoutExpired:
            pytest.skip("npm install of openid-client timed out")
        if result.returncode != 0:
            pytest.skip(f"npm install of openid-client failed: {result.stderr.strip()[:300]}")
    return NODE_DIR


def test_openid_client_node_full_flow(live_op):
    node_dir = _node_rp()
    app, issuer = live_op
    client_id, secret = _register(app)
    # ES modules resolve packages next to the script, so it runs from the install folder.
    script = node_dir / "openid_client_rp.mjs"
    shutil.copyfile(ROOT / "tests" / "interop" / "openid_client_rp.mjs", script)
    proc = subprocess.Popen(
        ["node", str(script)],
        cwd=node_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "OP_ISSUER": issuer, "RP_CLIENT_ID": client_id, "RP_SECRET": secret,
                        "RP_REDIRECT": REDIRECT, "RP_BYE": BYE})
    browser = requests.Session()
    try:
        # The script prints one JSON request per line and reads one JSON answer per line:
        # it asks the "browser" to log in at a URL and hands back the redirect it ended at.
        results = None
        for line in proc.stdout:
            msg = json.loads(line)
            if msg["type"] == "login":
                answer = {"callback": browser_login(browser, msg["url"])}
            elif msg["type"] == "logout":
                resp = browser.get(msg["url"], allow_redirects=False, timeout=10)
                answer = {"status": resp.status_code, "location": resp.headers.get("Location")}
            elif msg["type"] == "done":
                results = msg
                break
            else:
                raise AssertionError(msg)
            proc.stdin.write(json.dumps(answer) + "\n")
            proc.stdin.flush()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()
    assert results is not None
    assert results["claims"]["iss"] == issuer and results["claims"]["aud"] == client_id
    assert results["claims"]["acr"] == "urn:idp:acr:person:face"
    assert results["userinfo"]["sub"] == results["claims"]["sub"]
    assert results["refreshed_sub"] == results["claims"]["sub"]
    assert results["refresh_rotated"] is True
    assert results["introspection_after_revoke"] == {"active": False}
    assert results["logout"] == {"status": 302, "location": BYE + "?state=node-bye"}
