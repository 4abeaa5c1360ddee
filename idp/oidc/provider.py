"""The provider: the OP's components, built once in ``create_app`` and handed to the views.

``Provider`` holds what the protocol needs (settings, stores, key ring, token minter, SSO
sessions, clients, audit) and offers the few operations several endpoints share (minting the
tokens of a principal, auditing).  ``build_server`` wires Authlib's AuthorizationServer with
this OP's grants, client authentication and token endpoints.
"""
from __future__ import annotations

import logging
import secrets
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749.errors import (InvalidRequestError, OAuth2Error,
                                           UnsupportedGrantTypeError)
from flask import request

from ..interaction import Transactions
from ..sealing import Sealer
from ..rootsecrets import secret_ring
from ..rootsecrets.datakeys import DataKeys
from .auditlog import AuditLog
from .claims import release
from . import token_request
from .grant_store import GrantStore
from .sessions import Sessions
from .subjects import Subjects
from .tokens import TokenMinter

log = logging.getLogger(__name__)


class Provider:
    def __init__(self, settings, database, store, keyring, clients):
        self.settings = settings
        self.issuer = settings.issuer
        self.db = database
        self.store = store
        self.keyring = keyring
        self.clients = clients
        self.sealer = Sealer(secret_ring(settings), "claims")
        self.data_keys = DataKeys(database, secret_ring(settings))
        self.subjects = Subjects(self.data_keys)
        self.sessions = Sessions(store, self.sealer, settings.session_ttl)
        self.transactions = Transactions(store, settings.login_ttl)
        self.grant_store = GrantStore(database, self.sealer)
        self.minter = TokenMinter(self.issuer, keyring)
        self.audit_log = AuditLog(database)  # group commit: one transaction per batch
        self.server = None  # set by build_server

    # -- audit ------------------------------------------------------------------------------
    def audit(self, event: str, outcome: str, *, client_id=None, subject=None, method=None,
              reason=None, details=None, ip=None) -> None:
        """Record an audit event; the request's client IP is added when there is a request."""
        if ip is None:
            try:
                ip = request.remote_addr
            except RuntimeError:  # the token fast path: no Flask request
                current = token_request.current()
                ip = current.ip if current is not None else None
        self.audit_log.append(event=event, outcome=outcome, client_id=client_id, subject=subject,
                              ip=ip, method=method, reason=reason, details=details or {})

    def audit_token_response(self, response) -> None:
        """Audit token requests: every failure, and every success that carries a user.

        Successful client-credentials requests are machine-to-machine token refreshes at
        up to thousands a second; they are counted in the metrics (tokens by grant), not
        chained one by one into the append-only trail, which records the authentications
        of people and organisations and every refused request.
        """
        grant_type = (request.form.get("grant_type") or "")[:64]
        current = token_request.current()
        if response.status_code == 200 and (grant_type == "client_credentials" or (
                current is not None and current.event_staged)):
            return  # (a redemption's event was committed with its grant: staged_token_event)
        client = self.clients.get(_claimed_client_id())  # only ids of real clients are kept
        client_id = client.client_id if client else None
        if response.status_code == 200:
            self.audit("token", "success", client_id=client_id, details={"grant_type": grant_type})
            return
        body = response.get_json(silent=True) or {}
        self.audit("token", "failure", client_id=client_id, reason=str(body.get("error"))[:64],
                   details={"grant_type": grant_type, "status": response.status_code})

    def staged_token_event(self, client_id: str) -> dict | None:
        """The ``token`` success event of a code or refresh redemption, for the grant store to
        commit in the statement that stores the grant or the rotation (PostgreSQL: one round
        trip instead of two, and the event is atomic with what it records); None where the
        view appends it after the response (SQLite, or outside a request)."""
        current = token_request.current()
        if self.audit_log.sequencer is None or current is None:
            return None
        return {"ts": time.time(), "event": "token", "outcome": "success", "client_id": client_id,
                "ip": current.ip, "details": {"grant_type": current.grant_type}}

    def token_event_committed(self, event: dict | None) -> None:
        if event is not None and event.get("staged"):
            token_request.current().event_staged = True  # the view: already in the trail
            self.audit_log.sequencer.wake()

    # -- tokens ------------------------------------------------------------------------------
    def id_token_for(self, client, principal, scope: str, *, access_token=None, nonce=None) -> str:
        sub = self.subjects.sub_for(principal.subject, client)
        claims = release(principal.claims, scope, client, target="id_token",
                         claims_request=principal.claims_request,
                         mask_keep=self.settings.id_number_mask_keep)
        return self.minter.id_token(client=client, sub=sub, principal=principal, nonce=nonce,
                                    user_claims=claims, access_token=access_token,
                                    ttl=client.ttl("id_token_ttl", self.settings.id_token_ttl))

    def generate_token(self, grant_type, client, user=None, scope=None, expires_in=None,
                       include_refresh_token=True):
        """Authlib's token generator: an RFC 9068 access token, and a rotated refresh token."""
        if grant_type == "client_credentials" and not scope:
            scope = " ".join(s for s in client.scopes if s not in {"openid", "profile", "offline_access"})
        scope = scope or ""
        ttl = expires_in or client.ttl("access_token_ttl", self.settings.access_token_ttl)
        sub = self.subjects.sub_for(user.subject, client) if user is not None else None
        access_token, _ = self.minter.access_token(client_id=client.client_id, scope=scope,
                                                   ttl=ttl, sub=sub, principal=user)
        token = {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl}
        if scope:
            token["scope"] = scope
        if user is not None and user.pending_grant is not None:
            # A code redemption: the grant and its first refresh token, one transaction.
            client_id, grant_scope, grant_ttl = user.pending_grant
            event = self.staged_token_event(client.client_id) if include_refresh_token else None
            refresh = self.grant_store.create(
                user.grant_id, client_id, user, grant_scope, grant_ttl,
                refresh_ttl=(client.ttl("refresh_token_ttl", self.settings.refresh_token_ttl)
                             if include_refresh_token else None), refresh_scope=scope, audit=event)
            self.token_event_committed(event)
            user.pending_grant = None
            if refresh is not None:
                token["refresh_token"] = refresh
        elif user is not None and include_refresh_token and user.grant_id:
            token["refresh_token"] = self.refresh_token_for(client, user.grant_id, scope)
        return token

    def refresh_token_for(self, client, grant_id: str, scope: str, *, replaces=None) -> str | None:
        event = self.staged_token_event(client.client_id) if replaces is not None else None
        token = self.grant_store.issue_refresh_token(
            grant_id, client.client_id, scope,
            client.ttl("refresh_token_ttl", self.settings.refresh_token_ttl), replaces=replaces,
            audit=event)
        self.token_event_committed(event)
        return token

    def new_grant_id(self) -> str:
        return secrets.token_urlsafe(24)


