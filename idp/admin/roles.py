"""Admin roles and what each may do; checked inside the admin service, never only in views.

* ``admin``: everything.
* ``operator``: relying parties (and initial access tokens for registering them); reads
  keys, licence authorities, the registry, the audit trail and the dashboard.
* ``auditor``: reads the audit trail and the dashboard built from it, nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import AccessDenied

ROLES = ("admin", "operator", "auditor")

CLIENTS_READ = "clients.read"
CLIENTS_WRITE = "clients.write"
ADMIN_CLIENTS = "clients.admin"  # make a client an admin client (it can then call the admin API)
KEYS_READ = "keys.read"
KEYS_WRITE = "keys.write"
AUTHORITIES_READ = "authorities.read"
AUTHORITIES_WRITE = "authorities.write"
REGISTRY_READ = "registry.read"
AUDIT_READ = "audit.read"
ACCOUNTS_WRITE = "accounts.write"

_READ_ALL = {CLIENTS_READ, KEYS_READ, AUTHORITIES_READ, REGISTRY_READ, AUDIT_READ}
PERMISSIONS = {
    "admin": _READ_ALL | {CLIENTS_WRITE, ADMIN_CLIENTS, KEYS_WRITE, AUTHORITIES_WRITE,
                          ACCOUNTS_WRITE},
    "operator": _READ_ALL | {CLIENTS_WRITE},
    "auditor": {AUDIT_READ},
}


@dataclass(frozen=True)
class Actor:
    """Who acts: ``user:NAME`` (console), ``client:ID`` (admin API), ``cli`` or ``dcr``."""

    name: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, ())


CLI = Actor("cli", "admin")  # whoever runs `idp` on the server already holds the database


def check(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        raise AccessDenied(f"the {actor.role} role may not do this ({permission})")
