"""A relying party and a browser over real HTTP, able to talk to any node of a cluster."""
from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.oidc.rp import pkce_pair

REDIRECT = "https://rp.example.org/cb"


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


class Browser:
    """One user agent: its cookies go to every node (they share the host, like behind a
    load balancer)."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self.http = requests.Session()

    def path(self, url: str) -> str:
        return url[len(self.issuer):] if url.startswith(self.issuer) else url

    def get(self, node, url, **kw):
        return self.http.get(node.url + self.path(url), allow_redirects=False, timeout=10, **kw)

    def post(self, node, url, **kw):
        return self.http.post(node.url + self.path(url), allow_redirects=False, timeout=10, **kw)


class HttpRP:
    def __init__(self, client_id: str, secret: str, issuer: str, redirect: str = REDIRECT):
        self.client_id, self.secret, self.issuer, self.redirect = client_id, secret, issuer, redirect
        self.verifier = None

    def auth(self):
        return (self.client_id, self.secret)

    # -- front channel, step by step ------------------------------------------------------------
    def authorize(self, browser: Browser, node, **params) -> str:
        """GET /authorize on ``node`` (``prompt=login``); return the login transaction id."""
        self.verifier, challenge = pkce_pair()
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect,
                 "scope": "openid profile offline_access", "state": secrets.token_urlsafe(8),
                 "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
                 "code_challenge_method": "S256", "prompt": "login", **params}
        resp = browser.get(node, "/authorize?" + urlencode(query))
        assert resp.status_code == 302, (resp.status_code, resp.text[:300])
        location = resp.headers["Location"]
        assert "/login/" in location, location
        return location.rsplit("/login/", 1)[1]

    def login(self, browser: Browser, node, txn: str, user: str = "alice") -> str:
        """Open the login page and post the test login on ``node``; return the next URL."""
        page = browser.get(node, f"/login/{txn}")
        assert page.status_code == 200, (page.status_code, page.text[:300])
        done = browser.post(node, f"/login/{txn}/test", data={"user": user},
                            headers={"X-CSRF-Token": csrf_from(page.text),
                                     "Accept": "application/json"})
        assert done.status_code == 200, (done.status_code, done.text[:300])
        return done.json()["redirect"]

    def finish(self, browser: Browser, node, url: str) -> dict:
        """Answer the consent page if shown (on ``node``); return the callback parameters."""
        if "/consent" in url:
            page = browser.get(node, url)
            assert page.status_code == 200, page.text[:300]
            resp = browser.post(node, url, data={"decision": "allow",
                                                 "csrf_token": csrf_from(page.text)})
            assert resp.status_code == 302, resp.text[:300]
            url = resp.headers["Location"]
        assert url.startswith(self.redirect), url
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

    def code(self, browser: Browser, node, user: str = "alice") -> dict:
        txn = self.authorize(browser, node)
        return self.finish(browser, node, self.login(browser, node, txn, user))

    # -- back channel ---------------------------------------------------------------------------
    def token(self, node, code: str, verifier: str | None = None):
        return requests.post(node.url + "/token", auth=self.auth(), timeout=10, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect,
            "code_verifier": verifier or self.verifier})

    def refresh(self, node, refresh_token: str):
        return requests.post(node.url + "/token", auth=self.auth(), timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": refresh_token})

    def client_credentials(self, node, scope=None):
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        return requests.post(node.url + "/token", auth=self.auth(), data=data, timeout=10)

    def introspect(self, node, token: str) -> dict:
        resp = requests.post(node.url + "/introspect", auth=self.auth(), data={"token": token},
                             timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def revoke(self, node, token: str):
        return requests.post(node.url + "/revoke", auth=self.auth(), data={"token": token},
                             timeout=10)


def jwt_header(token: str) -> dict:
    import json
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
