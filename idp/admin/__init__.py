"""Administration: relying parties, signing keys, licence authorities, registry, audit trail.

``service.AdminService`` is the one layer the console (``/admin``), the admin API
(``/admin/api/v1``) and the CLI (``idp admin``, ``idp audit``) act through; dynamic client
registration (``/register``) lives here too because it manages the same relying parties.
"""
from __future__ import annotations

from datetime import datetime, timezone


def _admin_time(ts) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(float(ts), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def init_app(app) -> None:
    from . import i18n
    from .api import bp as api_bp
    from .console import bp as console_bp
    from .dcr import bp as dcr_bp
    from .registration import Registrations
    from .service import AdminService
    from .sessions import ConsoleSessions, idle_timeout

    state = app.extensions["idp"]
    state.services["admin"] = AdminService(state)
    state.services["admin_sessions"] = ConsoleSessions(state.store, idle_timeout(state.settings))
    state.services["registrations"] = Registrations(state)
    i18n.init_app(app)
    app.jinja_env.filters["admin_time"] = _admin_time
    app.register_blueprint(console_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(dcr_bp)
