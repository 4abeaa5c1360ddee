"""PostgreSQL: audit events are committed to ``audit_pending`` by the request and chained by
a sequencer (``idp/store/audit_staging.py``).  Nothing committed is ever lost or chained
twice, whatever fails and wherever; a request whose event cannot be committed fails closed
with 503; every reader of the whole trail sees every committed event."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from idp.errors import DatabaseUnavailable
from idp.oidc.auditlog import AuditLog
from idp.store.audit import verify_chain
from idp.store.db import Database
from idp.store.models import AuditEvent
from tests.helpers.pg import pg_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def url():
    with pg_database() as database_url:
        Database(database_url).upgrade()
        yield database_url


def _counts(db) -> tuple[int, int]:
    """(chained, staged), from one snapshot (one statement): the sequencer moves events."""
    with db.session(write=False) as s:
        return tuple(s.execute(text("SELECT (SELECT count(*) FROM audit_events), "
                                    "(SELECT count(*) FROM audit_pending)")).one())


def _events(db) -> list[str]:
    with db.session(write=False) as s:
        assert verify_chain(s) is None
        return [r.reason for r in s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def _wait(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_append_commits_at_once_and_the_sequencer_chains_soon(url):
    db = Database(url)
    log = AuditLog(db)
    log.append(event="token", outcome="success", client_id="c", reason="r1",
               details={"grant_type": "authorization_code", "名": "测试"})
    assert sum(_counts(db)) == 1  # committed when append returned (staged or chained)
    assert _wait(lambda: _counts(db) == (1, 0))  # chained by the thread, without a reader
    assert _events(db) == ["r1"]
    db.dispose()


def test_a_node_that_dies_before_sequencing_loses_nothing(url):
    """Staged events of a node whose sequencer never ran (it crashed) are chained by another
    node's sequencer, in the order they were staged, and by readers of the trail."""
    crashed, survivor = Database(url), Database(url)
    dead = AuditLog(crashed)
    dead.sequencer.wake = lambda: None  # the process dies right after its commits
    for n in range(5):
        dead.append(event="login", outcome="success", reason=f"dead{n}")
    assert _counts(crashed) == (0, 5)
    alive = AuditLog(survivor)
    alive.append(event="login", outcome="success", reason="alive")
    assert _wait(lambda: _counts(survivor) == (6, 0))
    assert _events(survivor) == [f"dead{n}" for n in range(5)] + ["alive"]
    # and with no live sequencer at all, a reader chains leftovers first
    for n in range(3):
        dead.append(event="login", outcome="success", reason=f"late{n}")
    from idp.admin.service import flush_staged
    assert flush_staged(crashed) == 3 or _counts(crashed) == (9, 0)
    assert _counts(crashed) == (9, 0)
    crashed.dispose()
    survivor.dispose()


def test_a_serving_nodes_checkpoint_thread_chains_another_nodes_leftovers(make_app, url):
    crashed = Database(url)
    dead = AuditLog(crashed)
    dead.sequencer.wake = lambda: None  # the process dies right after its commit
    dead.append(event="login", outcome="success", reason="orphan")
    app = make_app(database_url=url)  # a node that serves, stages nothing itself
    state = app.extensions["idp"]
    assert _counts(state.db) == (0, 1)
    state.services["checkpoints"]._poll()  # what its thread does every second
    assert _counts(state.db) == (1, 0)
    assert _events(state.db) == ["orphan"]
    crashed.dispose()
    state.db.dispose()


def test_a_failed_sequencing_run_chains_nothing_and_keeps_every_event(url):
    """The sequencer's transaction fails half-way (after some inserts): nothing is chained,
    nothing leaves the staging table, and the next run chains everything once."""
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.reason = 'poison' THEN RAISE EXCEPTION 'disk full'; END IF; "
            "RETURN NEW; END $$"))
        conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON audit_events "
                          "FOR EACH ROW EXECUTE FUNCTION refuse()"))
    log = AuditLog(db)
    log.sequencer.wake = lambda: None  # runs only when this test says so
    for reason in ("a", "b", "poison", "c"):
        log.append(event="token", outcome="success", reason=reason)
    with pytest.raises(Exception, match="disk full"):
        log.flush()
    assert _counts(db) == (0, 4)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse ON audit_events"))
    log.flush()
    assert _counts(db) == (4, 0)
    assert _events(db) == ["a", "b", "poison", "c"]
    db.dispose()


