"""Deleting expired grants, refresh tokens and consents (SQLite and PostgreSQL), and ``idp purge``."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from idp.store.models import Client, Consent, Grant, RefreshToken
from idp.store.purge import count_expired, purge_expired
from tests.helpers.cli import cli_env, cli_runner

NOW = 1_900_000_000.0


def _seed(db):
    """Two grants (one expired), their refresh tokens, two consents (one expired)."""
    with db.session() as s:
        s.add(Client(client_id="rp", client_name="RP", metadata_={}))
    with db.session() as s:
        for gid, exp in (("live", NOW + 3600), ("old", NOW - 3600)):
            s.add(Grant(grant_id=gid, client_id="rp", subject="sub", scope="openid", auth_time=NOW,
                        amr=[], created_at=NOW - 7200, expires_at=exp))
        s.flush()
        rows = [("live-current", "live", NOW + 600, None), ("live-rotated", "live", NOW + 10, NOW - 5),
                ("live-expired", "live", NOW - 900, NOW - 1000), ("old-current", "old", NOW + 600, None)]
        for th, gid, exp, used in rows:
            s.add(RefreshToken(token_hash=th, grant_id=gid, client_id="rp", expires_at=exp, used_at=used))
        s.add(Consent(subject="a", client_id="rp", scope="openid", expires_at=NOW + 60))
        s.add(Consent(subject="b", client_id="rp", scope="openid", expires_at=NOW - 60))


def _left(db):
    with db.session(write=False) as s:
        return (sorted(s.scalars(select(Grant.grant_id))), sorted(s.scalars(select(RefreshToken.token_hash))),
                sorted(s.scalars(select(Consent.subject))))


def test_purge_deletes_only_what_expired(db):
    _seed(db)
    expected = {"refresh_tokens": 2, "grants": 1, "consents": 1}
    assert count_expired(db, now=NOW, grace=0) == expected
    assert _left(db)[0] == ["live", "old"]  # counting deletes nothing
    assert purge_expired(db, now=NOW, grace=0) == expected
    # the rotated token stays until its own expiry: presenting it again is still detected as reuse
    assert _left(db) == (["live"], ["live-current", "live-rotated"], ["a"])
    assert purge_expired(db, now=NOW, grace=0) == {"refresh_tokens": 0, "grants": 0, "consents": 0}


def test_grace_keeps_rows_just_past_expiry(db):
    _seed(db)
    assert purge_expired(db, now=NOW, grace=7200) == {"refresh_tokens": 0, "grants": 0, "consents": 0}
    assert purge_expired(db, now=NOW, grace=120)["consents"] == 0  # 60 s past expiry: kept
    assert purge_expired(db, now=NOW, grace=30)["consents"] == 1


def test_purge_works_in_batches(db):
    with db.session() as s:
        s.add(Client(client_id="rp", client_name="RP", metadata_={}))
    with db.session() as s:
        s.add(Grant(grant_id="g", client_id="rp", subject="sub", auth_time=NOW, amr=[], expires_at=NOW + 60))
        s.flush()
        for i in range(25):
            s.add(RefreshToken(token_hash=f"t{i:03d}", grant_id="g", client_id="rp", expires_at=NOW - i - 1))
    assert purge_expired(db, now=NOW, grace=0, batch=4)["refresh_tokens"] == 25
    with db.session(write=False) as s:
        assert s.execute(select(func.count()).select_from(RefreshToken)).scalar_one() == 0


def test_bad_arguments():
    with pytest.raises(ValueError):
        purge_expired(None, grace=-1)


def test_idp_purge_command(tmp_path):
    env = cli_env(tmp_path)
    idp = cli_runner(env)
    from idp import create_app
    app = create_app(instance_dir=env["IDP_INSTANCE_DIR"], keys_dir=env["IDP_KEYS_DIR"],
                     secret_key=env["IDP_SECRET_KEY"])
    db = app.extensions["idp"].db
    with db.session() as s:
        s.add(Client(client_id="rp", client_name="RP", metadata_={}))
        s.add(Consent(subject="b", client_id="rp", scope="openid", expires_at=time.time() - 3600))
    dry = json.loads(idp("purge", "--dry-run", "--json").stdout)
    assert dry == {"dry_run": True, "refresh_tokens": 0, "grants": 0, "consents": 1}
    assert "deleted: 0 refresh tokens, 0 grants, 1 consents" in idp("purge").output
    assert "deleted: 0 refresh tokens, 0 grants, 0 consents" in idp("purge").output
    idp("purge", "--grace", "-5", code=2)
    with db.session(write=False) as s:
        events = s.scalars(select(Consent)).all()
    assert events == []
    from idp.admin import auditlog
    with db.session(write=False) as s:
        purges, _ = auditlog.search(s, event="maintenance.purge")
    assert [e["details"]["consents"] for e in purges] == [0, 1]
