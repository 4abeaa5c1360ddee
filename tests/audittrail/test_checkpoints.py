"""Signed checkpoints: every attack on the trail is detected with a precise message."""
from __future__ import annotations

import json
import time

import pytest
from joserfc import jws as joserfc_jws
from joserfc.jwk import RSAKey
from sqlalchemy import delete, select, update

from idp.audittrail.checkpoints import ChainBroken, jws_digest
from idp.audittrail.jws import CHECKPOINT_TYP
from idp.store import audit
from idp.store.models import AuditCheckpoint, AuditEvent

from .conftest import add_events, check


def _header(token: str) -> dict:
    return joserfc_jws.extract_compact(token.encode()).headers()


def _cp(state):
    return state.services["checkpoints"]


def test_checkpoint_signs_the_head_and_reaches_the_file_sink(state, sink_file):
    add_events(state, 5)
    head = _cp(state).checkpoint()
    assert (head.seq, head.event_id, head.count) == (1, 5, 5)
    lines = sink_file.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["seq"] == 1
    header = _header(head.jws)
    assert header["typ"] == CHECKPOINT_TYP and header["kid"] == state.keyring.signing_key("RS256").kid
    add_events(state, 3)
    second = _cp(state).checkpoint()
    assert (second.seq, second.event_id, second.count) == (2, 8, 8)
    assert len(sink_file.read_text().splitlines()) == 2
    report = check(state, sink_file.read_text())
    assert report.ok, report.problems
    add_events(state, 2)
    assert check(state, sink_file.read_text()).after_last == 2


def test_deleting_the_newest_rows_is_named_truncation(state, sink_file):
    add_events(state, 10)
    _cp(state).checkpoint()
    with state.db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id > 7))
    with state.db.session(write=False) as s:  # the chain alone still verifies
        assert audit.verify_chain(s) is None
    report = check(state, sink_file.read_text())
    assert report.problems == [report.problems[0]] and report.problems[0].startswith(
        "TRUNCATED: checkpoint seq 1")
    assert "covers events up to 10 (10 events), but the trail ends at event 7 (7 events)" \
        in report.problems[0]


def test_an_edited_row_is_named(state, sink_file):
    add_events(state, 6)
    _cp(state).checkpoint()
    with state.db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 3).values(reason="nothing happened"))
    problems = check(state, sink_file.read_text()).problems
    assert problems == ["event 3 (test.event at " + problems[0].split(" at ")[1].split(")")[0]
                        + ") was edited: its stored hash does not match its content"]


def test_an_edit_with_the_chain_recomputed_is_caught_by_the_checkpoint(state, sink_file):
    add_events(state, 6)
    _cp(state).checkpoint()
    with state.db.session() as s:  # the attacker re-hashes every row after the edit
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        prev = audit.GENESIS
        for row in rows:
            if row.id == 4:
                row.reason = "rewritten"
            fields = {name: getattr(row, name) for name in audit._FIELDS}
            row.prev_hash, row.hash = prev, audit.event_hash(prev, fields)
            prev = row.hash
    with state.db.session(write=False) as s:
        assert audit.verify_chain(s) is None
    problems = check(state, sink_file.read_text()).problems
    assert len(problems) == 1
    assert problems[0].startswith("event 6 differs from what checkpoint seq 1 signed")


def test_reordered_rows_are_named(state, sink_file):
    add_events(state, 6)
    _cp(state).checkpoint()
    with state.db.session() as s:  # swap events 3 and 4
        s.execute(update(AuditEvent).where(AuditEvent.id == 3).values(id=100))
        s.execute(update(AuditEvent).where(AuditEvent.id == 4).values(id=3))
        s.execute(update(AuditEvent).where(AuditEvent.id == 100).values(id=4))
    problems = check(state, sink_file.read_text()).problems
    assert problems[0].startswith("events reordered: event 3 (test.event")
    assert "links to event 4, which comes after it" in problems[0]


def test_a_deleted_middle_row_is_named(state, sink_file):
    add_events(state, 6)
    _cp(state).checkpoint()
    with state.db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id == 4))
    problems = check(state, sink_file.read_text()).problems
    assert problems[0].startswith("events deleted after event 3: event 5")
    assert "checkpoint seq 1 counted 6 events up to event 6, the trail has 5" in problems[1]