def test_the_sequencer_thread_survives_a_database_outage(url):
    db = Database(url)
    log = AuditLog(db)
    log.sequencer.poll = 0.1
    log.append(event="token", outcome="success", reason="before")
    assert _wait(lambda: _counts(db) == (1, 0))
    # the sequencer loses its database (its staging commits still go through)
    broken = Database(make_url(url).set(port=1).render_as_string(hide_password=False))
    log.sequencer.db = broken
    log.append(event="token", outcome="success", reason="during")
    assert _wait(lambda: log.sequencer.failures > 0)
    assert _counts(db) == (1, 1)  # staged, not lost
    log.sequencer.db = db  # back
    assert _wait(lambda: _counts(db) == (2, 0), 20)
    assert _events(db) == ["before", "during"]
    broken.dispose()
    db.dispose()


def test_an_event_the_database_does_not_take_is_database_unavailable(url):
    down = Database(make_url(url).set(port=1).render_as_string(hide_password=False))
    with pytest.raises(DatabaseUnavailable):
        AuditLog(down).append(event="token", outcome="success")
    # a standby, or a primary demoted by a failover manager: SQLSTATE 25006
    sep = "&" if "?" in url else "?"
    standby = Database(url + sep + "options=-c%20default_transaction_read_only%3Don")
    with pytest.raises(DatabaseUnavailable):
        AuditLog(standby).append(event="token", outcome="success")
    with pytest.raises(ValueError):
        AuditLog(standby).append(event="token", outcome="maybe")
    db = Database(url)
    assert _counts(db) == (0, 0)
    for database in (down, standby, db):
        database.dispose()


def test_a_redemption_commits_its_event_with_the_grant_once(make_app, url):
    """Code and refresh redemptions stage their ``token`` event in the statement that stores
    the grant or the rotation: one event each, none for a refused (reused) token."""
    from tests.oidc.rp import RP
    app = make_app(database_url=url)
    state = app.extensions["idp"]
    rp = RP(app, app.test_client())
    tokens = rp.token(rp.login()["code"]).get_json()
    assert rp.refresh(tokens["refresh_token"]).status_code == 200
    assert rp.refresh(tokens["refresh_token"]).status_code == 400  # reuse: refused, audited
    state.provider.audit_log.flush()
    with state.db.session(write=False) as s:
        assert verify_chain(s) is None
        rows = s.execute(select(AuditEvent.outcome, AuditEvent.client_id, AuditEvent.ip,
                                AuditEvent.details).where(AuditEvent.event == "token")
                         .order_by(AuditEvent.id)).all()
    assert [(r.outcome, r.details["grant_type"]) for r in rows] == [
        ("success", "authorization_code"), ("success", "refresh_token"),
        ("failure", "refresh_token")]
    assert {r.client_id for r in rows} == {rp.client_id} and all(r.ip for r in rows)
    state.db.dispose()


def test_a_login_whose_event_cannot_be_committed_fails_closed_with_503(make_app, url):
    """The redemption of a code and a refresh: when the audit event cannot be committed the
    token endpoint answers 503 (never 200 without its event, never 500)."""
    from tests.oidc.rp import RP
    app = make_app(database_url=url)
    state = app.extensions["idp"]
    rp = RP(app, app.test_client())
    good = rp.token(rp.login()["code"])
    assert good.status_code == 200, good.get_data(as_text=True)
    with state.db.engine.begin() as conn:  # the staging table refuses writes like a standby
        conn.execute(text(
            "CREATE FUNCTION standby() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'read-only' USING ERRCODE = '25006'; END $$"))
        conn.execute(text("CREATE TRIGGER standby BEFORE INSERT ON audit_pending "
                          "FOR EACH ROW EXECUTE FUNCTION standby()"))
    resp = rp.token(rp.login()["code"])
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert "access_token" not in resp.get_data(as_text=True)
    refreshed = rp.refresh(good.get_json()["refresh_token"])
    assert refreshed.status_code == 503, refreshed.get_data(as_text=True)
    with state.db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER standby ON audit_pending"))
    state.provider.audit_log.flush()
    with state.db.session(write=False) as s:
        assert verify_chain(s) is None
    state.db.dispose()
