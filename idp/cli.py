"""The ``idp`` command (DESIGN section 12).

Every subcommand builds the app through ``create_app`` and acts through the same services
the console and API use.  Failures print a clear message and exit non-zero.
"""
from __future__ import annotations

import json
import logging

import click

from .cli_support import IdpGroup, app_of, state_of
from .store.purge import DEFAULT_GRACE


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
    app = app_of(ctx, init=True)
    state = app.extensions["idp"]
    kids = [i.kid for i in state.keyring.infos()]
    click.echo(f"database ready: {state.settings.sqlalchemy_url.split('@')[-1]}")
    click.echo(f"signing keys: {', '.join(kids)}")
    from .models_check import describe_models
    click.echo(describe_models(state.settings))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="IDP_HOST")
@click.option("--port", default=8000, show_default=True, type=int, envvar="IDP_PORT")
# The default shape, 2 workers x 4 threads, was chosen from measurements against the peer
# (bench/token_bench.py --shape default,granian:2x4,granian:2x2 and bench/codeflow_bench.py with
# IDP_THREADS=2/4/8, alternating rounds on a 2-core machine, 2026-12-05 10:30-10:58 UTC; numbers
# in bench/README.md, "sixth pass").  One process per core keeps Python on both cores.  Fewer
# threads per worker hand the GIL around less: per client-credentials token 2.45-2.6 ms of CPU
# with 4 or 2 threads against 2.8-2.9 ms with 8 there, tokens/s 1.27-1.46x the peer with 4
# against 1.06-1.34x with 8, p99 31-32 ms against 40-48; code flow 21.9 ms of CPU per flow
# against 22.6.  Two threads measured a little better still, but a face decision holds its
# thread for 0.4-2 s (onnxruntime releases the GIL, not the thread): with 2x2 (four threads in
# all) four logins at once would stall every token request; 2x4's eight keep that margin.  (On the
# machine of 2026-12-04 gthread 2x8 measured best and granian 2x4 within the noise of 2x8.)
@click.option("--workers", default=2, show_default=True, type=int, envvar="IDP_WORKERS",
              help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, envvar="IDP_THREADS",
              help="Threads per worker (granian: blocking threads; gunicorn: gthread).")
@click.option("--worker-class", type=click.Choice(["gthread", "sync"]), default=None,
              envvar="IDP_WORKER_CLASS", help="gunicorn only. Default: gthread when --threads > 1, "
                                              "else sync.")
@click.option("--timeout", default=60, show_default=True, type=int,
              help="gunicorn only: seconds before a silent worker is killed and replaced.")
@click.option("--graceful-timeout", default=20, show_default=True, type=int,
              help="Seconds in-flight requests get to finish on SIGTERM.")
@click.option("--max-requests", default=0, show_default=True, type=int,
              help="gunicorn only: recycle a worker after this many requests (0: never).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="One log line per request (logger idp.access).")
# granian is the default server because it measured several times cheaper per request than
# gunicorn's gthread worker with the same app (bench/token_bench.py --shape
# default,granian:2x8 against node-oidc-provider, 2026-12-05): per client-credentials token
# ~1.2 ms of server CPU instead of ~1.6-1.8, per JWKS or discovery answer ~0.15 ms instead of
# ~0.4, which took the token rate from ~1.0x to ~1.8x the peer's.  gunicorn stays one flag away
# for what only it offers: --worker-class, --timeout (a hung worker is replaced) and
# --max-requests.
@click.option("--server", "server_kind", type=click.Choice(["granian", "gunicorn"]),
              default="granian", show_default=True, envvar="IDP_SERVER",
              help="HTTP server: granian (Rust, the default), or gunicorn.")
@click.option("--dev", is_flag=True, help="Flask's development server (never in production).")
@click.pass_context
def serve(ctx, host, port, workers, threads, worker_class, timeout, graceful_timeout,
          max_requests, access_log, server_kind, dev):
    """Serve the OP (granian or gunicorn; the development server only with --dev)."""
    if not access_log:
        logging.getLogger("idp.access").setLevel(logging.WARNING)
    if dev:
        app = app_of(ctx)
        app.run(host=host, port=port, threaded=True, use_reloader=False)
        return
    if workers < 1 or threads < 1:
        raise click.BadParameter("--workers and --threads must be at least 1")
    if server_kind == "granian":
        from click.core import ParameterSource
        given = [f"--{name.replace('_', '-')}" for name in ("worker_class", "timeout", "max_requests")
                 if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)]
        if given:
            raise click.UsageError(f"{', '.join(given)}: only with --server gunicorn")
    # Fail here, once, on a bad configuration (not in every worker), and create the
    # instance secret before the workers race to.
    from .config import ensure_secret_key, load_settings
    settings = ensure_secret_key(load_settings(ctx.obj.get("config")))
    if settings.log_json:  # from the first line on, in the master and every worker
        from .ops.reqlog import use_json_logs
        use_json_logs()
    if server_kind == "granian":
        from .serving_granian import run_granian
        run_granian(ctx.obj.get("config"), host=host, port=port, workers=workers,
                    threads=threads, graceful_timeout=graceful_timeout, access_log=access_log)
        return
    from .serving import run_gunicorn
    run_gunicorn(ctx.obj.get("config"), host=host, port=port, workers=workers, threads=threads,
                 worker_class=worker_class, timeout=timeout, graceful_timeout=graceful_timeout,
                 max_requests=max_requests)


@main.command()
@click.option("--grace", default=DEFAULT_GRACE, show_default=True, type=click.FloatRange(min=0),
              help="Keep rows this many seconds past their expiry (clock skew between nodes).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def purge(ctx, grace, dry_run, as_json):
    """Delete expired grants, refresh tokens and consents (run it daily, e.g. from cron)."""
    from .store.purge import count_expired, purge_expired
    state = state_of(ctx)
    if dry_run:
        counts = count_expired(state.db, grace=grace)
    else:
        counts = purge_expired(state.db, grace=grace)
        state.provider.audit("maintenance.purge", "success", method="cli", details=counts)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, **counts}))
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb}: " + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()))


def _register_groups():
    """Subcommands that live beside the area they manage."""
    from .admin.cli import admin, audit
    from .clients.cli import clients
    from .demo.cli import demo
    from .elicense.cli import elicense
    from .keys_cli import keys
    from .models_check import models
    from .registry.cli import registry
    from .rootsecrets.cli import secrets
    from .audittrail.cli import extend as extend_audit
    extend_audit(audit)
    for group in (clients, keys, models, elicense, registry, admin, audit, demo, secrets):
        main.add_command(group)


_register_groups()


if __name__ == "__main__":
    main()
