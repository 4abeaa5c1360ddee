"""The authorization endpoint (RFC 6749 section 4.1.1, OIDC Core section 3.1.2).

``parse_request`` is a table of one-check steps.  Until the client and its redirect URI are
validated, errors render a page and never redirect (RFC 6749 section 4.1.2.1); afterwards
they go back to the client with ``error``, ``state`` and ``iss`` (RFC 9207).
``decide`` then reuses the SSO session, or opens a login transaction, or asks for consent;
``issue_code`` ends the flow with a single-use, 60-second code.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from ..errors import IdpError, InvalidRequest
from ..interaction import ACR_VALUES, LoginTransaction, acr_aim
from .claims import essential_acr, parse_claims_request
from .grants import code_key

# Parameters that must appear at most once (RFC 6749 section 3.1); others are ignored.
SINGLE = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
          "code_challenge", "code_challenge_method", "prompt", "max_age", "acr_values",
          "claims", "id_token_hint", "login_hint", "ui_locales", "response_mode", "request",
          "request_uri", "registration")
PROMPTS = {"none", "login", "consent", "select_account"}
PKCE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
MAX_PARAM = 2048


class PageError(IdpError):
    """An authorization error shown as a page: the client or redirect URI is not valid."""

    status = 400


class RedirectError(IdpError):
    """An authorization error sent back to the client's redirect URI."""

    status = 302


def error_redirect(txn_or_params, error: str, description: str, issuer: str) -> str:
    params = {"error": error, "error_description": description}
    state = txn_or_params.get("state")
    if state:
        params["state"] = state
    params["iss"] = issuer
    return _append(txn_or_params["redirect_uri"], params)


def _append(uri: str, params: dict) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def parse_request(ctx, args) -> LoginTransaction:
    """Validate an authorization request; raise PageError or RedirectError."""
    deferred = None
    for name in SINGLE:
        values = args.getlist(name)
        if len(values) > 1:
            if name in ("client_id", "redirect_uri"):
                raise PageError(f"parameter {name} is repeated", error="invalid_request")
            deferred = deferred or f"parameter {name} is repeated"
        if values and len(values[0]) > (4096 if name in ("claims", "id_token_hint") else MAX_PARAM):
            raise PageError(f"parameter {name} is too long", error="invalid_request")
    client_id = args.get("client_id")
    if not client_id:
        raise PageError("client_id is missing", error="invalid_request")
    client = ctx.clients.active(client_id)
    if client is None:
        raise PageError("unknown or disabled client_id", error="invalid_client")
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri:
        raise PageError("redirect_uri is missing (OIDC requires it)", error="invalid_request")
    if not client.check_redirect_uri(redirect_uri):
        raise PageError("redirect_uri is not registered for this client", error="invalid_request")
    back = {"redirect_uri": redirect_uri, "state": args.get("state")}

    def fail(error, description):
        return RedirectError(description, error=error, headers={
            "Location": error_redirect(back, error, description, ctx.issuer)})

    if deferred:
        raise fail("invalid_request", deferred)
    return _check_rest(ctx, args, client, redirect_uri, fail)


