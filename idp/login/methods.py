"""The registry of login methods.

A login method is a blueprint of its own (person, enterprise, ...) plus a ``LoginMethod``
entry that the chooser lists.  Methods finish through ``complete_login``.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoginMethod:
    name: str  # URL segment: /login/<txn>/<name>
    labels: dict  # locale -> label shown on the chooser
    acr_values: tuple[str, ...]  # acr values this method can reach
    descriptions: dict = field(default_factory=dict)

    def label(self, locale: str) -> str:
        return self.labels.get(locale) or next(iter(self.labels.values()))

    def description(self, locale: str) -> str:
        return self.descriptions.get(locale) or ""


def register_method(app, method: LoginMethod, blueprint=None) -> None:
    """Add a login method (and its blueprint) to the app; call before the first request."""
    app.extensions["idp"].login_methods[method.name] = method
    if blueprint is not None:
        app.register_blueprint(blueprint)
