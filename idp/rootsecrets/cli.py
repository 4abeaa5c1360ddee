"""``idp secrets status|rotate``: which root secret seals what, and re-sealing under the
current one (see ``rotate.py`` and the README's operations section)."""
from __future__ import annotations

import json
import sys

import click

from ..cli_support import IdpGroup, state_of


@click.group(cls=IdpGroup)
def secrets():
    """Versioned root secrets (IDP_SECRET_KEYS): status and rotation."""


def _ring(state):
    from . import secret_ring
    return secret_ring(state.settings)


def _older(counts: dict, current: str) -> int:
    return sum(n for tally in counts.values() for kid, n in tally.items() if kid != current)


@secrets.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status_cmd(ctx, as_json):
    """Rows of every sealed column per root-secret id."""
    from .rotate import status
    state = state_of(ctx)
    ring = _ring(state)
    counts = status(state.db, ring)
    if as_json:
        click.echo(json.dumps({"current": ring.current_id, "ids": ring.ids, "columns": counts}))
        return
    click.echo(f"current secret id: {ring.current_id} (configured: {', '.join(ring.ids)})")
    for label, tally in counts.items():
        shown = ", ".join(f"{kid}: {n}" for kid, n in sorted(tally.items())) or "empty"
        click.echo(f"  {label}: {shown}")
    older = _older(counts, ring.current_id)
    click.echo(f"{older} sealed values under older secrets" if older else
               "nothing durable is sealed under an older secret")


@secrets.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 10000),
              help="Rows per transaction.")
@click.pass_context
def rotate_cmd(ctx, batch):
    """Re-seal every durable sealed value under the current secret (resumable)."""
    from .rotate import rotate
    state = state_of(ctx)
    ring = _ring(state)
    details = {"current": ring.current_id}
    try:
        outcome = rotate(state.db, ring, batch=batch,
                         progress=lambda label, n: click.echo(f"  {label}: {n} re-sealed", err=True))
    except Exception as exc:
        state.provider.audit("secrets.rotate", "failure", method="cli", reason=type(exc).__name__,
                             details=details)
        raise
    unreadable = sum(outcome.unreadable.values())
    details.update(resealed=outcome.resealed, unreadable=outcome.unreadable)
    state.provider.audit("secrets.rotate", "failure" if unreadable else "success", method="cli",
                         details=details)
    total = sum(outcome.resealed.values())
    click.echo(f"re-sealed {total} values under secret id {ring.current_id}")
    if unreadable:
        click.echo(f"error: {unreadable} values could not be opened with any configured secret "
                   f"({', '.join(k for k, n in outcome.unreadable.items() if n)}); keep every "
                   "older secret until they are restored or deleted", err=True)
        sys.exit(1)
    ttl = state.settings.session_ttl
    click.echo(f"older secrets can be removed from IDP_SECRET_KEYS once every node has used "
               f"secret id {ring.current_id} for {ttl} s (IDP_SESSION_TTL: sessions sealed before)")
