"""Routes of the person login method (DESIGN section 6): the page, start, the clip.

Views only read the request and render: the work is in ``login.py`` and ``service.py``.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, render_template, request

from werkzeug.exceptions import HTTPException

from ..errors import IdpError, PayloadTooLarge, UnsupportedMediaType
from ..jsonbody import json_body
from ..web import render_error, require_csrf
from . import login
from .clipupload import read_clip
from .frames import keep_uploads_in_memory
from .strings import script_text

bp = Blueprint("person", __name__)
TRUE = {"1", "true", "on", "yes"}


def _state():
    return current_app.extensions["idp"]


def _service():
    return _state().services["person"]


def _transaction(txn_id):
    txn = _state().provider.transactions.load(txn_id)
    if txn.ui_locales:
        g.locale = txn.locale
    return txn


@bp.before_request
def _protect():
    if request.endpoint == "person.frames":
        keep_uploads_in_memory()
    require_csrf()


@bp.errorhandler(IdpError)
def _error(error):
    """The page's POSTs are called by its script: their errors are always JSON."""
    if request.method != "POST":
        return render_error(error)
    response = jsonify(error.to_dict())
    response.status_code = error.status
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc):
    if exc.code == 413:
        return _error(PayloadTooLarge("the request body is larger than this endpoint accepts"))
    return _error(IdpError(exc.description or exc.name, error="invalid_request",
                           status=exc.code or 400))


@bp.get("/login/<txn_id>/person")
def page(txn_id):
    txn = _transaction(txn_id)
    state = _state()
    client = state.provider.clients.get(txn.client_id)
    return render_template("person/login.html", txn=txn, client=client,
                           enterprise="enterprise" in state.login_methods, text=script_text())


@bp.post("/login/<txn_id>/person")
def start(txn_id):
    txn = _transaction(txn_id)
    body = _body()
    consent = body.get("consent")
    consent = consent is True or (isinstance(consent, str) and consent.lower() in TRUE)
    challenge = login.start(_service(), txn, id_text=body.get("id_number"),
                            name_text=body.get("name"), consent=consent,
                            ip=request.remote_addr, policy=_policy())
    response = jsonify(challenge.to_dict())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/login/<txn_id>/person/frames")
def frames(txn_id):
    txn = _transaction(txn_id)
    service = _service()
    fields, upload = read_clip(service.limits)
    outcome = login.finish(service, txn, session_id=fields["session"], nonce=fields["nonce"],
                           upload=upload, ip=request.remote_addr)
    response = jsonify(outcome)
    response.status_code = 200 if outcome["ok"] else 403
    response.headers["Cache-Control"] = "no-store"
    return response


def _body() -> dict:
    if request.mimetype == "application/json":
        return json_body()
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    raise UnsupportedMediaType("send a form or a JSON object {id_number, name, consent}")


def _policy() -> str:
    return _state().settings.liveness_mode
