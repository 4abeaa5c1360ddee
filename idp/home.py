"""The landing page at ``/`` and the site icon.

``/`` tells a visitor what this server is and links to what it offers: the demo service
platform (demo mode only), the admin console and the discovery document.  Browsers ask for
``/favicon.ico`` on every page whatever the page links; it answers with the site icon
instead of a logged 404.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

bp = Blueprint("home", __name__)
ICON = "favicon.svg"


@bp.get("/")
def index():
    state = current_app.extensions["idp"]
    return render_template("home.html", issuer=state.settings.issuer)


@bp.get("/favicon.ico")
def favicon():
    response = send_from_directory(current_app.static_folder, ICON, mimetype="image/svg+xml",
                                   max_age=86400)
    return response


def init_app(app) -> None:
    app.register_blueprint(bp)
