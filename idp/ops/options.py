"""Operational knobs not (yet) declared in ``idp.config.Settings``.

They arrive through ``settings.extra``: ``IDP_<NAME>`` environment variables, or ``<name>``
in a settings dict.  Each is parsed here, once, with a clear error for a bad value.
"""
from __future__ import annotations

from ..errors import ConfigError


def option(settings, name: str, default, cast=str):
    extra = getattr(settings, "extra", None) or {}
    value = extra.get(f"IDP_{name.upper()}", extra.get(name.lower()))
    if value in (None, ""):
        return default
    try:
        if cast is bool:
            return str(value).strip().lower() in {"1", "true", "yes", "on"}
        return cast(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting IDP_{name.upper()} has a bad value: {value!r}") from None
