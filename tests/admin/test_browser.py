"""End to end in headless Chromium: TOTP login to the console, create a relying party there,
then run an OIDC login with it and exchange the code."""
from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest

from idp.admin.roles import CLI
from tests.admin.conftest import make_account
from tests.helpers.live import chromium, free_port, serve
from tests.oidc.rp import pkce_pair, query

pytestmark = pytest.mark.browser


def test_console_created_rp_logs_a_user_in(make_app):
    port = free_port()
    app = make_app(issuer=f"http://127.0.0.1:{port}")
    account = make_account(app, "ops", "operator")
    with serve(app, port) as base, chromium() as browser:
        page = browser.new_context(locale="en-US").new_page()
        page.goto(f"{base}/admin/login?lang=en")
        page.fill("#username", account.username)
        page.fill("#password", account.password)
        page.fill("#code", account.totp.now())
        page.click("#login")
        page.wait_for_url(f"{base}/admin/")
        assert page.locator("#chart-logins svg").count() == 1

        callback = f"{base}/rp/callback"
        page.click("text=Relying parties")
        page.click("#new-client")
        page.fill("#client_name", "Browser RP")
        page.fill("#redirect_uris", callback)
        page.click("#save-client")
        client_id = page.inner_text("#client-id").strip()
        secret = page.inner_text("#client-secret").strip()
        assert client_id and secret

        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": callback,
                  "scope": "openid profile", "state": "s-123", "nonce": "n-456",
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        page.goto(f"{base}/authorize?{urlencode(params)}")
        assert "/login/" in page.url
        txn = page.url.rsplit("/login/", 1)[1].split("?")[0]
        redirect = page.evaluate("""async (txn) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const resp = await fetch(`/login/${txn}/test`, {method: "POST",
                headers: {"X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded"},
                body: "user=alice"});
            return (await resp.json()).redirect;
        }""", txn)
        page.goto(redirect)
        if "/consent" in page.url:
            page.click("#allow")
        # The RP's callback is not served here: the browser arriving there with a code is the point.
        page.wait_for_url(lambda url: url.startswith(callback + "?"), timeout=15000)
        landed = page.url

    cb = query(landed)
    assert cb["state"] == "s-123" and cb["iss"] == base and cb["code"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    resp = app.test_client().post("/token", data={
        "grant_type": "authorization_code", "code": cb["code"], "redirect_uri": callback,
        "code_verifier": verifier}, headers={"Authorization": "Basic " + basic})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    from joserfc import jwt
    from joserfc.jwk import KeySet
    keys = KeySet.import_key_set(app.test_client().get("/jwks.json").get_json())
    claims = jwt.decode(resp.get_json()["id_token"], keys, algorithms=["RS256", "ES256"]).claims
    assert claims["aud"] == client_id and claims["nonce"] == "n-456" and claims["iss"] == base
    events, _ = app.extensions["idp"].services["admin"].search_audit(CLI, client_id=client_id)
    assert {"client.create", "login"} <= {e["event"] for e in events}
