"""Console pages for relying parties: list, create, edit, enable/disable, rotate, delete."""
from __future__ import annotations

from flask import request

from ...errors import Conflict, InvalidRequest
from .. import roles
from . import actor, bp, render, see_other, svc
from .forms import CHOICES, client_body, form_values


@bp.get("/clients")
def clients():
    return render("clients.html", clients=svc().list_clients(actor()))


@bp.route("/clients/new", methods=["GET", "POST"])
def client_new():
    if request.method == "GET":
        svc().check(actor(), roles.CLIENTS_WRITE)
        return render("client_form.html", values=form_values(None), choices=CHOICES, client=None)
    try:
        body = client_body(request.form, may_admin=actor().can(roles.ADMIN_CLIENTS))
        created = svc().create_client(actor(), body)
    except (InvalidRequest, Conflict) as exc:
        return render("client_form.html", exc.status, values=form_values(None, request.form),
                      choices=CHOICES, client=None, error=exc)
    return render("client_secret.html", client=created, created=True)


@bp.route("/clients/<client_id>", methods=["GET", "POST"])
def client_edit(client_id):
    client = svc().get_client(actor(), client_id)
    if request.method == "GET":
        return render("client_form.html", values=form_values(client), choices=CHOICES, client=client)
    try:
        body = client_body(request.form, may_admin=actor().can(roles.ADMIN_CLIENTS))
        svc().update_client(actor(), client_id, body)
    except (InvalidRequest, Conflict) as exc:
        return render("client_form.html", exc.status, values=form_values(client, request.form),
                      choices=CHOICES, client=client, error=exc)
    return see_other("admin_console.clients")


@bp.post("/clients/<client_id>/enable")
def client_enable(client_id):
    svc().set_client_enabled(actor(), client_id, True)
    return see_other("admin_console.clients")


@bp.post("/clients/<client_id>/disable")
def client_disable(client_id):
    svc().set_client_enabled(actor(), client_id, False)
    return see_other("admin_console.clients")


@bp.post("/clients/<client_id>/secret")
def client_rotate(client_id):
    rotated = svc().rotate_client_secret(actor(), client_id)
    client = {**svc().get_client(actor(), client_id), **rotated}
    return render("client_secret.html", client=client, created=False)


@bp.post("/clients/<client_id>/delete")
def client_delete(client_id):
    if request.form.get("confirm") != "yes":
        raise InvalidRequest("tick the confirmation box to delete a relying party")
    svc().delete_client(actor(), client_id)
    return see_other("admin_console.clients")


@bp.post("/initial-token")
def initial_token():
    raw = (request.form.get("ttl") or "").strip()
    try:
        ttl = int(raw) if raw else None
    except ValueError:
        raise InvalidRequest("the lifetime must be a whole number of seconds") from None
    issued = svc().issue_initial_token(actor(), ttl)
    return render("initial_token.html", issued=issued)
