"""``idp audit checkpoint``, ``idp audit verify [--checkpoints FILE|URL] [--archive FILE]``
and ``idp audit archive --before DATE --out FILE`` (added to the ``audit`` group)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..cli_support import state_of
from ..errors import IdpError


def _verifier(state, jwks_file):
    from .jws import CheckpointError, Verifier
    if not jwks_file:
        return Verifier.from_keyring(state.keyring, state.settings.issuer)
    try:
        return Verifier.from_jwks(json.loads(Path(jwks_file).read_text()))
    except (OSError, ValueError, CheckpointError) as exc:
        raise click.BadParameter(f"cannot use {jwks_file}: {exc}", param_hint="--jwks") from None


def _read_source(source: str) -> str:
    if source.startswith(("http://", "https://")):
        import requests
        try:
            answer = requests.get(source, timeout=10)
        except requests.RequestException as exc:
            raise IdpError(f"cannot fetch {source}: {exc}", status=502) from None
        if answer.status_code != 200:
            raise IdpError(f"{source} answered {answer.status_code}", status=502)
        return answer.text
    try:
        return Path(source).read_text()
    except OSError as exc:
        raise IdpError(f"cannot read {source}: {exc.strerror}", status=400) from None


@click.command("verify")
@click.option("--checkpoints", "source", metavar="FILE|URL",
              help="Signed checkpoints from a sink (default: the database's own copies).")
@click.option("--archive", "archive_file", type=click.Path(dir_okay=False),
              help="Check an archive file offline instead of the database.")
@click.option("--jwks", "jwks_file", type=click.Path(dir_okay=False),
              help="Verify with these public keys instead of keys/ (offline checks).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def verify(ctx, source, archive_file, jwks_file, as_json):
    """Check the hash chain and signed checkpoints; exit 1 naming every problem.

    Events committed but not yet chained (staged, PostgreSQL) are chained first."""
    from .archive import verify_archive
    from .verify import describe, from_database, parse_lines, verify_trail, when
    state = state_of(ctx)
    verifier = _verifier(state, jwks_file)
    if archive_file:
        result = verify_archive(archive_file, verifier)
        click.echo(json.dumps(result) if as_json else
                   f"archive intact: {result['events']} events ({result['first_id']} to "
                   f"{result['last_id']}), ending at checkpoint seq {result['checkpoint_seq']}")
        return
    from ..store.audit_staging import flush
    flush(state.db)  # events staged but not yet chained (PostgreSQL) are verified too
    with state.db.session(write=False) as s:
        sources = parse_lines(_read_source(source)) if source else from_database(s)
        report = verify_trail(s, verifier, sources)
        first_broken = None
        if report.problems:
            from ..store.audit import verify_chain
            first_broken = verify_chain(s)
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "events": report.events, "problems": report.problems,
                               "checkpoints": report.checkpoints, "after_last": report.after_last,
                               "anchor": report.anchor}))
        sys.exit(0 if report.ok else 1)
    if report.ok:
        click.echo(f"audit chain intact: {report.events} events")
        for line in describe(report):
            click.echo(line)
        return
    if first_broken is not None:
        from ..store.models import AuditEvent
        with state.db.session(write=False) as s:
            row = s.get(AuditEvent, first_broken)
            click.echo(f"audit chain BROKEN at event {row.id} ({row.event} at {when(row.ts)})",
                       err=True)
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    sys.exit(1)


@click.command("checkpoint")
@click.pass_context
def checkpoint(ctx):
    """Sign the chain's head now and hand it to the configured sinks."""
    from .checkpoints import ChainBroken
    from .verify import when
    cp = state_of(ctx).services["checkpoints"]
    try:
        head = cp.checkpoint(force=True)
    except ChainBroken as exc:
        click.echo(f"error: no checkpoint made: {exc}", err=True)
        sys.exit(1)
    if head is None:
        click.echo("the audit trail is empty: nothing to sign")
        return
    click.echo(f"checkpoint seq {head.seq}: event {head.event_id}, {head.count} events, "
               f"hash {head.hash[:16]}... at {when(head.ts)}")


@click.command("archive")
@click.option("--before", required=True, help="Archive events older than this (ISO 8601 or epoch).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Archive file to write.")
@click.pass_context
def archive(ctx, before, out):
    """Move events older than DATE into a signed archive file, up to a checkpoint."""
    from ..admin.auditlog import parse_time
    from .archive import archive as run
    state = state_of(ctx)
    summary = run(state.db, _verifier(state, None), state.keyring, state.settings.issuer,
                  before=parse_time(before, "--before"), out=out)
    click.echo(f"archived {summary['events']} events (up to event {summary['to_event']}, "
               f"checkpoint seq {summary['checkpoint_seq']}) to {summary['file']}; the chain "
               f"now starts after event {summary['to_event']}")


def extend(group) -> None:
    for command in (verify, checkpoint, archive):
        group.add_command(command)
