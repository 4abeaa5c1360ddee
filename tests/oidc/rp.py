"""A relying party driven through Flask's test client, for protocol tests."""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

REDIRECT = "https://rp.example.org/cb"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


class RP:
    def __init__(self, app, browser, **meta):
        self.app = app
        self.browser = browser  # a Flask test client: keeps the OP's cookies
        state = app.extensions["idp"]
        defaults = {"client_name": "RP " + secrets.token_hex(4), "redirect_uris": [REDIRECT],
                    "scope": "openid profile id_number offline_access",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "post_logout_redirect_uris": ["https://rp.example.org/bye"]}
        defaults.update(meta)
        self.client, self.secret = state.clients.create(defaults)
        self.client_id = self.client.client_id
        self.redirect = defaults["redirect_uris"][0] if defaults["redirect_uris"] else REDIRECT
        self.issuer = state.settings.issuer

    # -- front channel ------------------------------------------------------------------------
    def authorize(self, **params):
        verifier, challenge = pkce_pair()
        base = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect,
                "scope": "openid profile", "state": secrets.token_urlsafe(8),
                "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
                "code_challenge_method": "S256"}
        base.update(params)
        base = {k: v for k, v in base.items() if v is not None}
        self.last = {"verifier": verifier, **base}
        return self.browser.get("/authorize?" + urlencode(base))

    def login(self, user="alice", acr=None, consent=True, **params):
        """Run /authorize through the test login (and consent); return the RP callback params."""
        resp = self.authorize(**params)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        location = resp.headers["Location"]
        if "/login/" in location and not location.endswith("/consent"):
            txn = location.rsplit("/login/", 1)[1]
            page = self.browser.get(f"/login/{txn}")
            assert page.status_code == 200
            token = csrf_from(page.get_data(as_text=True))
            data = {"user": user}
            if acr:
                data["acr"] = acr
            done = self.browser.post(f"/login/{txn}/test", data=data, headers={"X-CSRF-Token": token})
            assert done.status_code == 200, done.get_data(as_text=True)
            location = done.get_json()["redirect"]
        if "/consent" in location:
            path = location.replace(self.issuer, "")
            page = self.browser.get(path)
            assert page.status_code == 200, page.get_data(as_text=True)
            token = csrf_from(page.get_data(as_text=True))
            resp = self.browser.post(path, data={"decision": "allow" if consent else "deny",
                                                 "csrf_token": token})
            assert resp.status_code == 302
            location = resp.headers["Location"]
        assert location.startswith(self.redirect), location
        return query(location)

    # -- back channel -------------------------------------------------------------------------
    def auth(self) -> dict:
        basic = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}

    def token(self, code, verifier=None, **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect,
                "code_verifier": verifier or self.last["verifier"], **extra}
        return self.browser.post("/token", data=data, headers=self.auth())

    def refresh(self, refresh_token, **extra):
        return self.browser.post("/token", data={"grant_type": "refresh_token",
                                                 "refresh_token": refresh_token, **extra},
                                 headers=self.auth())

    def tokens(self, **params) -> dict:
        cb = self.login(**params)
        resp = self.token(cb["code"])
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.get_json()

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(self.browser.get("/jwks.json").get_json())

    def verify(self, token: str) -> dict:
        return jwt.decode(token, self.jwks(), algorithms=["RS256", "ES256"]).claims

    def introspect(self, token, **extra):
        return self.browser.post("/introspect", data={"token": token, **extra},
                                 headers=self.auth()).get_json()