def test_a_dropped_middle_checkpoint_is_named(state, sink_file):
    for _ in range(4):
        add_events(state, 2)
        _cp(state).checkpoint()
    lines = sink_file.read_text().splitlines()
    del lines[1]  # seq 2
    problems = check(state, "\n".join(lines)).problems
    assert problems == ["checkpoint seq 2 missing: the checkpoints jump from seq 1 to seq 3 "
                        "(dropped from the sink)"]


def test_a_checkpoint_forged_with_another_key_is_named(state, sink_file):
    add_events(state, 4)
    _cp(state).checkpoint()
    real = json.loads(sink_file.read_text().splitlines()[0])
    claims = json.loads(joserfc_jws.extract_compact(real["jws"].encode()).payload)
    forged_claims = dict(claims, seq=2, event_id=2, count=2, prev=jws_digest(real["jws"]),
                         iat=claims["iat"] + 1)
    other = RSAKey.generate_key(2048)
    payload = json.dumps(forged_claims).encode()
    own_kid = state.keyring.signing_key("RS256").kid
    by_other_kid = joserfc_jws.serialize_compact(
        {"alg": "RS256", "kid": other.thumbprint(), "typ": CHECKPOINT_TYP}, payload, other)
    by_own_kid = joserfc_jws.serialize_compact(
        {"alg": "RS256", "kid": own_kid, "typ": CHECKPOINT_TYP}, payload, other)
    problems = check(state, real["jws"] + "\n" + by_other_kid).problems
    assert problems == [f"checkpoint at line 2 is not valid: signed with key "
                        f"'{other.thumbprint()}', which is not one of this OP's signing keys "
                        "(forged, or signed by another server)"]
    problems = check(state, real["jws"] + "\n" + by_own_kid).problems
    assert problems == [f"checkpoint at line 2 is not valid: signature does not verify with "
                        f"this OP's key {own_kid}"]


def test_another_token_type_is_not_a_checkpoint(state, sink_file):
    from idp.audittrail import jws
    token = jws.sign(state.keyring, "JWT", {"iss": state.settings.issuer, "iat": 1, "seq": 1,
                                            "event_id": 1, "hash": "0" * 64, "count": 1})
    problems = check(state, token).problems
    assert problems[0].endswith(f"typ is 'JWT', not '{CHECKPOINT_TYP}'")


def test_checkpoints_of_a_rotated_and_removed_key_still_verify(state, sink_file):
    add_events(state, 3)
    _cp(state).checkpoint()
    old_kid = state.keyring.signing_key("RS256").kid
    state.keyring.rotate(("RS256",), activate_in=0)
    state.keyring.retire(old_kid)  # withdrawn from the JWKS at once
    add_events(state, 3)
    second = _cp(state).checkpoint()
    assert _header(second.jws)["kid"] == state.keyring.signing_key("RS256").kid != old_kid
    assert old_kid not in {k["kid"] for k in state.keyring.jwks()["keys"]}
    report = check(state, sink_file.read_text())
    assert report.ok, report.problems


def test_the_op_refuses_to_sign_a_truncated_or_rewritten_trail(state):
    add_events(state, 5)
    _cp(state).checkpoint()
    add_events(state, 2)
    with state.db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 6).values(reason="x"))
    with pytest.raises(ChainBroken, match="event 6 does not verify"):
        _cp(state).checkpoint()
    with state.db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id > 3))
    with pytest.raises(ChainBroken, match="events were deleted"):
        _cp(state).checkpoint()
    with state.db.session(write=False) as s:
        assert s.scalar(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq.desc())) == 1


def test_automatic_checkpoint_every_n_events(make_app, tmp_path):
    app = make_app(audit_checkpoint_events=5, audit_checkpoint_seconds=0,
                   audit_checkpoint_file=str(tmp_path / "cp.jsonl"))
    state = app.extensions["idp"]
    add_events(state, 7)
    app.test_client().get("/.well-known/openid-configuration")  # a request wakes the thread
    deadline = time.time() + 10
    while time.time() < deadline and not (tmp_path / "cp.jsonl").exists():
        time.sleep(0.2)
    assert json.loads((tmp_path / "cp.jsonl").read_text().splitlines()[0])["event_id"] == 7


def test_two_checkpoints_of_one_head_verify(state, sink_file):
    """Two nodes' timers can sign the same head when no event came between: that is not a
    truncation (the verifier once named it one)."""
    add_events(state, 4)
    first = _cp(state).checkpoint()
    second = _cp(state).checkpoint()
    assert second is not None and (first.event_id, first.count) == (second.event_id, second.count)
    assert second.seq == first.seq + 1
    report = check(state, sink_file.read_text())
    assert report.ok, report.problems
