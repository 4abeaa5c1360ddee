"""REST API for mini-programs: liveness sessions and their OpenAPI document (DESIGN section 8).

Needs the person area (``services["person"]``), which builds the face engine, registry and
session services this API shares with the login page.
"""
from __future__ import annotations


def init_app(app) -> None:
    from .views import bp
    app.register_blueprint(bp)
    app.config.setdefault("UPLOAD_ENDPOINTS", set()).add("api.frames")
