"""The demo service platform (``/demo``) and visitor face enrolment: demo mode only."""
from __future__ import annotations


def init_app(app) -> None:
    if not app.extensions["idp"].settings.demo:
        return
    from .strings import dt
    from .views import bp
    app.register_blueprint(bp)
    app.jinja_env.globals["dt"] = dt
    app.config.setdefault("UPLOAD_ENDPOINTS", set()).add("demo.enrol_submit")
