"""The console's audit page shows the last signed checkpoint and its age (issue 15)."""
from __future__ import annotations

import re

from sqlalchemy import delete

from idp.store.models import AuditCheckpoint


def test_audit_page_shows_the_last_checkpoint(app, console_for):
    state = app.extensions["idp"]
    cp = state.services["checkpoints"]
    cp.every_events = cp.every_seconds = 0  # only the checkpoint this test makes
    console = console_for("auditor")
    with state.db.session() as s:
        s.execute(delete(AuditCheckpoint))
    page = console.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "No signed checkpoint yet" in page
    state.provider.audit("login", "success", method="person")
    head = state.services["checkpoints"].checkpoint()
    page = console.get("/admin/audit?lang=en").get_data(as_text=True)
    assert re.search(f"Last signed checkpoint: seq {head.seq}, up to event {head.event_id}, "
                     r"\d+ s ago", page)
    zh = console.get("/admin/audit?lang=zh-CN").get_data(as_text=True)
    assert f"最近签名检查点：第 {head.seq} 号" in zh
