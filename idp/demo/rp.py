"""The demo service platform: an ordinary OIDC relying party (code flow + PKCE + nonce).

It lives in the OP's process only for convenience.  It talks to the OP exactly as any
platform does: it redirects the browser to ``/authorize`` and sends its token request to
``/token`` with HTTP Basic client authentication, through WSGI rather than the network (a
demo machine's issuer URL need not be reachable from the server itself, and a
single-threaded development server would deadlock calling itself).  Its own state (the
pending login, then the claims it received) sits in the short-lived store under a random
key held in an HttpOnly cookie, never in the cookie itself.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..errors import InvalidRequest

COOKIE = "idp_demo_rp"
PREFIX = "demo-rp:"
TTL = 3600


def _store():
    return current_app.extensions["idp"].store


def _sealer():
    from ..sealing import Sealer
    from ..rootsecrets import secret_ring
    return Sealer(secret_ring(current_app.extensions["idp"].settings), "demo-rp")


def _valid(sid) -> bool:
    return isinstance(sid, str) and 16 <= len(sid) <= 64


def load(sid) -> dict:
    """The platform's session (claims are personal data: sealed in the store)."""
    if not _valid(sid):
        return {}
    blob = _store().get(PREFIX + sid)
    return (_sealer().open(blob, aad=sid) or {}) if isinstance(blob, str) else {}


def save(sid, data: dict) -> str:
    sid = sid if _valid(sid) else secrets.token_urlsafe(24)
    _store().put(PREFIX + sid, _sealer().seal(data, aad=sid), TTL)
    return sid


def authorization_url(issuer: str, client, data: dict, *, acr: str | None,
                      essential: bool, locale: str | None) -> str:
    """Remember state, nonce and the PKCE verifier in ``data``; return the /authorize URL."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    data["pending"] = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
                       "verifier": verifier, "at": time.time()}
    params = {"response_type": "code", "client_id": client.client_id,
              "redirect_uri": client.redirect_uri, "scope": "openid profile id_number",
              "state": data["pending"]["state"], "nonce": data["pending"]["nonce"],
              "code_challenge": challenge.decode(), "code_challenge_method": "S256",
              "prompt": "login"}
    if acr and essential:
        import json
        params["claims"] = json.dumps({"id_token": {"acr": {"essential": True, "values": [acr]}}})
    elif acr:
        params["acr_values"] = acr
    if locale:
        params["ui_locales"] = locale
    return f"{issuer}/authorize?{urlencode(params)}"


def finish(issuer: str, client, data: dict, args) -> dict:
    """Check the callback, redeem the code, verify the ID token; return what was received."""
    pending = data.pop("pending", None)
    if not pending or not secrets.compare_digest(args.get("state", ""), pending["state"]):
        raise InvalidRequest("the demo login state does not match; start again")
    if args.get("error"):
        raise InvalidRequest(f"the OP answered {args['error']}: {args.get('error_description', '')}")
    if args.get("iss") != issuer:  # RFC 9207
        raise InvalidRequest("the authorization response came from another issuer")
    basic = base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()
    http = current_app.test_client()
    resp = http.post("/token", data={"grant_type": "authorization_code", "code": args.get("code", ""),
                                     "redirect_uri": client.redirect_uri,
                                     "code_verifier": pending["verifier"]},
                     headers={"Authorization": f"Basic {basic}"})
    tokens = resp.get_json(silent=True) or {}
    if resp.status_code != 200:
        raise InvalidRequest(f"the token request failed: {tokens.get('error', resp.status_code)}")
    keys = KeySet.import_key_set(current_app.extensions["idp"].keyring.jwks())
    try:
        claims = jwt.decode(tokens["id_token"], keys, algorithms=["RS256", "ES256"]).claims
    except (JoseError, KeyError, ValueError):
        raise InvalidRequest("the ID token does not verify") from None
    if claims.get("iss") != issuer or claims.get("aud") != client.client_id \
            or claims.get("nonce") != pending["nonce"] or claims.get("exp", 0) < time.time():
        raise InvalidRequest("the ID token is not for this login")
    info = http.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return {"id_token": claims, "userinfo": info.get_json(silent=True) or {},
            "id_token_raw": tokens["id_token"]}
