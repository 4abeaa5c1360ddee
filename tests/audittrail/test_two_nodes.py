"""Two nodes on one PostgreSQL database write events and checkpoints at once: one chain,
one sequence of checkpoints, and every node's sink file holds all of them in order."""
from __future__ import annotations

import threading

from sqlalchemy import select

from idp.store.audit import verify_chain
from idp.store.models import AuditCheckpoint
from tests.helpers.pg import pg_database

from .conftest import check


def test_two_nodes_write_one_chain_and_consistent_checkpoints(make_app, tmp_path):
    with pg_database() as url:
        nodes = [make_app(database_url=url, instance_dir=str(tmp_path / f"node{i}"),
                          audit_checkpoint_events=20, audit_checkpoint_seconds=0,
                          audit_checkpoint_file=str(tmp_path / f"node{i}.jsonl"))
                 for i in range(2)]
        states = [app.extensions["idp"] for app in nodes]
        errors, stop = [], threading.Event()

        def events(state, name):
            try:
                for j in range(60):
                    state.provider.audit("test.concurrent", "success", details={"n": j, "t": name})
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def checkpoints(state):
            try:
                while not stop.is_set():
                    state.services["checkpoints"].checkpoint(force=False)
            except Exception as exc:  # pragma: no cover
                errors.append(exc)

        writers = [threading.Thread(target=events, args=(st, f"{i}-{k}"))
                   for i, st in enumerate(states) for k in range(4)]
        signers = [threading.Thread(target=checkpoints, args=(st,)) for st in states]
        for t in writers + signers:
            t.start()
        for t in writers:
            t.join(120)
        stop.set()
        for t in signers:
            t.join(30)
        assert not errors, errors
        states[0].services["checkpoints"].checkpoint()  # the tail
        for state in states:  # every node's sink catches up with the table
            state.services["checkpoints"].deliver()
        with states[0].db.session(write=False) as s:
            assert verify_chain(s) is None
            seqs = s.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)).all()
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 3
        files = [(tmp_path / f"node{i}.jsonl").read_text() for i in range(2)]
        assert files[0] == files[1] and len(files[0].splitlines()) == len(seqs)
        for state in states:
            report = check(state, files[0])
            assert report.ok, report.problems
            assert report.events == 480 and report.after_last == 0
        for state in states:
            state.db.engine.dispose()


def test_archive_while_another_node_appends(make_app, tmp_path):
    import time

    from idp.audittrail.archive import archive, verify_archive
    from idp.audittrail.jws import Verifier
    with pg_database() as url:
        nodes = [make_app(database_url=url, instance_dir=str(tmp_path / f"n{i}"),
                          audit_checkpoint_events=0, audit_checkpoint_seconds=0,
                          audit_checkpoint_file=str(tmp_path / "cp.jsonl")) for i in range(2)]
        a, b = (app.extensions["idp"] for app in nodes)
        for j in range(50):
            a.provider.audit("test.before", "success", details={"n": j})
        a.services["checkpoints"].checkpoint()
        errors = []

        def appends():
            try:
                for j in range(100):
                    b.provider.audit("test.during", "success", details={"n": j})
            except Exception as exc:  # pragma: no cover
                errors.append(exc)

        writer = threading.Thread(target=appends)
        writer.start()
        verifier = Verifier.from_keyring(a.keyring, a.settings.issuer)
        summary = archive(a.db, verifier, a.keyring, a.settings.issuer, before=time.time() + 1,
                          out=tmp_path / "old.jsonl")
        writer.join(60)
        assert not errors and summary["events"] == 50
        assert verify_archive(tmp_path / "old.jsonl", verifier)["events"] == 50
        a.services["checkpoints"].checkpoint()
        report = check(b, (tmp_path / "cp.jsonl").read_text())
        assert report.ok, report.problems
        assert report.events == 151 and report.anchor["count"] == 50  # 50 + 100 + audit.archive
        for state in (a, b):
            state.db.engine.dispose()
