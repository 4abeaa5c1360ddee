"""``idp elicense``: the demo licence authority and the holder tool (DESIGN section 9).

The group is ``idp.elicense.cli:elicense``; the main ``idp`` command adds it with
``add_command``.  Settings come from ``ctx.obj["settings"]`` when the parent set them, else
from ``idp.config.load_settings()`` so the group also runs on its own.
"""
from __future__ import annotations

import json

import click

from . import authority as auth
from .holder import HolderError, sign_challenge

_ERRORS = (ValueError, KeyError, OSError, HolderError)


def get_settings(ctx: click.Context):
    obj = ctx.find_root().obj
    if isinstance(obj, dict) and obj.get("settings") is not None:
        return obj["settings"]
    from ..config import load_settings

    settings = load_settings()
    if obj is None:
        ctx.find_root().obj = {"settings": settings}
    return settings


def _demo_only(settings, what: str) -> None:
    if not settings.demo:
        raise click.ClickException(f"{what} is for demo mode only (set IDP_DEMO=1); a production "
                                   "deployment trusts its real licence authority in keys/trust/")


def _fail(exc: Exception) -> click.ClickException:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return click.ClickException(text)


@click.group("elicense")
def elicense():
    """Electronic business licences: demo authority, issuing, revocation, holder tool."""


@elicense.group("authority")
def authority():
    """The demo licence authority (root CA and issuing CA under keys/elicense/)."""


@authority.command("init")
@click.option("--sm2", is_flag=True, help="Build an SM2 chain (keys/elicense/sm2/).")
@click.option("--key-type", type=click.Choice(["ec", "rsa"]), default="ec", show_default=True,
              help="Key type of the CAs when not --sm2.")
@click.pass_context
def authority_init(ctx, sm2, key_type):
    """Create the demo licence authority and trust it (demo mode only)."""
    settings = get_settings(ctx)
    _demo_only(settings, "the demo licence authority")
    try:
        folder = auth.init_authority(settings.keys_dir, sm2=sm2, key_type=key_type)
    except _ERRORS as exc:
        raise _fail(exc) from None
    click.echo(f"licence authority created in {folder} and installed in "
               f"{settings.keys_dir}/trust/")


@authority.command("crl")
@click.option("--sm2", is_flag=True, help="The SM2 chain.")
@click.option("--days", type=click.IntRange(1, 90), default=auth.CRL_DAYS, show_default=True)
@click.pass_context
def authority_crl(ctx, sm2, days):
    """Re-sign the authority's CRLs; run it (e.g. daily) before they go stale."""
    settings = get_settings(ctx)
    try:
        auth.write_crls(settings.keys_dir, sm2=sm2, days=days)
    except _ERRORS as exc:
        raise _fail(exc) from None
    click.echo(f"CRLs re-signed, valid for {days} days")


@elicense.command("issue")
@click.option("--uscc", required=True, help="Unified social credit code (18 characters).")
@click.option("--name", required=True, help="Registered name of the entity.")
@click.option("--legal-rep", required=True, help="Name of the legal representative.")
@click.option("--role", type=click.Choice(["legal_representative", "administrator", "agent"]),
              default="legal_representative", show_default=True)
@click.option("--agent-name", help="Name of the agent (required with --role agent).")
@click.option("--sm2", is_flag=True, help="An SM2 licence from the SM2 chain.")
@click.option("--key-type", type=click.Choice(["ec", "rsa"]), default="ec", show_default=True,
              help="Licence key type when not --sm2.")
@click.option("--days", type=click.IntRange(1, 3650), default=auth.LICENCE_DAYS, show_default=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for licence.crt.pem, licence.key.pem and chain.pem.")
@click.pass_context
def issue(ctx, uscc, name, legal_rep, role, agent_name, sm2, key_type, days, out_dir):
    """Issue a licence from the demo authority and print its serial."""
    settings = get_settings(ctx)
    _demo_only(settings, "issuing from the demo licence authority")
    try:
        serial = auth.issue_licence(settings.keys_dir, uscc=uscc, name=name, legal_rep=legal_rep,
                                    role=role, agent_name=agent_name, sm2=sm2, key_type=key_type,
                                    days=days, out_dir=out_dir)
    except _ERRORS as exc:
        raise _fail(exc) from None
    click.echo(serial)


@elicense.command("revoke")
@click.argument("serial")
@click.pass_context
def revoke(ctx, serial):
    """Revoke a licence (serial in hex, as `issue` printed it) and publish a fresh CRL."""
    settings = get_settings(ctx)
    try:
        serial = auth.revoke_licence(settings.keys_dir, serial)
    except _ERRORS as exc:
        raise _fail(exc) from None
    click.echo(f"revoked {serial}")


@elicense.command("sign")
@click.argument("url")
@click.option("--cert", "cert_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--chain", "chain_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def sign(url, cert_path, key_path, chain_path, yes):
    """Play the holder app: sign the challenge behind URL with a licence."""
    def confirm(info: dict) -> bool:
        click.echo(f"Sign in to {info.get('client_name') or 'a service'} at {info.get('aud')}")
        return yes or click.confirm("Sign with this licence?", default=False)

    try:
        answer = sign_challenge(url, cert_path, key_path, chain_path, confirm=confirm)
    except _ERRORS as exc:
        raise _fail(exc) from None
    click.echo(json.dumps(answer, ensure_ascii=False))
