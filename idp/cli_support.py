"""Helpers shared by the ``idp`` subcommands: the app of this invocation, output."""
from __future__ import annotations

import json
import sys

import click

from .errors import IdpError


class IdpGroup(click.Group):
    """Turns IdpError into a one-line message and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except IdpError as exc:
            click.echo(f"error: {exc.description}", err=True)
            sys.exit(1)


def app_of(ctx, init=False):
    from . import create_app
    obj = ctx.ensure_object(dict)
    if obj.get("app") is None or (init and not obj.get("initialised")):
        obj["app"] = create_app(obj.get("config"), init=init)
        obj["initialised"] = init
        obj["settings"] = obj["app"].extensions["idp"].settings
    return obj["app"]


def state_of(ctx):
    return app_of(ctx).extensions["idp"]


def emit(data, as_json: bool, human=None):
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(human(data) if human else "\n".join(f"{k}: {v}" for k, v in data.items()))


