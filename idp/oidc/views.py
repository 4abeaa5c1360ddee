"""Protocol endpoints: discovery, JWKS, authorize, token, userinfo, introspect, revoke.

Views stay thin: Authlib's server runs the token endpoint and its grants; the authorization
endpoint is ``authorize.py``; logout is ``logout.py``.
"""
from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, redirect, request

from ..binding import bind
from ..errors import InvalidRequest, Unauthorized, UnsupportedMediaType
from ..interaction import ACR_VALUES
from ..ops.fastpath import etag_matches
from . import authorize as az
from . import token_request
from .claims import CLAIMS_SUPPORTED, release
from .sessions import COOKIE, ended_key

bp = Blueprint("oidc", __name__)


def ctx():
    return current_app.extensions["idp"].provider


def discovery_document(provider) -> dict:
    iss = provider.issuer
    from ..clients.validation import SCOPES
    return {
        "issuer": iss,
        "authorization_endpoint": f"{iss}/authorize",
        "token_endpoint": f"{iss}/token",
        "userinfo_endpoint": f"{iss}/userinfo",
        "jwks_uri": f"{iss}/jwks.json",
        "introspection_endpoint": f"{iss}/introspect",
        "revocation_endpoint": f"{iss}/revoke",
        "end_session_endpoint": f"{iss}/end-session",
        "registration_endpoint": f"{iss}/register",  # RFC 7591; needs an initial access token
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  "urn:ietf:params:oauth:grant-type:token-exchange"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                          "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                       "private_key_jwt", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["zh-CN", "en"],
        "claims_locales_supported": ["zh-CN"],
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
    }


def _json(body: bytes, max_age: int) -> Response:
    """A public document: cacheable for ``max_age`` seconds, with a strong ETag (a hash of
    the bytes) so that a client revalidating with ``If-None-Match`` gets a 304."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    tags = request.headers.get("If-None-Match")
    if tags and etag_matches(tags, etag):  # as idp.ops.fastpath answers it
        response = Response(status=304)
        response.headers.remove("Content-Type")
    else:
        response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["ETag"] = etag
    return response


@bp.get("/.well-known/openid-configuration")
def discovery():
    state = current_app.extensions["idp"]
    if state.discovery_bytes is None:
        state.discovery_bytes = json.dumps(discovery_document(ctx())).encode()
    return _json(state.discovery_bytes, 3600)


@bp.get("/.well-known/oauth-authorization-server")
def oauth_metadata():
    return discovery()


@bp.get("/jwks.json")
def jwks():
    provider = ctx()
    keys = provider.keyring.jwks()
    state = current_app.extensions["idp"]
    if state.jwks_cache[0] is not keys:
        state.jwks_cache = (keys, json.dumps(keys).encode())
    return _json(state.jwks_cache[1], 300)


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    provider = ctx()
    if request.method == "POST":
        if request.mimetype != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("POST /authorize takes application/x-www-form-urlencoded")
        args = request.form
    else:
        args = request.args
    try:
        txn = az.parse_request(provider, args)
    except az.RedirectError as exc:
        return redirect(exc.headers["Location"], 302)
    except az.PageError as exc:
        exc.status = 400
        raise
    client = provider.clients.active(txn.client_id)
    session = provider.sessions.get(request.cookies.get(COOKIE))
    back = {"redirect_uri": txn.redirect_uri, "state": txn.state}
    if "login" not in txn.prompt and az.session_satisfies(provider, txn, session, client):
        # (idp.ops.oidc_fastpath answers this branch, the common one, without Flask)
        if not az.needs_consent(provider, txn, session.subject):
            return redirect(az.issue_code(provider, txn, session), 302)
        if "none" in txn.prompt:
            return redirect(az.error_redirect(back, "consent_required",
                                              "the user has not consented", provider.issuer))
        txn.sid = session.sid
        bind(txn)
        provider.transactions.save(txn)
        return redirect(f"/login/{txn.id}/consent", 302)
    if "none" in txn.prompt:
        return redirect(az.error_redirect(back, "login_required",
                                          "the user is not logged in", provider.issuer))
    bind(txn)
    provider.transactions.save(txn)
    return redirect(f"/login/{txn.id}", 302)


@bp.post("/token")
def token():
    _form_only()
    provider = ctx()
    handle = token_request.begin(request.remote_addr, request.form.get("grant_type") or "")
    try:
        outcome = request.environ.pop(token_request.OUTCOME, None)
        if outcome is None:
            response = provider.server.create_token_response()
        else:  # the fast path ran this grant and hands over its refusal or error
            response = provider.server.render_outcome(outcome)
        provider.audit_token_response(response)
    finally:
        token_request.end(handle)
    return response


@bp.post("/introspect")
def introspect():
    _form_only()
    return ctx().server.create_endpoint_response("introspection")


@bp.post("/revoke")
def revoke():
    _form_only()
    return ctx().server.create_endpoint_response("revocation")


def _form_only():
    if request.mimetype != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("this endpoint takes application/x-www-form-urlencoded "
                                   "(RFC 6749 section 3.2)")
    for name, values in request.form.lists():
        if len(values) > 1:
            raise InvalidRequest(f"parameter {name} is repeated (RFC 6749 section 3.2)")


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    provider = ctx()
    try:
        out = userinfo_claims(provider, _bearer())
    except Unauthorized as exc:
        # RFC 6750 section 3.1: no error code when the request carried no token at all.
        exc.headers["WWW-Authenticate"] = "Bearer" if isinstance(exc, MissingToken) else (
            f'Bearer error="{exc.error}", error_description="{exc.description}"')
        raise
    response = Response(json.dumps(out), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def userinfo_claims(provider, token: str) -> dict:
    """The claims ``/userinfo`` releases for an access token; ``Unauthorized`` otherwise.

    Every check of the endpoint is here (signature, issuer, expiry and type of the token, its
    revocation, the end of its session, its grant, the openid scope, the client), so the view
    and ``idp.ops.oidc_fastpath`` answer from the same code.
    """
    claims = provider.minter.decode(token, typ="at+jwt")
    # Both markers in one round trip: the token's revocation, the end of its session.
    keys = ["revoked-jti:" + claims["jti"]] + ([ended_key(claims["sid"])] if claims.get("sid") else [])
    markers = provider.store.get_many(keys)
    if markers[0] is not None:
        raise Unauthorized("the access token was revoked")
    if len(markers) > 1 and markers[1] is not None:
        raise Unauthorized("the session of this access token has ended")
    found = provider.grant_store.principal(claims.get("gid")) if claims.get("gid") else None
    if found is None:
        raise Unauthorized("the access token is not bound to an active user grant")
    if "openid" not in claims.get("scope", "").split():
        raise Unauthorized("the access token lacks the openid scope", error="insufficient_scope",
                           status=403)
    principal, client_id, _ = found
    client = provider.clients.active(client_id)
    if client is None:
        raise Unauthorized("the client of this access token is disabled")
    out = release(principal.claims, claims["scope"], client, target="userinfo",
                  claims_request=principal.claims_request,
                  mask_keep=provider.settings.id_number_mask_keep)
    out["sub"] = claims["sub"]
    return out


class MissingToken(Unauthorized):
    """The request carries no access token at all."""


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    form_token = request.form.get("access_token") if request.method == "POST" else None
    if header and form_token:
        raise InvalidRequest("send the access token once (RFC 6750 section 2)")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("use the Bearer authorization scheme", error="invalid_request")
        return value.strip()
    if form_token:
        return form_token
    raise MissingToken("an access token is required")
