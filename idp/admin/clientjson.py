"""A relying party as JSON: OIDC Dynamic Registration field names plus local flags.

Used by the admin API, the console and dynamic registration, so all three show and accept
the same fields.  Booleans are checked here because ``validate_metadata`` would read the
string ``"false"`` as true.
"""
from __future__ import annotations

from ..clients.validation import InvalidClientMetadata

# The fields ``validate_metadata`` understands (DCR names and this OP's extensions).
METADATA_FIELDS = (
    "client_name", "redirect_uris", "grant_types", "token_endpoint_auth_method", "scope",
    "subject_type", "jwks_uri", "jwks", "backchannel_logout_uri", "post_logout_redirect_uris",
    "sector_identifier", "logo_uri", "id_token_signed_response_alg", "allow_id_number",
    "access_token_ttl", "id_token_ttl", "refresh_token_ttl",
)
FLAGS = ("enabled", "admin_client")
READ_ONLY = ("client_id", "client_secret", "client_id_issued_at", "client_secret_expires_at",
             "response_types")
# Kept in the stored metadata but never shown (RFC 7592 registration access token).
PRIVATE_FIELDS = ("registration_access_token_hash",)


def client_json(client, secret: str | None = None) -> dict:
    meta = {k: v for k, v in client.metadata.items() if k not in PRIVATE_FIELDS}
    data = {"client_id": client.client_id, "client_id_issued_at": int(client.created_at), **meta,
            "enabled": client.enabled, "allow_id_number": bool(meta.get("allow_id_number")),
            "admin_client": client.is_admin}
    if secret:
        data["client_secret"] = secret
        data["client_secret_expires_at"] = 0  # RFC 7591 section 3.2.1: does not expire
    return data


def parse_client_input(body, *, client_id: str | None = None) -> tuple[dict, dict]:
    """Split a JSON body into (metadata changes, flags); refuse unknown or mistyped fields."""
    if not isinstance(body, dict):
        raise InvalidClientMetadata("the request body must be a JSON object")
    meta, flags = {}, {}
    for name, value in body.items():
        if name in METADATA_FIELDS:
            meta[name] = value
        elif name in FLAGS:
            flags[name] = value
        elif name == "client_id" and client_id is not None and value == client_id:
            continue
        elif name in READ_ONLY:
            raise InvalidClientMetadata(f"{name} is set by the server and cannot be changed")
        else:
            raise InvalidClientMetadata(f"unknown field {name!r}")
    for name, value in [*flags.items(), ("allow_id_number", meta.get("allow_id_number", False))]:
        if not isinstance(value, bool):
            raise InvalidClientMetadata(f"{name} must be true or false")
    return meta, flags
