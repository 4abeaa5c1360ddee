"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

Off unless an administrator hands out an initial access token: each token registers one
client and then is gone.  The registration access token of a client is 256 random bits;
only its SHA-256 is kept, in the client's stored metadata, so it survives restarts and is
shared by every node.  Privileges only an administrator grants (admin scope, public subject
identifiers, the full ID number, sector and token lifetimes) cannot be self-registered.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from ..clients.validation import InvalidClientMetadata, validate_metadata
from ..errors import IdpError, InvalidRequest, Unauthorized
from .clientjson import client_json
from .service import initial_token_key

DCR_FIELDS = ("client_name", "redirect_uris", "grant_types", "token_endpoint_auth_method",
              "scope", "subject_type", "jwks", "jwks_uri", "backchannel_logout_uri",
              "post_logout_redirect_uris", "logo_uri", "id_token_signed_response_alg")
# RFC 7592 section 2.2: these must not be sent in an update request.
SERVER_FIELDS = ("registration_access_token", "registration_client_uri",
                 "client_secret_expires_at", "client_id_issued_at")
TOKEN_KEY = "registration_access_token_hash"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _metadata(body: dict, *, current: dict | None = None) -> dict:
    """The fields a client may register; unknown fields are ignored (RFC 7591 section 2).

    With ``current`` (an RFC 7592 update) every field is replaced, absent ones by the
    default, except what an administrator granted, which the client can keep but not gain.
    """
    replace = current is not None
    current = current or {}
    meta = {f: body.get(f) for f in DCR_FIELDS if replace or f in body}
    response_types = body.get("response_types")
    if response_types not in (None, ["code"], []):
        raise InvalidClientMetadata("response_types must be [\"code\"]")
    scope = meta.get("scope")
    had_admin = "admin" in str(current.get("scope") or "").split()
    if isinstance(scope, str) and "admin" in scope.split() and not had_admin:
        raise InvalidClientMetadata("the admin scope is granted by an administrator only")
    if meta.get("subject_type") is None:
        meta.pop("subject_type", None)  # keep what was registered or granted
    elif meta["subject_type"] == "public" and current.get("subject_type") != "public":
        raise InvalidClientMetadata("public subject identifiers are granted by an administrator only")
    return meta


class Registrations:
    def __init__(self, state):
        self.clients = state.clients
        self.store = state.store
        self.issuer = state.settings.issuer

    def uri(self, client_id: str) -> str:
        return f"{self.issuer}/register/{client_id}"

    def _response(self, client, token: str, secret: str | None = None) -> dict:
        data = client_json(client, secret)
        data.pop("admin_client", None)
        data.update(registration_access_token=token, registration_client_uri=self.uri(client.client_id))
        return data

    def check_initial(self, initial_token: str) -> dict:
        grant = self.store.get(initial_token_key(initial_token))
        if not isinstance(grant, dict):
            raise Unauthorized("dynamic registration needs a valid initial access token "
                               "issued by an administrator")
        return grant

    def register(self, initial_token: str, body: dict) -> dict:
        key = initial_token_key(initial_token)
        grant = self.check_initial(initial_token)
        meta = _metadata(body)
        if not meta.get("client_name"):
            meta["client_name"] = "client-" + secrets.token_hex(6)
        validate_metadata(meta)  # 400 before the single-use token is spent
        left = self.store.ttl(key)
        if self.store.take(key) is None:
            raise Unauthorized("the initial access token was already used")
        actor = f"dcr:{grant.get('issued_by', 'unknown')}"
        try:
            client, secret = self.clients.create(meta, actor=actor)
        except IdpError as exc:
            if left:
                self.store.put(key, grant, left)  # nothing was registered: give it back
            if exc.status == 409:
                raise InvalidClientMetadata("client_name is already registered") from None
            raise
        token = secrets.token_urlsafe(32)
        try:
            self.clients.set_private_metadata(client.client_id, {TOKEN_KEY: _hash(token)}, actor=actor)
        except Exception:
            self.clients.delete(client.client_id, actor=actor)
            raise
        return self._response(self.clients.require(client.client_id), token, secret)

    def authorise(self, client_id: str, token: str):
        """The client whose registration access token this is; 401 otherwise (RFC 7592
        section 3: an unknown client is indistinguishable from a wrong token)."""
        client = self.clients.get(client_id)
        stored = client.metadata.get(TOKEN_KEY) if client else None
        if not stored or not hmac.compare_digest(stored, _hash(token)):
            raise Unauthorized("the registration access token is not valid for this client")
        return client

    def read(self, client_id: str, token: str) -> dict:
        return self._response(self.authorise(client_id, token), token)

    def update(self, client_id: str, token: str, body: dict) -> dict:
        client = self.authorise(client_id, token)
        if body.get("client_id") != client_id:
            raise InvalidRequest("the body must repeat this client's client_id (RFC 7592 section 2.2)")
        sent = [f for f in SERVER_FIELDS if f in body]
        if sent:
            raise InvalidRequest(f"{', '.join(sent)} must not be sent (RFC 7592 section 2.2)")
        if "client_secret" in body and not client.check_client_secret(body["client_secret"]):
            raise InvalidRequest("client_secret does not match the current secret")
        meta = _metadata(body, current=client.metadata)
        meta["client_name"] = meta.get("client_name") or client.name
        actor = f"dcr:{client_id}"
        self.clients.update(client_id, meta, actor=actor)
        # ClientService.update keeps registration fields only: put the token hash back.
        self.clients.set_private_metadata(client_id, {TOKEN_KEY: client.metadata[TOKEN_KEY]},
                                          actor=actor)
        return self._response(self.clients.require(client_id), token)

    def delete(self, client_id: str, token: str) -> None:
        self.authorise(client_id, token)
        self.clients.delete(client_id, actor=f"dcr:{client_id}")
