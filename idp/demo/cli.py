"""``idp demo``: initialise, create the demo platform and licence authority, serve in demo mode.

Demo mode only ever starts from here or ``IDP_DEMO=1``: it turns on the demo page, visitor
enrolment and the demo licence authority, which a production deployment never has.
"""
from __future__ import annotations

import os

import click


def _issuer_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
@click.pass_context
def demo(ctx, host, port, workers, threads, dev):
    """Run a demo: database, keys, a demo service platform and licence authority, the server."""
    from .. import create_app
    from ..config import Settings, load_settings
    from ..models_check import describe_models
    from .client import ensure_demo_client

    config = (ctx.find_root().obj or {}).get("config")
    os.environ["IDP_DEMO"] = "1"  # the gunicorn workers build their apps from the environment
    if load_settings(config).issuer == Settings.issuer:
        os.environ["IDP_ISSUER"] = _issuer_for(host, port)
    multiproc = None
    if not dev:
        # create_app below imports prometheus_client; the workers' shared metrics directory
        # must be set before that import, or their metrics would not aggregate.
        from ..serving import prepare_multiproc_dir
        multiproc = prepare_multiproc_dir()
    app = create_app(config, init=True)
    state = app.extensions["idp"]
    client = ensure_demo_client(state)
    click.echo(f"demo service platform: client {client.client_id}")
    click.echo(_licence_authority(state.settings.keys_dir))
    click.echo(describe_models(state.settings))
    issuer = state.settings.issuer
    click.echo(f"open {issuer}/  (demo service platform {issuer}/demo, "
               f"enrol your face at {issuer}/demo/enrol)")
    click.echo(_first_admin_hint(state))
    if dev:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
        return
    from ..serving import run_gunicorn
    state.db.dispose()  # no database connection may cross gunicorn's fork()
    run_gunicorn(config, host=host, port=port, workers=workers, threads=threads,
                 multiproc=multiproc)


def _first_admin_hint(state) -> str:
    from ..store.models import AdminUser
    from sqlalchemy import func, select
    with state.db.session(write=False) as s:
        count = s.execute(select(func.count()).select_from(AdminUser)).scalar_one()
    if count:
        return f"admin console: {state.settings.issuer}/admin/"
    return (f"admin console: {state.settings.issuer}/admin/ (no administrator yet: "
            "`.venv/bin/idp admin create admin --role admin` prints the TOTP URI to log in with)")


def _licence_authority(keys_dir) -> str:
    try:
        from ..elicense.authority import init_authority
    except ImportError:
        return "licence authority: not available"
    try:
        folder = init_authority(keys_dir)
    except FileExistsError:
        return "demo licence authority: already present"
    except (OSError, ValueError) as exc:
        return f"demo licence authority: not created ({exc})"
    return (f"demo licence authority created in {folder} (issue a licence: "
            "`IDP_DEMO=1 .venv/bin/idp elicense issue --uscc ... --name ... --legal-rep ... --out DIR`)")
