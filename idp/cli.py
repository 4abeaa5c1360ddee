"""The ``idp`` command (DESIGN section 12).

Every subcommand builds the app through ``create_app`` and acts through the same services
the console and API use.  Failures print a clear message and exit non-zero.
"""
from __future__ import annotations

import json
import logging
import sys
import time

import click

from .errors import IdpError


def _app(ctx, init=False):
    from . import create_app
    obj = ctx.ensure_object(dict)
    if obj.get("app") is None or (init and not obj.get("initialised")):
        obj["app"] = create_app(obj.get("config"), init=init)
        obj["initialised"] = init
        obj["settings"] = obj["app"].extensions["idp"].settings
    return obj["app"]


def _state(ctx):
    return _app(ctx).extensions["idp"]


def _emit(data, as_json: bool, human=None):
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(human(data) if human else "\n".join(f"{k}: {v}" for k, v in data.items()))


class IdpGroup(click.Group):
    """Turns IdpError into a one-line message and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except IdpError as exc:
            click.echo(f"error: {exc.description}", err=True)
            sys.exit(1)


@click.group(cls=IdpGroup)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config file (default: $IDP_CONFIG).")
@click.pass_context
def main(ctx, config_path):
    """Unified identity authentication server."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)["config"] = config_path


@main.command()
@click.pass_context
def init(ctx):
    """Create or migrate the database, create signing keys, check the models."""
    app = _app(ctx, init=True)
    state = app.extensions["idp"]
    kids = [i.kid for i in state.keyring.infos()]
    click.echo(f"database ready: {state.settings.sqlalchemy_url.split('@')[-1]}")
    click.echo(f"signing keys: {', '.join(kids)}")
    from .models_check import describe_models
    click.echo(describe_models(state.settings))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="IDP_HOST")
@click.option("--port", default=8000, show_default=True, type=int, envvar="IDP_PORT")
@click.option("--workers", default=2, show_default=True, type=int, envvar="IDP_WORKERS",
              help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, envvar="IDP_THREADS",
              help="Threads per worker (gthread).")
@click.option("--worker-class", type=click.Choice(["gthread", "sync"]), default=None,
              envvar="IDP_WORKER_CLASS", help="Default: gthread when --threads > 1, else sync.")
@click.option("--timeout", default=60, show_default=True, type=int,
              help="Seconds before a silent worker is killed and replaced.")
@click.option("--graceful-timeout", default=20, show_default=True, type=int,
              help="Seconds in-flight requests get to finish on SIGTERM.")
@click.option("--max-requests", default=0, show_default=True, type=int,
              help="Recycle a worker after this many requests (0: never).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="One log line per request (logger idp.access).")
@click.option("--dev", is_flag=True, help="Flask's development server (never in production).")
@click.pass_context
def serve(ctx, host, port, workers, threads, worker_class, timeout, graceful_timeout,
          max_requests, access_log, dev):
    """Serve the OP (gunicorn; the development server only with --dev)."""
    if not access_log:
        logging.getLogger("idp.access").setLevel(logging.WARNING)
    if dev:
        app = _app(ctx)
        app.run(host=host, port=port, threaded=True, use_reloader=False)
        return
    if workers < 1 or threads < 1:
        raise click.BadParameter("--workers and --threads must be at least 1")
    # Fail here, once, on a bad configuration (not in every worker), and create the
    # instance secret before the workers race to.
    from .config import ensure_secret_key, load_settings
    settings = ensure_secret_key(load_settings(ctx.obj.get("config")))
    if settings.log_json:  # from the first line on, in the master and every worker
        from .ops.reqlog import use_json_logs
        use_json_logs()
    from .serving import run_gunicorn
    run_gunicorn(ctx.obj.get("config"), host=host, port=port, workers=workers, threads=threads,
                 worker_class=worker_class, timeout=timeout, graceful_timeout=graceful_timeout,
                 max_requests=max_requests)


# -- clients ------------------------------------------------------------------------------------
@main.group()
def clients():
    """Manage relying parties (service platforms)."""


def _client_dict(client, secret=None) -> dict:
    from .clients.validation import validate_metadata
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
    client, secret = _state(ctx).clients.create(meta, is_admin=admin_client)
    _emit(_client_dict(client, secret), as_json)
    if secret and not as_json:
        click.echo("(the client secret is shown only now; store it safely)", err=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_list(ctx, as_json):
    """List relying parties."""
    items = [_client_dict(c) for c in _state(ctx).clients.list()]
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
    _emit(_client_dict(_state(ctx).clients.require(client_id)), as_json)


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
    client = _state(ctx).clients.update(client_id, meta)
    _emit(_client_dict(client), as_json)


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_rotate(ctx, client_id, as_json):
    """Issue a new client secret (printed once); the old one stops working."""
    secret = _state(ctx).clients.rotate_secret(client_id)
    _emit({"client_id": client_id, "client_secret": secret}, as_json)


@clients.command("disable")
@click.argument("client_id")
@click.pass_context
def clients_disable(ctx, client_id):
    """Disable a relying party (logins and tokens refused)."""
    _state(ctx).clients.set_enabled(client_id, False)
    click.echo(f"disabled {client_id}")


@clients.command("enable")
@click.argument("client_id")
@click.pass_context
def clients_enable(ctx, client_id):
    """Enable a disabled relying party."""
    _state(ctx).clients.set_enabled(client_id, True)
    click.echo(f"enabled {client_id}")


@clients.command("delete")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def clients_delete(ctx, client_id, yes):
    """Delete a relying party and its grants."""
    if not yes:
        click.confirm(f"Delete client {client_id} and every grant issued to it?", abort=True)
    _state(ctx).clients.delete(client_id)
    click.echo(f"deleted {client_id}")


# -- keys ------------------------------------------------------------------------------------------
@main.group()
def keys():
    """Manage signing keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def keys_list(ctx, as_json):
    """List signing keys and their status."""
    ring = _state(ctx).keyring
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
    ring = _state(ctx).keyring
    kids = ring.rotate(alg or ("RS256", "ES256"), activate_in=activate_in)
    delay = ring.publish_delay if activate_in is None else activate_in
    click.echo(f"published {', '.join(kids)}; signing starts in {delay} s; "
               f"old keys stay published {ring.retire_grace} s after that")


@keys.command("retire")
@click.argument("kid")
@click.pass_context
def keys_retire(ctx, kid):
    """Withdraw a key at once (after a compromise)."""
    _state(ctx).keyring.retire(kid)
    click.echo(f"retired {kid}")


def _register_optional_groups():
    """Subcommands contributed by other areas (models, registry, elicense, admin, audit)."""
    import importlib
    for module, attr in (("idp.models_check", "models"), ("idp.elicense.cli", "elicense"),
                         ("idp.registry.cli", "registry"), ("idp.admin.cli", "admin"),
                         ("idp.admin.cli", "audit"), ("idp.demo.cli", "demo")):
        try:
            group = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        main.add_command(group)


_register_optional_groups()


if __name__ == "__main__":
    main()
