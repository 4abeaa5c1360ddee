"""``idp admin ...`` (accounts, initial access tokens) and ``idp audit ...`` (verify, tail, export).

Both groups act through the admin service as the local operator (``Actor("cli", "admin")``):
whoever runs them on the server already holds the database.
"""
from __future__ import annotations

import json
import sys
import time

import click

from ..cli_support import IdpGroup
from ..store.models import AuditEvent
from . import auditlog
from .roles import CLI, ROLES


def _state(ctx):
    from .. import create_app
    obj = ctx.find_root().obj or {}
    if obj.get("app") is None:
        obj["app"] = create_app(obj.get("config"))
    return obj["app"].extensions["idp"]


def _svc(ctx):
    return _state(ctx).services["admin"]


@click.group(cls=IdpGroup)
def admin():
    """Admin accounts and registration tokens."""


@admin.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def admin_create(ctx, username, role, password_stdin, as_json):
    """Create an admin account; prints its TOTP URI and one-time recovery codes."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    new = _svc(ctx).accounts.create(username, password, role, actor="cli")
    if as_json:
        click.echo(json.dumps({"username": new.username, "role": new.role, "totp_uri": new.totp_uri,
                               "recovery_codes": new.recovery_codes}, indent=2))
        return
    click.echo(f"created {new.username} ({new.role})")
    click.echo(f"TOTP provisioning URI (add it to an authenticator app):\n  {new.totp_uri}")
    click.echo("recovery codes (each works once; store them offline, they are not shown again):")
    for code in new.recovery_codes:
        click.echo(f"  {code}")


@admin.command("list")
@click.pass_context
def admin_list(ctx):
    """List admin accounts."""
    now = time.time()
    for a in _svc(ctx).accounts.list():
        locked = " (locked)" if a.locked_until and a.locked_until > now else ""
        click.echo(f"{a.username}  {a.role}{locked}")


@admin.command("unlock")
@click.argument("username")
@click.pass_context
def admin_unlock(ctx, username):
    """Clear the failure count and lock of an account."""
    _svc(ctx).accounts.unlock(username, actor="cli")
    click.echo(f"unlocked {username}")


@admin.command("initial-token")
@click.option("--ttl", type=int, default=None, help="Lifetime in seconds (default 86400).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def admin_initial_token(ctx, ttl, as_json):
    """Issue an initial access token: it allows one dynamic client registration."""
    issued = _svc(ctx).issue_initial_token(CLI, ttl)
    if as_json:
        click.echo(json.dumps(issued))
    else:
        click.echo(issued["initial_access_token"])
        click.echo(f"(valid {issued['expires_in']} s for one POST /register; shown only now)", err=True)


# -- audit ----------------------------------------------------------------------------------------
@click.group(cls=IdpGroup)
def audit():
    """Verify, follow and export the audit trail."""


def _line(row, as_json: bool) -> str:
    data = auditlog.event_json(row)
    if as_json:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    who = data["details"].get("actor") or data["subject"] or ""
    return (f"{data['id']:>8} {data['time']} {data['event']:<24} {data['outcome']:<7} "
            f"{data['client_id'] or '-'} {who} {data['reason'] or ''}").rstrip()


@audit.command("tail")
@click.option("-n", "--lines", default=20, show_default=True, type=click.IntRange(0, 10000))
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--interval", default=1.0, show_default=True, type=float, hidden=True)
@click.pass_context
def audit_tail(ctx, lines, follow, as_json, interval):
    """Print the latest events (and follow new ones with -f)."""
    from sqlalchemy import select
    from ..store.audit_staging import flush
    state = _state(ctx)
    flush(state.db)  # staged events (PostgreSQL) into the chain first
    with state.db.session(write=False) as s:
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(lines)).scalars().all()
        last = s.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).scalar() or 0
        for row in reversed(rows):
            click.echo(_line(row, as_json))
    while follow:
        time.sleep(interval)
        flush(state.db)
        with state.db.session(write=False) as s:
            rows = s.execute(select(AuditEvent).where(AuditEvent.id > last)
                             .order_by(AuditEvent.id).limit(1000)).scalars().all()
            for row in rows:
                click.echo(_line(row, as_json))
                last = row.id
        sys.stdout.flush()


@audit.command("export")
@click.option("--since", help="Epoch seconds or ISO 8601 (UTC if no zone).")
@click.option("--until", help="Epoch seconds or ISO 8601 (UTC if no zone).")
@click.pass_context
def audit_export(ctx, since, until):
    """Write events as JSON lines (oldest first) to standard output."""
    since_ts = auditlog.parse_time(since, "--since")
    until_ts = auditlog.parse_time(until, "--until")
    from ..store.audit_staging import flush
    state = _state(ctx)
    flush(state.db)  # staged events (PostgreSQL) into the chain first
    count = 0
    with state.db.session(write=False) as s:
        for row in auditlog.iter_range(s, since_ts, until_ts):
            click.echo(_line(row, True))
            count += 1
    _svc(ctx).record(CLI, "admin.audit.export", since=since_ts, until=until_ts, events=count)
    click.echo(f"exported {count} events", err=True)
