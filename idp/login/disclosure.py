"""What the consent page lists: the claims this client will actually receive for this login.

Computed with the same ``release`` that fills the ID token and userinfo, from the claims of
the login that is being consented to, so a company login lists its organisation's data and
a person's login the person's, and nothing is listed that will not be released.
"""
from __future__ import annotations

from ..oidc.claims import release

# (claim, page string for a natural person, for a legal person), in the order shown
ITEMS = (
    ("name", "claim_name", "claim_org_name"),
    ("org_name", "claim_org_name", "claim_org_name"),
    ("birthdate", "claim_birthdate", None),
    ("gender", "claim_gender", None),
    ("id_number", "claim_id_number", None),
    ("id_number_masked", "claim_id_number_masked", None),
    ("uscc", None, "claim_uscc"),
    ("legal_representative", None, "claim_legal_representative"),
    ("operator", None, "claim_operator"),
    ("entity_type", "claim_entity_type", "claim_entity_type"),
)


def consent_items(user_claims: dict, scope: str, client, claims_request: dict | None) -> list[str]:
    """Page-string keys of what will be released, the login identifier first."""
    released = set()
    for target in ("id_token", "userinfo"):
        released |= set(release(user_claims, scope, client, target=target,
                                claims_request=claims_request))
    legal = user_claims.get("entity_type") == "legal_person"
    items = ["scope_openid"]
    for claim, person_key, org_key in ITEMS:
        key = org_key if legal else person_key
        if claim in released and key and key not in items:
            items.append(key)
    if "offline_access" in scope.split():
        items.append("scope_offline_access")
    return items
