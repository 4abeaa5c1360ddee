"""The audit trail proves its own end: signed checkpoints of the chain head, external
sinks, verification against them, and archiving old events behind a signed anchor.

``init_app`` builds the ``Checkpointer`` (``services["checkpoints"]``) and, when checkpoints
are automatic, keeps its polling thread alive in every serving process.
"""
from __future__ import annotations


def build_checkpointer(state):
    from .checkpoints import Checkpointer
    from .sinks import make_sinks
    s = state.settings
    return Checkpointer(state.db, state.keyring, s.issuer, make_sinks(s),
                        every_events=s.audit_checkpoint_events,
                        every_seconds=s.audit_checkpoint_seconds)


def init_app(app) -> None:
    state = app.extensions["idp"]
    checkpointer = build_checkpointer(state)
    state.services["checkpoints"] = checkpointer
    if checkpointer.automatic:
        app.before_request(checkpointer.wake)
