"""Which user claims a client receives (DESIGN section 5, OIDC Core sections 5.4 and 5.5).

Claims come from the login method (``complete_login(..., claims=...)``) and are released by
scope, by the ``claims`` request parameter, and by what an admin allowed the client:
the full ``id_number`` only for clients with ``allow_id_number``; others get
``id_number_masked``.
"""
from __future__ import annotations

from ..errors import InvalidRequest
from ..jsonbody import JsonError, loads

MAX_CLAIMS_DEPTH = 8  # {"id_token": {"acr": {"values": [...]}}} is 4; room for extensions

# Minimal disclosure: scope openid alone releases no identity claim, only ``sub`` and the
# protocol claims (the acr already tells a company login from a person's).  ``name`` is the
# person's name, or a legal person's registered organisation name (OIDC Core 5.1: "full
# name ... in displayable form"), so generic relying parties show something for both.
SCOPE_CLAIMS = {
    "openid": set(),
    "profile": {"name", "birthdate", "gender", "org_name", "entity_type", "operator"},
    "org": {"org_name", "uscc", "legal_representative", "entity_type", "operator"},
    "id_number": {"id_number"},
}
CLAIMS_SUPPORTED = sorted({"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "sid",
                           "nonce", "at_hash", "id_number_masked"}
                          | set().union(*SCOPE_CLAIMS.values()))


def mask(value: str, keep: int = 1) -> str:
    """Keep ``keep`` characters at each end (DESIGN section 5: first and last by default)."""
    if len(value) <= 2 * keep:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def parse_claims_request(raw) -> dict | None:
    """Validate the ``claims`` parameter (OIDC Core 5.5): a JSON object whose ``id_token`` and
    ``userinfo`` members are objects of claim requests, each null or an object in which
    ``essential`` is a boolean, ``value`` a string and ``values`` an array of strings (5.5.1;
    every claim this OP releases is a string).  Other members are ignored, as 5.5 asks."""
    if raw in (None, ""):
        return None
    if len(raw) > 4096:
        raise InvalidRequest("claims parameter is too large")
    try:
        value = loads(raw, max_depth=MAX_CLAIMS_DEPTH, what="claims parameter")
    except JsonError as exc:
        raise InvalidRequest(str(exc)) from None
    if not isinstance(value, dict):
        raise InvalidRequest("claims parameter must be a JSON object")
    for member in ("id_token", "userinfo"):
        part = value.get(member)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise InvalidRequest(f"claims.{member} must be a JSON object")
        for name, spec in part.items():
            _check_claim_spec(f"claims.{member}.{name}", spec)
    return value


def _check_claim_spec(where: str, spec) -> None:
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise InvalidRequest(f"{where} must be null or an object")
    if "essential" in spec and not isinstance(spec["essential"], bool):
        raise InvalidRequest(f"{where}.essential must be a boolean")
    if "value" in spec and not isinstance(spec["value"], str):
        raise InvalidRequest(f"{where}.value must be a string")
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidRequest(f"{where}.values must be an array of strings")


def essential_acr(claims_request: dict | None) -> list[str] | None:
    """Values of an essential ``acr`` claim request, if any (OIDC Core 5.5.1.1).

    ``claims_request`` has passed ``parse_claims_request``, so the types are known.  An
    essential ``acr`` without values only asks that ``acr`` be returned (it always is), so it
    constrains nothing: None."""
    spec = ((claims_request or {}).get("id_token") or {}).get("acr")
    if not isinstance(spec, dict) or spec.get("essential") is not True:
        return None
    if spec.get("values"):
        return list(spec["values"])
    return [spec["value"]] if "value" in spec else None


def release(user_claims: dict, scope: str, client, *, target: str,
            claims_request: dict | None = None, mask_keep: int = 1) -> dict:
    """The subset of ``user_claims`` this client may see in ``target`` (id_token/userinfo)."""
    scopes = set(scope.split())
    allowed = set()
    for name, names in SCOPE_CLAIMS.items():
        if name in scopes:
            allowed |= names
    # A claim named in the claims parameter is released only if it belongs to a scope the
    # admin allowed this client: the parameter selects, it never widens what a client may see.
    permitted = set().union(*(SCOPE_CLAIMS[s] for s in client.scopes if s in SCOPE_CLAIMS))
    named = {n for n in ((claims_request or {}).get(target) or {}) if n in permitted}
    allowed |= named
    out = {}
    for name in allowed:
        if name == "id_number":
            continue
        if user_claims.get(name) is not None:
            out[name] = user_claims[name]
    number = user_claims.get("id_number")
    if number and ("id_number" in scopes or "id_number" in named):
        if client.metadata.get("allow_id_number"):
            out["id_number"] = number
        else:
            out["id_number_masked"] = mask(number, mask_keep)
    return out
