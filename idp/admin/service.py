"""The admin service: the one layer the console, the admin API and the CLI act through.

Every operation takes the acting ``Actor``, checks its role here (``AccessDenied``, 403),
does the work through the owning component (client service, key ring, durable store) and
leaves an audit event (``method="admin"``, ``details.actor``) in the same transaction as the
change where the store allows it.  Refusals of a role are audited too.
"""
from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import func, select

from ..errors import AccessDenied, InvalidRequest
from ..store.audit import append_event
from ..store.audit_staging import flush as flush_staged
from ..store.models import AuditEvent, Client, RegistryPerson
from . import auditlog, roles
from .accounts import AdminAccounts
from .authorities import Authorities, check_crl_source, check_ocsp_source, parse_ca_certificate
from .clientjson import client_json, parse_client_input
from .roles import Actor

UNSET = object()  # an optional argument that was not given (None has a meaning: clear)
INITIAL_TOKEN_TTL = 24 * 3600
MAX_INITIAL_TOKEN_TTL = 30 * 24 * 3600


def initial_token_key(token: str) -> str:
    return "dcr-iat:" + hashlib.sha256(token.encode()).hexdigest()


class AdminService:
    def __init__(self, state):
        self.state = state
        self.db = state.db
        self.clients = state.clients
        self.keyring = state.keyring
        self.store = state.store
        self.accounts = AdminAccounts(state.db, state.store, state.settings)
        self.authorities = Authorities(state.db)

    # -- plumbing ------------------------------------------------------------------------------
    def check(self, actor: Actor, permission: str) -> None:
        try:
            roles.check(actor, permission)
        except AccessDenied:
            self._audit(actor, "admin.denied", "failure", reason=permission)
            raise

    def _audit(self, actor: Actor, event: str, outcome: str = "success", *, session=None,
               client_id=None, reason=None, **details) -> None:
        fields = dict(event=event, outcome=outcome, client_id=client_id, method="admin",
                      reason=reason, details={"actor": actor.name, **details})
        if session is not None:
            append_event(session, **fields)
            return
        with self.db.session() as s:
            append_event(s, **fields)

    def record(self, actor: Actor, event: str, **details) -> None:
        """Audit an action that changes nothing stored (e.g. a console logout)."""
        self._audit(actor, event, **details)

    # -- relying parties -------------------------------------------------------------------------
    def list_clients(self, actor: Actor) -> list[dict]:
        self.check(actor, roles.CLIENTS_READ)
        return [client_json(c) for c in self.clients.list()]

    def get_client(self, actor: Actor, client_id: str) -> dict:
        self.check(actor, roles.CLIENTS_READ)
        return client_json(self.clients.require(client_id))

    def create_client(self, actor: Actor, body: dict) -> dict:
        """Create a relying party; the answer carries its secret, the only time it is shown."""
        self.check(actor, roles.CLIENTS_WRITE)
        meta, flags = parse_client_input(body)
        admin = flags.get("admin_client", False)
        if admin:
            self.check(actor, roles.ADMIN_CLIENTS)
        client, secret = self.clients.create(meta, is_admin=admin, actor=actor.name)
        if flags.get("enabled") is False:
            self.clients.set_enabled(client.client_id, False, actor=actor.name)
            client = self.clients.require(client.client_id)
        return client_json(client, secret)

    def update_client(self, actor: Actor, client_id: str, body: dict) -> dict:
        self.check(actor, roles.CLIENTS_WRITE)
        current = self.clients.require(client_id)
        meta, flags = parse_client_input(body, client_id=client_id)
        changes = dict(meta)
        if "admin_client" in flags and flags["admin_client"] != current.is_admin:
            self.check(actor, roles.ADMIN_CLIENTS)
            changes["is_admin"] = flags["admin_client"]
        self._guard_admin_client(actor, client_id)
        if "enabled" in flags:
            changes["enabled"] = flags["enabled"]
        client = self.clients.update(client_id, changes, actor=actor.name)
        client = self._keep_private(current, client, actor)
        return client_json(client)

    def _keep_private(self, before, after, actor):
        # validate_metadata keeps only registration fields; carry the RFC 7592 token hash over.
        private = before.metadata.get("registration_access_token_hash")
        if private and after.metadata.get("registration_access_token_hash") != private:
            self.clients.set_private_metadata(after.client_id,
                                              {"registration_access_token_hash": private},
                                              actor=actor.name)
            after = self.clients.require(after.client_id)
        return after

    def rotate_client_secret(self, actor: Actor, client_id: str) -> dict:
        self.check(actor, roles.CLIENTS_WRITE)
        self._guard_admin_client(actor, client_id)
        secret = self.clients.rotate_secret(client_id, actor=actor.name)
        return {"client_id": client_id, "client_secret": secret, "client_secret_expires_at": 0}

    def set_client_enabled(self, actor: Actor, client_id: str, enabled: bool) -> dict:
        self.check(actor, roles.CLIENTS_WRITE)
        self._guard_admin_client(actor, client_id)
        self.clients.set_enabled(client_id, enabled, actor=actor.name)
        return client_json(self.clients.require(client_id))

    def delete_client(self, actor: Actor, client_id: str) -> None:
        self.check(actor, roles.CLIENTS_WRITE)
        self._guard_admin_client(actor, client_id)
        self.clients.delete(client_id, actor=actor.name)

    def _guard_admin_client(self, actor: Actor, client_id: str) -> None:
        if self.clients.require(client_id).is_admin and not actor.can(roles.ADMIN_CLIENTS):
            raise self._denied(actor, "only an admin may change an admin client")

    def _denied(self, actor: Actor, text: str) -> AccessDenied:
        self._audit(actor, "admin.denied", "failure", reason=roles.ADMIN_CLIENTS)
        return AccessDenied(text)

    def issue_initial_token(self, actor: Actor, ttl: int | None = None) -> dict:
        """An RFC 7591 initial access token: one dynamic registration, within ``ttl`` seconds."""
        self.check(actor, roles.CLIENTS_WRITE)
        ttl = INITIAL_TOKEN_TTL if ttl is None else ttl
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 60 <= ttl <= MAX_INITIAL_TOKEN_TTL:
            raise InvalidRequest(f"ttl must be between 60 and {MAX_INITIAL_TOKEN_TTL} seconds")
        token = secrets.token_urlsafe(32)
        self.store.put(initial_token_key(token), {"issued_by": actor.name, "at": time.time()}, ttl)
        self._audit(actor, "admin.initial_token", ttl=ttl)
        return {"initial_access_token": token, "expires_in": ttl}

    # -- signing keys ------------------------------------------------------------------------------
    def list_keys(self, actor: Actor) -> list[dict]:
        self.check(actor, roles.KEYS_READ)
        now, signers = time.time(), self.keyring.signer_kids()
        return [i.to_dict(now, signers) for i in self.keyring.infos()]

    def rotate_keys(self, actor: Actor, algs=None, activate_in: int | None = None) -> dict:
        self.check(actor, roles.KEYS_WRITE)
        algs = list(algs or ("RS256", "ES256"))
        if any(a not in ("RS256", "ES256") for a in algs):
            raise InvalidRequest("alg must be RS256 or ES256")
        if activate_in is not None and (isinstance(activate_in, bool) or not isinstance(activate_in, int)
                                        or not 0 <= activate_in <= 7 * 24 * 3600):
            raise InvalidRequest("activate_in must be a number of seconds between 0 and 604800")
        kids = self.keyring.rotate(algs, activate_in=activate_in)
        self._audit(actor, "admin.keys.rotate", kids=kids)
        delay = self.keyring.publish_delay if activate_in is None else activate_in
        return {"published": kids, "activates_in": delay, "keys": self.list_keys(actor)}

    def retire_key(self, actor: Actor, kid: str) -> None:
        self.check(actor, roles.KEYS_WRITE)
        self.keyring.retire(kid)
        self._audit(actor, "admin.keys.retire", kid=kid)

    # -- licence authorities -------------------------------------------------------------------------
    def list_authorities(self, actor: Actor) -> list[dict]:
        self.check(actor, roles.AUTHORITIES_READ)
        return self.authorities.list()

    def add_authority(self, actor: Actor, pem, *, name: str | None = None, crl_source=None,
                      ocsp_source=None) -> dict:
        self.check(actor, roles.AUTHORITIES_WRITE)
        ca = parse_ca_certificate(pem)
        crl = check_crl_source(crl_source)
        ocsp = check_ocsp_source(ocsp_source)
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise InvalidRequest("the name must be at most 200 characters")
        with self.db.session() as s:
            added = self.authorities.add(s, ca, name=(name or "").strip() or None, crl_source=crl,
                                         ocsp_source=ocsp)
            self._audit(actor, "admin.authority.add", session=s, authority=ca.id, name=added["name"])
        return added

    def set_authority_enabled(self, actor: Actor, authority_id: str, enabled: bool) -> None:
        self.check(actor, roles.AUTHORITIES_WRITE)
        with self.db.session() as s:
            self.authorities.set_enabled(s, authority_id, enabled)
            self._audit(actor, "admin.authority." + ("enable" if enabled else "disable"),
                        session=s, authority=authority_id)

    def update_authority_sources(self, actor: Actor, authority_id: str, *, crl_source=UNSET,
                                 ocsp_source=UNSET) -> dict:
        """Change where an authority's CRL and/or OCSP answers come from; a source left
        ``UNSET`` stays as it is, None or an empty string clears it."""
        self.check(actor, roles.AUTHORITIES_WRITE)
        changes = {}
        if crl_source is not UNSET:
            changes["crl_source"] = check_crl_source(crl_source)
        if ocsp_source is not UNSET:
            changes["ocsp_source"] = check_ocsp_source(ocsp_source)
        with self.db.session() as s:
            updated, changed = self.authorities.update_sources(s, authority_id, changes)
            self._audit(actor, "admin.authority.update", session=s, authority=authority_id,
                        changed=changed)
        return updated

    # -- registry, audit, statistics ----------------------------------------------------------------
    def registry_status(self, actor: Actor) -> dict:
        self.check(actor, roles.REGISTRY_READ)
        flush_staged(self.db)  # the import events
        with self.db.session(write=False) as s:
            by_source = dict(s.execute(select(RegistryPerson.source, func.count())
                                       .group_by(RegistryPerson.source)).all())
            templates = s.execute(select(func.count()).select_from(RegistryPerson)
                                  .where(RegistryPerson.template_enc.is_not(None))).scalar_one()
            updated = s.execute(select(func.max(RegistryPerson.updated_at))).scalar_one()
            imports, _ = auditlog.search(s, event="registry.import", limit=5)
        registry = self.state.services.get("registry")
        adapter = getattr(registry, "kind", None) or (type(registry).__name__ if registry else "local")
        return {"adapter": adapter, "persons": sum(by_source.values()), "with_template": templates,
                "by_source": by_source, "last_updated": updated, "imports": imports}

    def search_audit(self, actor: Actor, **filters) -> tuple[list[dict], int | None]:
        self.check(actor, roles.AUDIT_READ)
        filters.setdefault("limit", 100)
        flush_staged(self.db)  # events committed but not yet chained (PostgreSQL) show too
        with self.db.session(write=False) as s:
            return auditlog.search(s, **filters)

    def stats(self, actor: Actor, hours: int = 24) -> dict:
        self.check(actor, roles.AUDIT_READ)
        flush_staged(self.db)
        with self.db.session(write=False) as s:
            out = auditlog.stats(s, hours=hours)
            out["clients"] = {
                "total": s.execute(select(func.count()).select_from(Client)).scalar_one(),
                "enabled": s.execute(select(func.count()).select_from(Client)
                                     .where(Client.enabled.is_(True))).scalar_one()}
            out["audit_events"] = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        return out
