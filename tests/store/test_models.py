"""Models round-trip on SQLite and PostgreSQL; cascades and constraints hold."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import exc, func, select

from idp.store.models import (AdminUser, AuditEvent, Client, Consent, Ephemeral, Grant,
                              LicenceAuthority, RefreshToken, RegistryPerson, SigningKey)


def _client(client_id="c1", name="App One", **kw) -> Client:
    return Client(client_id=client_id, client_name=name, **kw)


def _family(now: float) -> list:
    return [
        _client(client_secret_hash="ab" * 32, metadata_={
            "redirect_uris": ["https://rp.example/cb"], "scope": "openid profile",
            "jwks": {"keys": []}, "allow_id_number": True}),
        Grant(grant_id="g1", client_id="c1", subject="sub-1", sid="sid-1", scope="openid",
              claims_enc=b"\x00\xffcipher", auth_time=now, acr="loa2", amr=["face", "pwd"],
              expires_at=now + 3600),
        RefreshToken(token_hash="cd" * 32, grant_id="g1", client_id="c1", scope="openid",
                     expires_at=now + 3600),
        Consent(subject="sub-1", client_id="c1", scope="openid profile", expires_at=now + 60),
    ]


def test_round_trip_all_tables(db):
    now = time.time()
    with db.session() as s:
        s.add_all(_family(now))
        s.add_all([
            SigningKey(kid="k1", alg="RS256", state="active", activated_at=now),
            Ephemeral(key="idp:x", value='{"a":1}', expires_at=now + 5),
            RegistryPerson(id_hash="ef" * 32, name_enc=b"n", template_enc=b"\x01" * 512,
                           source="csv"),
            AdminUser(username="root", password_hash="$argon2id$...", role="admin",
                      recovery_codes=["h1", "h2"]),
            LicenceAuthority(id="01" * 32, name="Demo CA", cert_pem="-----BEGIN...",
                             is_anchor=True),
        ])
    with db.session(write=False) as s:
        client = s.get(Client, "c1")
        assert client.enabled is True and client.is_admin is False
        assert client.metadata_["redirect_uris"] == ["https://rp.example/cb"]
        assert client.created_at == pytest.approx(now, abs=5)
        grant = s.get(Grant, "g1")
        assert grant.amr == ["face", "pwd"] and grant.claims_enc == b"\x00\xffcipher"
        assert grant.auth_time == now  # float epoch survives exactly
        assert s.get(RefreshToken, "cd" * 32).used_at is None
        assert s.get(Consent, ("sub-1", "c1")).scope == "openid profile"
        assert s.get(AdminUser, "root").failed_attempts == 0
        assert s.get(AdminUser, "root").recovery_codes == ["h1", "h2"]
        assert s.get(LicenceAuthority, "01" * 32).enabled is True
        assert s.get(RegistryPerson, "ef" * 32).template_enc == b"\x01" * 512


def test_deleting_a_client_cascades(db):
    with db.session() as s:
        s.add_all(_family(time.time()))
    with db.session() as s:
        s.delete(s.get(Client, "c1"))
    with db.session(write=False) as s:
        for model in (Grant, RefreshToken, Consent):
            assert s.scalar(select(func.count()).select_from(model)) == 0


def test_deleting_a_grant_removes_its_tokens(db):
    with db.session() as s:
        s.add_all(_family(time.time()))
    with db.session() as s:
        s.delete(s.get(Grant, "g1"))
    with db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(RefreshToken)) == 0
        assert s.get(Client, "c1") is not None


def test_client_name_is_unique(db):
    with db.session() as s:
        s.add(_client())
    with pytest.raises(exc.IntegrityError):
        with db.session() as s:
            s.add(_client(client_id="c2"))


def test_grant_needs_an_existing_client(db):
    with pytest.raises(exc.IntegrityError):
        with db.session() as s:
            s.add(Grant(grant_id="g", client_id="nope", subject="s", auth_time=0, expires_at=1))


def test_audit_ids_increase(db):
    with db.session() as s:
        for i in range(3):
            s.add(AuditEvent(ts=i, event="e", outcome="info", prev_hash="0" * 64, hash="0" * 64))
    with db.session(write=False) as s:
        assert s.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all() == [1, 2, 3]
