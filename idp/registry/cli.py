"""``idp registry import FILE.csv --photos DIR`` and ``idp registry count`` (DESIGN section 12).

``idp.cli`` adds this group when the module imports.  The face engine comes from
``app.extensions["idp"].services["liveness"]`` (anything with ``make_template(bytes)``);
the registry from ``services["registry"]`` when the app wired one, else the local registry
on the app's database and secret, the same keys the login uses.
"""
from __future__ import annotations

import json
import os
import sys

import click

from ..errors import ConfigError
from .importer import ImportFileError, import_persons


@click.group("registry")
def registry():
    """Population registry: import persons and reference photos."""


def _state(ctx):
    from ..cli_support import state_of

    return state_of(ctx)


def _registry(state):
    wired = state.services.get("registry")
    if wired is not None:
        return wired
    from .factory import make_registry

    from ..rootsecrets import secret_ring

    return make_registry("local", database=state.db, secret_key=secret_ring(state.settings),
                         data_keys=state.provider.data_keys)


@registry.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--photos", "photos_dir", required=True,
              type=click.Path(exists=True, file_okay=False), help="Folder of the photos.")
@click.option("--encoding", default="utf-8-sig", show_default=True,
              help="Text encoding of the CSV (e.g. gb18030 for Excel on Chinese Windows).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_command(ctx, csv_file, photos_dir, encoding, as_json):
    """Import persons: a CSV with the columns id_number,name,photo."""
    state = _state(ctx)
    engine = state.services.get("liveness")
    if engine is None or not hasattr(engine, "make_template"):
        raise ConfigError("The face engine is not available; install the models "
                          "(idp models install) and check `idp init`.")
    target = _registry(state)
    if getattr(target, "kind", "local") != "local":
        raise ConfigError("The configured registry is remote; import fills the local one.")
    bar = None

    def progress(done, total):
        nonlocal bar
        if bar is None:
            # stderr: stdout stays clean for --json
            bar = click.progressbar(length=total, label="importing", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    source = {"file": os.path.basename(csv_file)}  # the name only: paths can name people
    try:
        report = import_persons(target, csv_file, photos_dir, engine.make_template,
                                progress=progress, encoding=encoding)
    except ImportFileError as error:
        _audit(state, "failure", reason="bad_file", details={**source, "error": str(error)[:200]})
        raise click.ClickException(str(error)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    # The console's registry page lists these; counts and reasons only, never a row's content.
    _audit(state, "success" if not report.rejected else "info",
           details={**source, "total": report.total, "imported": report.imported,
                    "rejected": report.rejected, "by_reason": report.by_reason()})
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"rows: {report.total}  imported: {report.imported}  rejected: {report.rejected}")
    for rejection in report.rejections:
        detail = f" ({rejection.detail})" if rejection.detail else ""
        click.echo(f"  row {rejection.row}: {rejection.reason}{detail}")


def _audit(state, outcome: str, *, reason=None, details: dict) -> None:
    state.provider.audit("registry.import", outcome, method="cli", reason=reason, details=details)


@registry.command("count")
@click.pass_context
def count_command(ctx):
    """How many persons the registry holds."""
    click.echo(_registry(_state(ctx)).count())
