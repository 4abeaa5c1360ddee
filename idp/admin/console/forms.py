"""Reading the relying-party form into the JSON shape the admin service takes."""
from __future__ import annotations

from ...clients.validation import (AUTH_METHODS, GRANT_TYPES, ID_TOKEN_ALGS, SCOPES, TTL_FIELDS,
                                   InvalidClientMetadata)

CHOICES = {"auth_methods": AUTH_METHODS, "grant_types": GRANT_TYPES, "scopes": SCOPES,
           "algs": ID_TOKEN_ALGS, "ttl_fields": TTL_FIELDS}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _text(form, name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def client_body(form, *, may_admin: bool) -> dict:
    """Every field of the form (an edit replaces all of them)."""
    body = {
        "client_name": _text(form, "client_name") or "",
        "redirect_uris": _lines(form.get("redirect_uris")),
        "post_logout_redirect_uris": _lines(form.get("post_logout_redirect_uris")),
        "backchannel_logout_uri": _text(form, "backchannel_logout_uri"),
        "token_endpoint_auth_method": _text(form, "token_endpoint_auth_method"),
        "grant_types": form.getlist("grant_types"),
        "scope": " ".join(form.getlist("scope")),
        "subject_type": _text(form, "subject_type"),
        "sector_identifier": _text(form, "sector_identifier"),
        "allow_id_number": form.get("allow_id_number") == "on",
        "jwks_uri": _text(form, "jwks_uri"),
        "jwks": _text(form, "jwks"),
        "logo_uri": _text(form, "logo_uri"),
        "id_token_signed_response_alg": _text(form, "id_token_signed_response_alg"),
    }
    for name in TTL_FIELDS:
        raw = _text(form, name)
        try:
            body[name] = int(raw) if raw is not None else None
        except ValueError:
            raise InvalidClientMetadata(f"{name} must be a whole number of seconds") from None
    if may_admin:
        body["admin_client"] = form.get("admin_client") == "on"
    return body


def form_values(client: dict | None, form=None) -> dict:
    """What the form shows: the submitted values after an error, else the stored client."""
    if form is not None:
        values = {k: form.get(k, "") for k in form}
        values["grant_types"] = form.getlist("grant_types")
        values["scope"] = form.getlist("scope")
        values["allow_id_number"] = form.get("allow_id_number") == "on"
        values["admin_client"] = form.get("admin_client") == "on"
        return values
    client = client or {"grant_types": ["authorization_code", "refresh_token"],
                        "scope": "openid profile", "subject_type": "pairwise"}
    import json
    values = dict(client)
    values["redirect_uris"] = "\n".join(client.get("redirect_uris") or [])
    values["post_logout_redirect_uris"] = "\n".join(client.get("post_logout_redirect_uris") or [])
    values["scope"] = (client.get("scope") or "").split()
    values["jwks"] = json.dumps(client["jwks"], indent=1) if client.get("jwks") else ""
    return {k: ("" if v is None else v) for k, v in values.items()}
