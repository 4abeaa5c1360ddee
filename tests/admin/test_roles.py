"""The admin service checks roles itself: a role acting beyond its rights gets 403."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.admin.roles import Actor
from idp.errors import AccessDenied
from idp.store.models import AuditEvent
from tests.admin.certs import make_cert

RP = {"client_name": "Matrix RP", "redirect_uris": ["https://rp.example.org/cb"]}

# operation -> roles allowed.  ``ctx`` holds ids made by the fixture below.
OPERATIONS = {
    "list_clients": (lambda s, a, c: s.list_clients(a), {"admin", "operator"}),
    "get_client": (lambda s, a, c: s.get_client(a, c["client_id"]), {"admin", "operator"}),
    "create_client": (lambda s, a, c: s.create_client(a, {**RP, "client_name": "new " + a.role}),
                      {"admin", "operator"}),
    "create_admin_client": (lambda s, a, c: s.create_client(a, {
        "client_name": "bot " + a.role, "grant_types": ["client_credentials"], "scope": "admin",
        "admin_client": True}), {"admin"}),
    "update_client": (lambda s, a, c: s.update_client(a, c["client_id"], {"logo_uri": "https://rp.example.org/l.png"}),
                      {"admin", "operator"}),
    "update_admin_client": (lambda s, a, c: s.update_client(a, c["admin_id"], {"client_name": "renamed " + a.role}),
                            {"admin"}),
    "rotate_secret": (lambda s, a, c: s.rotate_client_secret(a, c["client_id"]), {"admin", "operator"}),
    "disable_client": (lambda s, a, c: s.set_client_enabled(a, c["client_id"], False), {"admin", "operator"}),
    "delete_client": (lambda s, a, c: s.delete_client(a, c["victim_id"]), {"admin", "operator"}),
    "initial_token": (lambda s, a, c: s.issue_initial_token(a, 600), {"admin", "operator"}),
    "list_keys": (lambda s, a, c: s.list_keys(a), {"admin", "operator"}),
    "rotate_keys": (lambda s, a, c: s.rotate_keys(a, ["ES256"]), {"admin"}),
    "retire_key": (lambda s, a, c: s.retire_key(a, c["old_kid"]), {"admin"}),
    "list_authorities": (lambda s, a, c: s.list_authorities(a), {"admin", "operator"}),
    "add_authority": (lambda s, a, c: s.add_authority(a, make_cert("CA " + a.role)), {"admin"}),
    "disable_authority": (lambda s, a, c: s.set_authority_enabled(a, c["authority_id"], False), {"admin"}),
    "update_authority_sources": (lambda s, a, c: s.update_authority_sources(
        a, c["authority_id"], crl_source="/srv/crl/" + a.role + ".crl"), {"admin"}),
    "registry": (lambda s, a, c: s.registry_status(a), {"admin", "operator"}),
    "audit": (lambda s, a, c: s.search_audit(a, limit=5), {"admin", "operator", "auditor"}),
    "stats": (lambda s, a, c: s.stats(a), {"admin", "operator", "auditor"}),
}


@pytest.fixture
def ctx(app, svc):
    boss = Actor("user:boss", "admin")
    client = svc.create_client(boss, dict(RP))
    victim = svc.create_client(boss, {**RP, "client_name": "Victim RP"})
    bot = svc.create_client(boss, {"client_name": "Bot", "grant_types": ["client_credentials"],
                                   "scope": "admin", "admin_client": True})
    old_kid = next(k["kid"] for k in svc.list_keys(boss) if k["alg"] == "RS256")
    svc.rotate_keys(boss, ["RS256"])
    authority = svc.add_authority(boss, make_cert("Fixture CA"))
    return {"client_id": client["client_id"], "victim_id": victim["client_id"],
            "admin_id": bot["client_id"], "old_kid": old_kid, "authority_id": authority["id"]}


@pytest.mark.parametrize("role", ["admin", "operator", "auditor"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_permission_matrix(app, svc, ctx, role, operation):
    run, allowed = OPERATIONS[operation]
    actor = Actor(f"user:{role}-1", role)
    if role in allowed:
        run(svc, actor, ctx)
        return
    with pytest.raises(AccessDenied) as caught:
        run(svc, actor, ctx)
    assert caught.value.status == 403
    with app.extensions["idp"].db.session(write=False) as s:
        last = s.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert (last.event, last.outcome, last.details["actor"]) == ("admin.denied", "failure", actor.name)


def test_unknown_role_can_do_nothing(svc, ctx):
    with pytest.raises(AccessDenied):
        svc.search_audit(Actor("user:x", "superuser"))


def test_writes_are_audited_with_the_actor(app, svc):
    actor = Actor("user:carol", "operator")
    created = svc.create_client(actor, dict(RP))
    svc.rotate_client_secret(actor, created["client_id"])
    events, _ = svc.search_audit(Actor("user:a", "auditor"), client_id=created["client_id"])
    assert [(e["event"], e["method"], e["details"]["actor"]) for e in events] == [
        ("client.rotate_secret", "admin", "user:carol"), ("client.create", "admin", "user:carol")]