def _claimed_client_id():
    """The client id a token request names (Basic header, form, or assertion ``sub``)."""
    from authlib.oauth2.rfc6749.util import extract_basic_authorization
    try:
        basic_id, _ = extract_basic_authorization(request.headers)
    except (ValueError, TypeError, UnicodeError):
        basic_id = None
    if basic_id or request.form.get("client_id"):
        return basic_id or request.form.get("client_id")
    assertion = request.form.get("client_assertion")
    if assertion and len(assertion) <= 8192:
        from joserfc import jws
        from joserfc.errors import JoseError
        try:
            import json
            return json.loads(jws.extract_compact(assertion.encode()).payload).get("sub")
        except (JoseError, ValueError, TypeError, UnicodeError, AttributeError):
            return None
    return None


ONE_METHOD = "use one client authentication method per request (RFC 6749 section 2.3)"


def several_auth_methods(req) -> bool:
    """RFC 6749 section 2.3: "The client MUST NOT use more than one authentication method in
    each request."  Credentials in HTTP Basic, a ``client_secret`` and a client assertion
    (RFC 7523) in the body are three methods; a ``client_id`` alone in the body is not one."""
    methods = (req.headers.get("Authorization", "")[:6].lower() == "basic ",
               "client_secret" in req.form,
               "client_assertion" in req.form or "client_assertion_type" in req.form)
    return sum(methods) > 1


def safe_description(text: str, limit: int = 200) -> str:
    """An ``error_description`` RFC 6749 section 5.2 allows (%x20-21 / %x23-5B / %x5D-7E).

    Authlib raises ValueError (a 500) for other characters, so text that may quote input
    or library messages goes through here first.
    """
    bad = set(invalid_error_characters(text))
    cleaned = "".join("?" if c in bad else c for c in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


class OidcServer(AuthorizationServer):
    """Authlib's Flask server with this OP's client lookup and no token persistence hook."""

    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self._query_client = ctx.clients.active
        self._save_token = lambda token, request: None
        self.register_token_generator("default", ctx.generate_token)

    def create_token_response(self, request=None):
        # RFC 6749 section 5.2: a missing required parameter is ``invalid_request``;
        # only a grant_type that is present but unknown is ``unsupported_grant_type``.
        from flask import request as flask_request
        if not flask_request.form.get("grant_type"):
            return self.handle_error_response(None, InvalidRequestError("grant_type is missing"))
        if several_auth_methods(flask_request):
            return self.handle_error_response(None, InvalidRequestError(ONE_METHOD))
        return super().create_token_response(request)

    def create_endpoint_response(self, name, request=None):
        from flask import request as flask_request
        if several_auth_methods(flask_request):
            return self.handle_error_response(None, InvalidRequestError(ONE_METHOD))
        return super().create_endpoint_response(name, request)

    def render_outcome(self, outcome):
        """The response to a token request whose grant the fast path ran and could not answer
        (``token_request.OUTCOME``): its OAuth error as this server renders it, or its
        exception raised again for the app's error handlers (503 for an outage)."""
        if isinstance(outcome, OAuth2Error):
            return self.handle_error_response(None, outcome)
        raise outcome

    def get_token_grant(self, request):
        try:
            return super().get_token_grant(request)
        except UnsupportedGrantTypeError as exc:
            # Authlib leaves the description out of the body; say which value was refused.
            exc.description = safe_description(f"grant_type={exc.grant_type} is not supported")
            raise

    def handle_response(self, status_code, payload, headers):
        response = super().handle_response(status_code, payload, headers)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response


def build_server(ctx: Provider) -> OidcServer:
    from .client_auth import PrivateKeyJWT
    from .grants import ClientCredentialsGrant, CodeGrant, IdTokenExtension, PkceS256, RefreshGrant
    from .introspection import Introspection, Revocation

    server = OidcServer(ctx)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT(ctx))
    id_token = IdTokenExtension(ctx)
    server.register_grant(CodeGrant, [PkceS256(required=True), id_token])
    server.register_grant(RefreshGrant, [id_token])
    server.register_grant(ClientCredentialsGrant)
    from .token_exchange import TokenExchangeGrant; server.register_grant(TokenExchangeGrant)  # noqa: E702
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    ctx.server = server
    return server
