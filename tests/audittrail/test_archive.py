"""Archiving old events: a signed file, and a chain that still verifies from its anchor."""
from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select

from idp.audittrail.archive import ArchiveError, archive, verify_archive
from idp.audittrail.jws import Verifier
from idp.store import audit
from idp.store.models import AuditEvent

from .conftest import add_events, check


def _verifier(state):
    return Verifier.from_keyring(state.keyring, state.settings.issuer)


def _archive(state, out, before=None):
    return archive(state.db, _verifier(state), state.keyring, state.settings.issuer,
                   before=before or time.time() + 1, out=out)


def test_archive_moves_old_events_behind_a_signed_anchor(state, tmp_path, sink_file):
    cp = state.services["checkpoints"]
    add_events(state, 5)
    cp.checkpoint()
    add_events(state, 3)
    summary = _archive(state, tmp_path / "a1.jsonl")
    assert (summary["events"], summary["to_event"], summary["checkpoint_seq"]) == (5, 5, 1)
    with state.db.session(write=False) as s:
        ids = s.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        assert ids == [6, 7, 8, 9]  # 9: the audit.archive event
        assert audit.verify_chain(s) is None
    assert verify_archive(tmp_path / "a1.jsonl", _verifier(state))["events"] == 5
    cp.checkpoint()
    report = check(state, sink_file.read_text())
    assert report.ok, report.problems
    assert report.anchor["event_id"] == 5 and report.archived_checkpoints == 0
    # a second archive continues from the anchor
    summary = _archive(state, tmp_path / "a2.jsonl")
    assert (summary["events"], summary["to_event"]) == (4, 9)
    result = verify_archive(tmp_path / "a2.jsonl", _verifier(state))
    assert (result["first_id"], result["last_id"]) == (6, 9)
    cp.checkpoint()
    assert check(state, sink_file.read_text()).ok


def test_archive_needs_a_covering_checkpoint_and_never_overwrites(state, tmp_path):
    add_events(state, 3)
    with pytest.raises(ArchiveError, match="no checkpoint covers"):
        _archive(state, tmp_path / "a.jsonl")
    state.services["checkpoints"].checkpoint()
    with pytest.raises(ArchiveError, match="no checkpoint covers"):
        _archive(state, tmp_path / "a.jsonl", before=1000.0)
    (tmp_path / "a.jsonl").write_text("x")
    with pytest.raises(ArchiveError, match="never overwritten"):
        _archive(state, tmp_path / "a.jsonl")


@pytest.mark.parametrize("tamper, message", [
    (lambda lines: lines[:2] + lines[3:], "changed after it was signed"),
    (lambda lines: [lines[0], lines[1].replace('"i":0', '"i":9')] + lines[2:],
     "changed after it was signed"),
    (lambda lines: lines[:-1], "archive signature"),
])
def test_a_tampered_archive_is_refused(state, tmp_path, tamper, message):
    add_events(state, 4)
    state.services["checkpoints"].checkpoint()
    _archive(state, tmp_path / "a.jsonl")
    lines = (tmp_path / "a.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "b.jsonl").write_text("".join(tamper(lines)))
    with pytest.raises(ArchiveError, match=message):
        verify_archive(tmp_path / "b.jsonl", _verifier(state))


def test_cli_checkpoint_verify_archive_offline(tmp_path):
    from idp.cli import main
    from tests.helpers.cli import cli_env
    env = dict(cli_env(tmp_path), IDP_AUDIT_CHECKPOINT_FILE=str(tmp_path / "cp.jsonl"))
    runner = CliRunner()

    def idp(*args, code=0):
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    idp("init")
    for name in "ABC":
        idp("clients", "create", "--name", name, "--redirect-uri", "https://a.example.org/cb")
    assert "checkpoint seq 1: event 3, 3 events" in idp("audit", "checkpoint")
    idp("clients", "create", "--name", "D", "--redirect-uri", "https://a.example.org/cb")
    out = idp("audit", "verify", "--checkpoints", str(tmp_path / "cp.jsonl"))
    assert "audit chain intact: 4 events" in out and "1 events after the last checkpoint" in out
    idp("keys", "list")
    from idp import create_app
    app = create_app(instance_dir=env["IDP_INSTANCE_DIR"], keys_dir=env["IDP_KEYS_DIR"],
                     secret_key=env["IDP_SECRET_KEY"])
    (tmp_path / "jwks.json").write_text(json.dumps(app.extensions["idp"].keyring.jwks()))
    out = idp("audit", "archive", "--before", "2100-01-01", "--out", str(tmp_path / "old.jsonl"))
    assert "archived 3 events (up to event 3, checkpoint seq 1)" in out
    out = idp("audit", "verify", "--archive", str(tmp_path / "old.jsonl"),
              "--jwks", str(tmp_path / "jwks.json"))
    assert "archive intact: 3 events (1 to 3), ending at checkpoint seq 1" in out
    assert "audit chain intact" in idp("audit", "verify")
    assert "checkpoint seq 2: event 5, 5 events" in idp("audit", "checkpoint")
    with app.extensions["idp"].db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id == 5))
    out = idp("audit", "verify", "--checkpoints", str(tmp_path / "cp.jsonl"), code=1)
    assert "problem: TRUNCATED: checkpoint seq 2" in out
    assert "but the trail ends at event 4 (4 events)" in out
