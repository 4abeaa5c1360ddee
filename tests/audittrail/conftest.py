"""An app with a checkpoint file sink in tmp_path, and helpers to write and check events."""
from __future__ import annotations

import pytest

from idp.audittrail.jws import Verifier
from idp.audittrail.verify import parse_lines, verify_trail
from idp.store.audit import append_event


@pytest.fixture
def trail_app(make_app, tmp_path):
    return make_app(audit_checkpoint_file=str(tmp_path / "sink" / "checkpoints.jsonl"),
                    audit_checkpoint_events=0, audit_checkpoint_seconds=0)


@pytest.fixture
def state(trail_app):
    return trail_app.extensions["idp"]


@pytest.fixture
def sink_file(tmp_path):
    return tmp_path / "sink" / "checkpoints.jsonl"


def add_events(state, n: int, name: str = "test.event") -> None:
    with state.db.session() as s:
        for i in range(n):
            append_event(s, event=name, outcome="success", details={"i": i})


def check(state, text: str | None = None):
    """verify_trail against ``text`` (sink lines) or the database's checkpoints."""
    from idp.audittrail.verify import from_database
    verifier = Verifier.from_keyring(state.keyring, state.settings.issuer)
    with state.db.session(write=False) as s:
        sources = parse_lines(text) if text is not None else from_database(s)
        return verify_trail(s, verifier, sources)
