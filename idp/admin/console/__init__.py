"""The admin console under ``/admin``: server-rendered pages, usable without JavaScript.

Every request except the login page needs a console session; every POST needs the CSRF
token.  Views are thin: they read the form, call the admin service and render.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request

from ...web import require_csrf
from ..roles import Actor
from ..sessions import COOKIE

bp = Blueprint("admin_console", __name__, url_prefix="/admin")
PUBLIC_ENDPOINTS = {"admin_console.login"}


def svc():
    return current_app.extensions["idp"].services["admin"]


def sessions():
    return current_app.extensions["idp"].services["admin_sessions"]


def actor() -> Actor:
    return g.admin_actor


def see_other(endpoint: str, **values):
    from flask import url_for
    return redirect(url_for(endpoint, **values), 303)


def render(template: str, status: int = 200, **context):
    return render_template(f"admin/{template}", **context), status


@bp.before_request
def _authenticate():
    g.admin_actor = None
    require_csrf()
    username = sessions().load(request.cookies.get(COOKIE))
    account = svc().accounts.get(username) if username else None
    if account is not None:
        g.admin_actor = Actor(f"user:{account.username}", account.role)
    elif request.endpoint not in PUBLIC_ENDPOINTS:
        return see_other("admin_console.login")
    return None


@bp.context_processor
def _context():
    current = g.get("admin_actor")
    return {"admin": current, "can": (lambda perm: bool(current and current.can(perm)))}


from . import auth, clients, pages  # noqa: E402,F401  (routes register on bp)
