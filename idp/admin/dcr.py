"""``/register`` (RFC 7591) and ``/register/{client_id}`` (RFC 7592): thin views."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..clients.validation import InvalidClientMetadata
from ..errors import Unauthorized
from .apiauth import bearer_token
from ..jsonbody import json_body

bp = Blueprint("admin_dcr", __name__)


def _reg():
    return current_app.extensions["idp"].services["registrations"]


def _token() -> str:
    try:
        return bearer_token()
    except Unauthorized as exc:
        exc.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        raise


def _json(data, status=200):
    response = jsonify(data)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/register")
def register():
    token = _token()
    _reg().check_initial(token)  # 401 before looking at the body
    data = _reg().register(token, json_body(error=InvalidClientMetadata))
    response = _json(data, 201)
    response.headers["Location"] = data["registration_client_uri"]
    return response


@bp.get("/register/<client_id>")
def read(client_id):
    return _json(_reg().read(client_id, _token()))


@bp.put("/register/<client_id>")
def update(client_id):
    token = _token()
    _reg().authorise(client_id, token)
    return _json(_reg().update(client_id, token, json_body(error=InvalidClientMetadata)))


@bp.delete("/register/<client_id>")
def delete(client_id):
    _reg().delete(client_id, _token())
    return "", 204
