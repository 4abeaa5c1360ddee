"""``idp models install|verify``: the face engine's model installer, from the idp CLI."""
from __future__ import annotations

import sys
from pathlib import Path

import click


def describe_models(settings) -> str:
    """One line on the state of the face models (``idp init`` prints it)."""
    try:
        from liveness.models import verify
    except ImportError:
        return "face models: the liveness package is not installed"
    try:
        problems = [s for s in verify(Path(settings.models_dir)) if not getattr(s, "ok", False)]
    except Exception as exc:  # the installer reports its own errors; init only summarises
        return f"face models: cannot verify ({exc})"
    if problems:
        names = ", ".join(f"{p.model} ({p.status})" for p in problems)
        return (f"face models: missing or mismatched: {names}; run "
                f"`idp models install --from ../shared/models`")
    return f"face models: verified in {settings.models_dir}"


@click.group()
def models():
    """Install and verify the ONNX face models."""


def _settings():
    ctx = click.get_current_context()
    obj = ctx.find_root().obj or {}
    if obj.get("settings") is None:
        from .config import load_settings
        obj["settings"] = load_settings(obj.get("config"))
    return obj["settings"]


@models.command("install")
@click.option("--from", "from_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Directory holding the model files (repeat).")
@click.option("--download", is_flag=True, help="Fetch the pinned upstream files (needs internet).")
def install(from_dirs, download):
    """Verify the pinned sha256 of each model and install the runnable files."""
    from liveness.models import install as do_install
    try:
        done = do_install(Path(_settings().models_dir), from_dirs=[Path(d) for d in from_dirs] or None,
                          download=download)
    except Exception as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for item in done or []:
        click.echo(str(item))


@models.command("verify")
def verify_cmd():
    """Check every installed model against models/manifest.toml."""
    from liveness.models import verify
    statuses = verify(Path(_settings().models_dir))
    bad = [s for s in statuses if not getattr(s, "ok", False)]
    for s in statuses:
        click.echo(f"{s.model:16} {s.status:10} {s.file}" + (f"  {s.detail}" if not s.ok else ""))
    sys.exit(1 if bad else 0)
