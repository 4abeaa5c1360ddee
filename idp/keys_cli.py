"""``idp keys ...``: list, rotate and retire signing keys."""
from __future__ import annotations

import json
import time

import click

from .cli_support import state_of


@click.group()
def keys():
    """Manage signing keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def keys_list(ctx, as_json):
    """List signing keys and their status."""
    ring = state_of(ctx).keyring
    infos, now = ring.infos(), time.time()
    signers = ring.signer_kids()
    items = [i.to_dict(now, signers) for i in infos]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for i in items:
        click.echo(f"{i['kid']}  {i['alg']}  {i['status']}")


@keys.command("rotate")
@click.option("--alg", type=click.Choice(["RS256", "ES256"]), multiple=True,
              help="Algorithm to rotate (default: all).")
@click.option("--activate-in", type=int, default=None,
              help="Seconds until the new key signs (default: IDP_KEY_PUBLISH_DELAY).")
@click.pass_context
def keys_rotate(ctx, alg, activate_in):
    """Publish new signing keys; they sign after the publish delay."""
    ring = state_of(ctx).keyring
    kids = ring.rotate(alg or ("RS256", "ES256"), activate_in=activate_in)
    delay = ring.publish_delay if activate_in is None else activate_in
    click.echo(f"published {', '.join(kids)}; signing starts in {delay} s; "
               f"old keys stay published {ring.retire_grace} s after that")


@keys.command("retire")
@click.argument("kid")
@click.pass_context
def keys_retire(ctx, kid):
    """Withdraw a key at once (after a compromise)."""
    state_of(ctx).keyring.retire(kid)
    click.echo(f"retired {kid}")
