"""``idp admin ...`` and ``idp audit ...`` run in-process with click's CliRunner."""
from __future__ import annotations

import json
import re

import pyotp
import pytest
from sqlalchemy import update

from idp.store.models import AuditEvent
from tests.admin.conftest import Account, Console
from tests.helpers.cli import app_for, cli_env, cli_runner


@pytest.fixture
def env(tmp_path):
    return cli_env(tmp_path)


@pytest.fixture
def idp(env):
    return cli_runner(env)


_app = app_for


def test_admin_create_prints_totp_uri_and_recovery_codes(idp, env):
    out = idp("admin", "create", "root", "--role", "admin", "--password-stdin",
              input="a long enough password\n").output
    uri = re.search(r"(otpauth://\S+)", out).group(1)
    codes = re.findall(r"^  ([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})$", out, re.M)
    assert len(codes) == 10 and "root" in uri
    app = _app(env)
    account = Account("root", "a long enough password", pyotp.parse_uri(uri), codes)
    assert Console(app).login(account).status_code == 303
    assert Console(app).login(account, codes[3]).status_code == 303
    assert "root  admin" in idp("admin", "list").output


def test_admin_create_prompts_and_validates(idp):
    result = idp("admin", "create", "op", "--role", "operator", input="short\nshort\n", code=1)
    assert "password must have 12" in result.output
    ok = idp("admin", "create", "op", "--role", "operator", "--json",
             input="operator password 1\noperator password 1\n")
    data = json.loads(ok.output[ok.output.index("{"):])
    assert data["role"] == "operator" and len(data["recovery_codes"]) == 10
    dup = idp("admin", "create", "op", "--role", "auditor", "--password-stdin",
              input="another long password\n", code=1)
    assert "already exists" in dup.output
    assert idp("admin", "create", "x", "--role", "root", code=2).exit_code == 2


def test_initial_token_enables_one_registration(idp, env):
    token = idp("admin", "initial-token", "--ttl", "300").output.splitlines()[0]
    http = _app(env).test_client()
    body = {"client_name": "cli-registered", "redirect_uris": ["https://x.example.org/cb"]}
    assert http.post("/register", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    assert idp("admin", "initial-token", "--ttl", "5", code=1).exit_code == 1


def test_audit_verify_detects_tampering(idp, env):
    idp("clients", "create", "--name", "A", "--redirect-uri", "https://a.example.org/cb")
    idp("clients", "create", "--name", "B", "--redirect-uri", "https://b.example.org/cb")
    idp("clients", "create", "--name", "C", "--redirect-uri", "https://c.example.org/cb")
    assert "audit chain intact: 3 events" in idp("audit", "verify").output
    app = _app(env)
    with app.extensions["idp"].db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 2).values(reason="edited later"))
    result = idp("audit", "verify", code=1)
    assert "BROKEN at event 2 (client.create" in result.output


def test_audit_verify_detects_a_deleted_row(idp, env):
    for name in "ABC":
        idp("clients", "create", "--name", name, "--redirect-uri", "https://a.example.org/cb")
    app = _app(env)
    from sqlalchemy import delete
    with app.extensions["idp"].db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id == 2))
    assert "BROKEN at event 3" in idp("audit", "verify", code=1).output


def test_audit_tail_and_export(idp, env, tmp_path):
    for name in "ABCD":
        idp("clients", "create", "--name", name, "--redirect-uri", "https://a.example.org/cb")
    lines = idp("audit", "tail", "-n", "2", "--json").output.strip().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["id"] for e in events] == [3, 4] and events[0]["event"] == "client.create"
    human = idp("audit", "tail", "-n", "1").output
    assert "client.create" in human and "cli" in human
    exported = idp("audit", "export", "--since", "2000-01-01", "--until", "2100-01-01").output
    rows = [json.loads(line) for line in exported.splitlines() if line.startswith("{")]
    assert [r["id"] for r in rows] == [1, 2, 3, 4] and all("hash" in r for r in rows)
    none = idp("audit", "export", "--since", "2100-01-01").output
    assert not [line for line in none.splitlines() if line.startswith("{")]
    assert idp("audit", "export", "--since", "soon", code=1).exit_code == 1
    # the export itself is audited
    assert json.loads(idp("audit", "tail", "-n", "1", "--json").output)["event"] == "admin.audit.export"


def test_audit_tail_follow_prints_new_events(idp, env):
    import os
    import subprocess
    import sys
    import time
    idp("clients", "create", "--name", "first", "--redirect-uri", "https://a.example.org/cb")
    proc = subprocess.Popen([sys.executable, "-m", "idp.cli", "audit", "tail", "-n", "1", "-f", "--json",
                             "--interval", "0.2"], env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["details"]["client_name"] == "first"
        time.sleep(0.3)
        idp("clients", "create", "--name", "second", "--redirect-uri", "https://a.example.org/cb")
        second = json.loads(proc.stdout.readline())
        assert second["details"]["client_name"] == "second" and second["id"] == first["id"] + 1
    finally:
        proc.terminate()
        proc.wait(10)