def _check_rest(ctx, args, client, redirect_uri, fail) -> LoginTransaction:
    if args.get("request"):
        raise fail("request_not_supported", "request objects are not supported")
    if args.get("request_uri"):
        raise fail("request_uri_not_supported", "request_uri is not supported")
    if args.get("registration"):
        raise fail("registration_not_supported", "registration parameter is not supported")
    response_type = args.get("response_type")
    if not response_type:
        raise fail("invalid_request", "response_type is missing")
    if response_type != "code":
        raise fail("unsupported_response_type", "only response_type=code is supported")
    if not client.check_response_type("code"):
        raise fail("unauthorized_client", "this client may not use the authorization code flow")
    if args.get("response_mode") not in (None, "query"):
        raise fail("invalid_request", "only response_mode=query is supported")
    # OIDC Core 3.1.2.1: scopes the OP does not know are ignored; known ones the client
    # was not allowed are an error.
    from ..clients.validation import SCOPES
    requested = [s for s in dict.fromkeys((args.get("scope") or "").split()) if s in SCOPES]
    if any(s not in client.scopes for s in requested):
        raise fail("invalid_scope", "the client may not request scope "
                   + ", ".join(s for s in requested if s not in client.scopes))
    if "openid" not in requested:
        raise fail("invalid_scope", "scope must include openid")
    challenge, method = args.get("code_challenge"), args.get("code_challenge_method")
    if challenge or method:
        if not challenge or not PKCE.match(challenge):
            raise fail("invalid_request", "code_challenge is missing or malformed")
        if method != "S256":
            raise fail("invalid_request", "code_challenge_method must be S256")
    elif client.is_public:
        raise fail("invalid_request", "PKCE (code_challenge with S256) is required for public clients")
    prompt = (args.get("prompt") or "").split()
    if any(p not in PROMPTS for p in prompt):
        raise fail("invalid_request", "unknown prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise fail("invalid_request", "prompt=none cannot be combined with other values")
    max_age = args.get("max_age")
    if max_age is not None:
        if not max_age.isdigit() or len(max_age) > 9:
            raise fail("invalid_request", "max_age must be a non-negative integer")
        max_age = int(max_age)
    try:
        claims = parse_claims_request(args.get("claims"))
    except InvalidRequest as exc:
        raise fail("invalid_request", exc.description) from None
    acr_values = (args.get("acr_values") or "").split()
    # OIDC Core 5.5.1.1: an essential acr must be met; acr_values (3.1.2.1) are voluntary.
    # Either way a login meets the request when it meets one of the values named, within its
    # subject type (interaction.acr_meets); naming both types lets the user choose.
    essential = essential_acr(claims)
    if essential is not None:
        options = list(dict.fromkeys(v for v in essential if v in ACR_VALUES))
        if not options:
            raise fail("access_denied", "none of the essential acr values can be satisfied")
    else:
        options = list(dict.fromkeys(v for v in acr_values if v in ACR_VALUES))
    required = acr_aim(options, essential=essential is not None)
    hint_subject = None
    if args.get("id_token_hint"):
        hint_subject = _hint_subject(ctx, args["id_token_hint"], client, fail)
    return LoginTransaction.new(
        client_id=client.client_id, redirect_uri=redirect_uri, scope=" ".join(requested),
        state=args.get("state"), nonce=args.get("nonce"), code_challenge=challenge,
        code_challenge_method=method if challenge else None, prompt=prompt, max_age=max_age,
        acr_values=acr_values, required_acr=required, acr_essential=essential is not None,
        acr_options=options,
        claims=claims,
        login_hint=args.get("login_hint"), ui_locales=(args.get("ui_locales") or "").split(),
        hint_subject=hint_subject)


def _hint_subject(ctx, hint, client, fail):
    """The internal subject named by an ID token this OP issued to this client (expired is fine)."""
    from ..errors import Unauthorized
    try:
        claims = ctx.minter.decode(hint, typ="JWT", verify_exp=False)  # ID tokens only
    except Unauthorized:
        raise fail("invalid_request", "id_token_hint is not an ID token issued by this OP") from None
    aud = claims.get("aud")
    if client.client_id not in (aud if isinstance(aud, list) else [aud]):
        raise fail("invalid_request", "id_token_hint was issued to another client")
    return claims.get("sub")


# -- decision ---------------------------------------------------------------------------------
def session_satisfies(ctx, txn: LoginTransaction, session, client) -> bool:
    """Can the existing SSO session answer this request without a new login?"""
    if session is None:
        return False
    if txn.max_age is not None and time.time() - session.auth_time > txn.max_age:
        return False  # OIDC Core 3.1.2.1: max_age forces a fresh authentication
    if not txn.acr_satisfied(session.acr):
        return False  # step-up
    if txn.hint_subject and ctx.subjects.sub_for(session.subject, client) != txn.hint_subject:
        return False
    return True


def needs_consent(ctx, txn: LoginTransaction, subject: str) -> bool:
    if "consent" in txn.prompt:
        return True
    from .consent import has_consent
    return not has_consent(ctx, subject, txn.client_id, txn.scope)


def issue_code(ctx, txn: LoginTransaction, session) -> str:
    """Store a single-use code for this session and return the client redirect URL."""
    import secrets
    client = ctx.clients.active(txn.client_id)
    if client is None:
        raise PageError("the client was disabled during login", error="invalid_client")
    code = secrets.token_urlsafe(32)
    grant_id = ctx.new_grant_id()
    claims = ctx.sessions.claims(session)
    data = {"client_id": txn.client_id, "redirect_uri": txn.redirect_uri, "scope": txn.scope,
            "nonce": txn.nonce, "code_challenge": txn.code_challenge,
            "code_challenge_method": txn.code_challenge_method, "subject": session.subject,
            "sid": session.sid, "auth_time": session.auth_time,
            "acr": txn.reported_acr(session.acr),
            "amr": session.amr, "claims_request": txn.claims, "grant_id": grant_id,
            "claims_sealed": ctx.sealer.seal(claims, aad=grant_id)}
    ctx.store.put("code:" + code_key(code), data, ctx.settings.code_ttl)
    ctx.sessions.add_client(session, client.client_id, ctx.subjects.sub_for(session.subject, client))
    params = {"code": code}
    if txn.state:
        params["state"] = txn.state
    params["iss"] = ctx.issuer  # RFC 9207
    return _append(txn.redirect_uri, params)
