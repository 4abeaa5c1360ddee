"""The unified identity authentication server (OpenID Connect provider).

``create_app`` is the one place where components are built and wired; everything else
receives what it needs from ``app.extensions["idp"]``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask

log = logging.getLogger(__name__)


@dataclass
class IdpState:
    """What the views of this app share (``app.extensions["idp"]``)."""

    settings: object
    db: object
    store: object
    keyring: object
    clients: object
    provider: object
    backchannel: object
    login_methods: dict = field(default_factory=dict)
    discovery_bytes: bytes | None = None
    jwks_cache: tuple = (None, b"")
    services: dict = field(default_factory=dict)  # optional parts: liveness, registry, ...


def create_app(config=None, *, init: bool = False, **overrides) -> Flask:
    """Build the OP.

    ``config`` is a path to a TOML file or a dict of settings; ``overrides`` win over both
    and over ``IDP_*`` environment variables.  ``init=True`` also migrates the database
    and creates missing signing keys (what ``idp init`` does).
    """
    from . import binding, i18n, web
    from .clients import ClientService
    from .config import ensure_secret_key, load_settings, warn_unsafe
    from .keys import KeyRing
    from .login.views import bp as login_bp
    from .oidc.logout import BackchannelSender
    from .oidc.logout import bp as logout_bp
    from .oidc.provider import Provider, build_server
    from .oidc.views import bp as oidc_bp
    from .rootsecrets import secret_ring
    from .store.db import Database
    from .store.ephemeral import make_ephemeral_store

    settings = ensure_secret_key(load_settings(config, **overrides))
    warn_unsafe(settings)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    older = [secret for _, secret in secret_ring(settings).entries[1:]]
    app.config.update(SECRET_KEY=settings.secret_key, SECRET_KEY_FALLBACKS=older,
                      MAX_CONTENT_LENGTH=settings.max_upload_bytes,
                      MAX_FORM_MEMORY_SIZE=settings.max_upload_bytes, JSON_SORT_KEYS=False)

    if not settings.database_url:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    db = Database(settings.sqlalchemy_url)
    if init:
        db.upgrade()
    store = make_ephemeral_store(settings, db)
    keyring = KeyRing(settings.keys_dir, db, passphrase=settings.keys_passphrase,
                      publish_delay=settings.key_publish_delay,
                      retire_grace=settings.retire_grace)
    if init:
        keyring.init()
    clients = ClientService(db)
    provider = Provider(settings, db, store, keyring, clients)
    build_server(provider)
    backchannel = BackchannelSender(provider, timeout=settings.backchannel_timeout,
                                    retries=settings.backchannel_retries)
    app.extensions["idp"] = IdpState(settings=settings, db=db, store=store, keyring=keyring,
                                     clients=clients, provider=provider, backchannel=backchannel)

    web.init_app(app, settings)
    i18n.init_app(app)
    app.register_blueprint(oidc_bp)
    app.register_blueprint(logout_bp)
    app.register_blueprint(login_bp)
    # The areas: each offers init_app(app) and takes what it needs from app.extensions["idp"].
    from . import admin, api, audittrail, demo, enterprise, ops, person
    for area in (admin, enterprise, ops, person, api, demo, audittrail):
        area.init_app(app)
    # after the areas: the rate limits (ops) come before the binding check reads the store
    binding.init_app(app, settings)
    return app
