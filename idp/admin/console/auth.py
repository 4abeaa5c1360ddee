"""Console login (password + TOTP or a recovery code) and logout."""
from __future__ import annotations

from flask import current_app, make_response, request

from ...errors import LoginError, TooManyRequests
from ..sessions import COOKIE
from . import actor, bp, render, see_other, sessions, svc


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render("login.html", logged_out=request.args.get("logged_out") == "1")
    form = request.form
    try:
        account = svc().accounts.authenticate(form.get("username"), form.get("password"),
                                              form.get("code"), ip=request.remote_addr)
    except (LoginError, TooManyRequests) as exc:
        return render("login.html", exc.status, error=exc,
                      username=(form.get("username") or "")[:64])
    sid = sessions().start(account.username)
    response = make_response(see_other("admin_console.dashboard"))
    response.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", path="/admin",
                        secure=current_app.extensions["idp"].settings.cookie_secure)
    return response


@bp.post("/logout")
def logout():
    svc().record(actor(), "admin.logout")
    sessions().end(request.cookies.get(COOKIE))
    response = make_response(see_other("admin_console.login", logged_out="1"))
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="Strict",
                           secure=current_app.extensions["idp"].settings.cookie_secure)
    return response
