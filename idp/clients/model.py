"""``OAuthClient``: a read-only snapshot of a stored relying party, in Authlib's ClientMixin shape."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list


def hash_secret(secret: str) -> str:
    # Client secrets are 256-bit random values made by the server, so one SHA-256 is a safe
    # storage form (as fosite does); a slow hash would only cost token-endpoint throughput.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class OAuthClient(ClientMixin):
    client_id: str
    client_secret_hash: str | None
    enabled: bool
    is_admin: bool
    metadata: dict = field(default_factory=dict)
    created_at: float = 0.0

    @classmethod
    def from_row(cls, row) -> "OAuthClient":
        return cls(row.client_id, row.client_secret_hash, bool(row.enabled), bool(row.is_admin),
                   dict(row.metadata_ or {}), row.created_at or 0.0)

    # -- plain accessors -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.metadata.get("client_name", self.client_id)

    @property
    def auth_method(self) -> str:
        return self.metadata.get("token_endpoint_auth_method", "client_secret_basic")

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"

    @property
    def redirect_uris(self) -> list[str]:
        return list(self.metadata.get("redirect_uris") or [])

    @property
    def scopes(self) -> list[str]:
        return scope_to_list(self.metadata.get("scope") or "") or []

    @property
    def sector(self) -> str:
        """The pairwise sector (OIDC Core 8.1): the redirect URIs' host, or the client id."""
        if self.metadata.get("sector_identifier"):
            return self.metadata["sector_identifier"]
        hosts = {urlsplit(u).hostname for u in self.redirect_uris}
        return hosts.pop() if len(hosts) == 1 else self.client_id

    def ttl(self, name: str, default: int) -> int:
        return self.metadata.get(name) or default

    # -- Authlib ClientMixin ---------------------------------------------------------------
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        uris = self.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope):
        if not scope:
            return " ".join(self.scopes)
        allowed = set(self.scopes)
        return " ".join(s for s in dict.fromkeys(scope_to_list(scope)) if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris  # exact match, DESIGN section 4

    def check_client_secret(self, client_secret):
        if not self.client_secret_hash or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self.client_secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method, endpoint):
        if endpoint == "token":
            return method == self.auth_method
        # introspection and revocation accept the client's registered method too
        return method == self.auth_method

    def check_response_type(self, response_type):
        return response_type == "code" and "code" in (self.metadata.get("response_types") or [])

    def check_grant_type(self, grant_type):
        return grant_type in (self.metadata.get("grant_types") or [])
