"""Validation of relying-party metadata (OIDC Dynamic Client Registration field names).

One function, ``validate_metadata``, used by the CLI, the admin console and API and dynamic
registration, so the three cannot disagree about what a valid client is.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..errors import InvalidRequest
from ..jsonbody import loads

SCOPES = ("openid", "profile", "id_number", "org", "offline_access", "liveness", "admin")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials",
               "urn:ietf:params:oauth:grant-type:token-exchange")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
ID_TOKEN_ALGS = ("RS256", "ES256")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_URIS = 20
TTL_FIELDS = ("access_token_ttl", "id_token_ttl", "refresh_token_ttl")


class InvalidClientMetadata(InvalidRequest):
    """RFC 7591 section 3.2.2."""

    error = "invalid_client_metadata"


class InvalidRedirectUri(InvalidClientMetadata):
    error = "invalid_redirect_uri"


def check_uri(uri, field: str, *, error=InvalidClientMetadata) -> str:
    """Absolute http(s) URI, no fragment, https unless the host is the local machine."""
    if not isinstance(uri, str) or not uri or len(uri) > 2000 or _CONTROL.search(uri):
        raise error(f"{field}: {uri!r} is not a valid URI")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise error(f"{field}: {uri!r} is not a valid URI") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise error(f"{field}: {uri!r} must be an absolute http(s) URI")
    if parts.fragment or "#" in uri:
        raise error(f"{field}: {uri!r} must not contain a fragment")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise error(f"{field}: {uri!r} must use https (http only for localhost)")
    if parts.username or parts.password:
        raise error(f"{field}: {uri!r} must not contain credentials")
    return uri


def _uri_list(value, field: str, error=InvalidClientMetadata) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_URIS:
        raise error(f"{field} must be a list of at most {MAX_URIS} URIs")
    out = []
    for uri in value:
        check_uri(uri, field, error=error)
        if uri not in out:
            out.append(uri)
    return out


def _scope(value) -> str:
    if value is None:
        return "openid profile"
    if isinstance(value, list):
        value = " ".join(value)
    if not isinstance(value, str):
        raise InvalidClientMetadata("scope must be a space-separated string")
    scopes = []
    for scope in value.split():
        if scope not in SCOPES:
            raise InvalidClientMetadata(f"unknown scope {scope!r}; known scopes: {', '.join(SCOPES)}")
        if scope not in scopes:
            scopes.append(scope)
    return " ".join(scopes)


def _jwks(value):
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = loads(value, what="jwks")
        except ValueError:
            raise InvalidClientMetadata("jwks is not valid JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list) or not value["keys"]:
        raise InvalidClientMetadata('jwks must be a JSON object {"keys": [...]} with at least one key')
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet
    for key in value["keys"]:
        if not isinstance(key, dict):
            raise InvalidClientMetadata("jwks: every key must be a JSON object")
        if key.get("kty") not in {"RSA", "EC"}:
            raise InvalidClientMetadata("jwks: only RSA and EC public keys are accepted")
        if any(p in key for p in ("d", "p", "q", "dp", "dq", "qi")):
            raise InvalidClientMetadata("jwks must contain public keys only, never private parts")
    try:
        KeySet.import_key_set(value)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidClientMetadata(f"jwks contains an invalid key: {exc}") from None
    return value


def _name(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidClientMetadata("client_name is required")
    value = value.strip()
    if len(value) > 200 or _CONTROL.search(value):
        raise InvalidClientMetadata("client_name must be at most 200 printable characters")
    return value


def validate_metadata(data: dict, *, current: dict | None = None) -> dict:
    """Return normalised metadata, or raise ``InvalidClientMetadata`` naming the field.

    ``current`` is the stored metadata when updating; fields absent from ``data`` keep
    their current value.
    """
    if not isinstance(data, dict):
        raise InvalidClientMetadata("client metadata must be a JSON object")
    merged = dict(current or {})
    merged.update({k: v for k, v in data.items()})
    out: dict = {"client_name": _name(merged.get("client_name"))}
    grant_types = merged.get("grant_types") or ["authorization_code", "refresh_token"]
    if isinstance(grant_types, str):
        grant_types = grant_types.split()
    if not isinstance(grant_types, list) or any(g not in GRANT_TYPES for g in grant_types):
        raise InvalidClientMetadata(f"grant_types must be a subset of {', '.join(GRANT_TYPES)}")
    out["grant_types"] = list(dict.fromkeys(grant_types))
    out["response_types"] = ["code"] if "authorization_code" in grant_types else []
    method = merged.get("token_endpoint_auth_method") or "client_secret_basic"
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    out["token_endpoint_auth_method"] = method
    if method == "none" and "client_credentials" in grant_types:
        raise InvalidClientMetadata("a public client (auth method none) cannot use client_credentials")
    out["redirect_uris"] = _uri_list(merged.get("redirect_uris"), "redirect_uris", InvalidRedirectUri)
    if "authorization_code" in grant_types and not out["redirect_uris"]:
        raise InvalidRedirectUri("redirect_uris is required for the authorization_code grant")
    out["post_logout_redirect_uris"] = _uri_list(merged.get("post_logout_redirect_uris"),
                                                 "post_logout_redirect_uris")
    backchannel = merged.get("backchannel_logout_uri")
    out["backchannel_logout_uri"] = check_uri(backchannel, "backchannel_logout_uri") if backchannel else None
    out["scope"] = _scope(merged.get("scope"))
    subject_type = merged.get("subject_type") or "pairwise"
    if subject_type not in {"pairwise", "public"}:
        raise InvalidClientMetadata("subject_type must be pairwise or public")
    out["subject_type"] = subject_type
    sector = merged.get("sector_identifier")
    if sector is not None and (not isinstance(sector, str) or not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", sector)):
        raise InvalidClientMetadata("sector_identifier must be a host name")
    out["sector_identifier"] = sector
    jwks, jwks_uri = _jwks(merged.get("jwks")), merged.get("jwks_uri")
    if jwks and jwks_uri:
        raise InvalidClientMetadata("give jwks or jwks_uri, not both (RFC 7591 section 2)")
    out["jwks"] = jwks
    out["jwks_uri"] = check_uri(jwks_uri, "jwks_uri") if jwks_uri else None
    if method == "private_key_jwt" and not (jwks or jwks_uri):
        raise InvalidClientMetadata("private_key_jwt needs jwks or jwks_uri")
    alg = merged.get("id_token_signed_response_alg") or "RS256"
    if alg not in ID_TOKEN_ALGS:
        raise InvalidClientMetadata(f"id_token_signed_response_alg must be one of {', '.join(ID_TOKEN_ALGS)}")
    out["id_token_signed_response_alg"] = alg
    out["allow_id_number"] = bool(merged.get("allow_id_number", False))
    logo = merged.get("logo_uri")
    out["logo_uri"] = check_uri(logo, "logo_uri") if logo else None
    for field in TTL_FIELDS:
        value = merged.get(field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 60 <= value <= 90 * 24 * 3600):
            raise InvalidClientMetadata(f"{field} must be a whole number of seconds, 60 or more")
        out[field] = value
    return out
