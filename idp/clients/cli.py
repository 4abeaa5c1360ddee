"""``idp clients ...``: manage relying parties through the client service."""
from __future__ import annotations

import json

import click

from ..cli_support import emit, state_of


@click.group()
def clients():
    """Manage relying parties (service platforms)."""


def _client_dict(client, secret=None) -> dict:
    from .validation import validate_metadata
    public = set(validate_metadata({"client_name": "x", "redirect_uris": ["https://x.invalid/"]}))
    data = {"client_id": client.client_id,
            **{k: v for k, v in client.metadata.items() if k in public},
            "enabled": client.enabled, "admin_client": client.is_admin}
    if secret:
        data["client_secret"] = secret
    return data


def _metadata(name, redirect_uri, post_logout, auth_method, grant_type, scope, subject_type,
              allow_id_number, jwks_uri, jwks_file, backchannel, sector=None, id_token_alg=None,
              logo_uri=None) -> dict:
    meta = {}
    if id_token_alg:
        meta["id_token_signed_response_alg"] = id_token_alg
    if logo_uri:
        meta["logo_uri"] = logo_uri
    if name is not None:
        meta["client_name"] = name
    if redirect_uri:
        meta["redirect_uris"] = list(redirect_uri)
    if post_logout:
        meta["post_logout_redirect_uris"] = list(post_logout)
    if auth_method:
        meta["token_endpoint_auth_method"] = auth_method
    if grant_type:
        meta["grant_types"] = list(grant_type)
    if scope:
        meta["scope"] = " ".join(scope)
    if subject_type:
        meta["subject_type"] = subject_type
    if allow_id_number is not None:
        meta["allow_id_number"] = allow_id_number
    if jwks_uri:
        meta["jwks_uri"] = jwks_uri
    if jwks_file:
        try:
            with open(jwks_file, encoding="utf-8") as fh:
                meta["jwks"] = json.load(fh)
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"cannot read JWKS from {jwks_file}: {exc}") from None
    if backchannel:
        meta["backchannel_logout_uri"] = backchannel
    if sector:
        meta["sector_identifier"] = sector
    return meta


def client_options(create: bool):
    def wrap(f):
        opts = [
            click.option("--name", required=create, help="Display name (unique)."),
            click.option("--redirect-uri", multiple=True, help="Exact redirect URI (repeat)."),
            click.option("--post-logout-redirect-uri", "post_logout", multiple=True),
            click.option("--auth-method", type=click.Choice(
                ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])),
            click.option("--grant-type", multiple=True, type=click.Choice(
                ["authorization_code", "refresh_token", "client_credentials",
                 "urn:ietf:params:oauth:grant-type:token-exchange"])),
            click.option("--scope", multiple=True, help="Allowed scope (repeat)."),
            click.option("--subject-type", type=click.Choice(["pairwise", "public"])),
            click.option("--allow-id-number/--no-allow-id-number", default=None,
                         help="May receive the full ID number."),
            click.option("--jwks-uri"),
            click.option("--jwks", "jwks_file", type=click.Path(dir_okay=False)),
            click.option("--backchannel-logout-uri", "backchannel"),
            click.option("--sector-identifier", "sector"),
            click.option("--id-token-alg", "id_token_alg", type=click.Choice(["RS256", "ES256"]),
                         help="ID token signing algorithm (id_token_signed_response_alg)."),
            click.option("--logo-uri"),
            click.option("--json", "as_json", is_flag=True, help="JSON output for scripts."),
        ]
        for opt in reversed(opts):
            f = opt(f)
        return f
    return wrap


@clients.command("create")
@client_options(create=True)
@click.option("--admin-client", is_flag=True, help="May call the admin API (scope admin).")
@click.pass_context
def clients_create(ctx, name, redirect_uri, post_logout, auth_method, grant_type, scope,
                   subject_type, allow_id_number, jwks_uri, jwks_file, backchannel, sector,
                   id_token_alg, logo_uri, as_json, admin_client):
    """Register a relying party; its secret is printed once."""
    meta = _metadata(name, redirect_uri, post_logout, auth_method, grant_type, scope,
                     subject_type, allow_id_number, jwks_uri, jwks_file, backchannel, sector,
                     id_token_alg, logo_uri)
    client, secret = state_of(ctx).clients.create(meta, is_admin=admin_client)
    emit(_client_dict(client, secret), as_json)
    if secret and not as_json:
        click.echo("(the client secret is shown only now; store it safely)", err=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_list(ctx, as_json):
    """List relying parties."""
    items = [_client_dict(c) for c in state_of(ctx).clients.list()]
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    for c in items:
        flag = "" if c["enabled"] else " (disabled)"
        click.echo(f"{c['client_id']}  {c['client_name']}{flag}  {' '.join(c['redirect_uris'])}")


@clients.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_show(ctx, client_id, as_json):
    """Show one relying party."""
    emit(_client_dict(state_of(ctx).clients.require(client_id)), as_json)


@clients.command("update")
@click.argument("client_id")
@client_options(create=False)
@click.pass_context
def clients_update(ctx, client_id, name, redirect_uri, post_logout, auth_method, grant_type,
                   scope, subject_type, allow_id_number, jwks_uri, jwks_file, backchannel,
                   sector, id_token_alg, logo_uri, as_json):
    """Change a relying party; options not given keep their value."""
    meta = _metadata(name, redirect_uri, post_logout, auth_method, grant_type, scope,
                     subject_type, allow_id_number, jwks_uri, jwks_file, backchannel, sector,
                     id_token_alg, logo_uri)
    client = state_of(ctx).clients.update(client_id, meta)
    emit(_client_dict(client), as_json)


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_rotate(ctx, client_id, as_json):
    """Issue a new client secret (printed once); the old one stops working."""
    secret = state_of(ctx).clients.rotate_secret(client_id)
    emit({"client_id": client_id, "client_secret": secret}, as_json)


@clients.command("disable")
@click.argument("client_id")
@click.pass_context
def clients_disable(ctx, client_id):
    """Disable a relying party (logins and tokens refused)."""
    state_of(ctx).clients.set_enabled(client_id, False)
    click.echo(f"disabled {client_id}")


@clients.command("enable")
@click.argument("client_id")
@click.pass_context
def clients_enable(ctx, client_id):
    """Enable a disabled relying party."""
    state_of(ctx).clients.set_enabled(client_id, True)
    click.echo(f"enabled {client_id}")


@clients.command("delete")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def clients_delete(ctx, client_id, yes):
    """Delete a relying party and its grants."""
    if not yes:
        click.confirm(f"Delete client {client_id} and every grant issued to it?", abort=True)
    state_of(ctx).clients.delete(client_id)
    click.echo(f"deleted {client_id}")
