"""The demo service platform (``/demo``) and visitor face enrolment: demo mode only."""
from __future__ import annotations


def init_app(app) -> None:
    if not app.extensions["idp"].settings.demo:
        return
    from .views import bp
    app.register_blueprint(bp)
    app.config.setdefault("UPLOAD_ENDPOINTS", set()).add("demo.enrol_submit")
