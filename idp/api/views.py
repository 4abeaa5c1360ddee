"""Routes of the mini-program API under ``/api/v1`` (DESIGN section 8)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..errors import NotFound, UnsupportedMediaType
from ..jsonbody import json_body
from ..person.clipupload import read_clip
from ..person.frames import keep_uploads_in_memory
from . import liveness
from .auth import require_token
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _services():
    return current_app.extensions["idp"].services


@bp.before_request
def _uploads():
    if request.endpoint == "api.frames":
        keep_uploads_in_memory()


@bp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.post("/liveness/sessions")
def create_session():
    caller = require_token()
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send a JSON object {id_number?, name?, mode}")
    body = json_body()
    challenge = liveness.create(_services()["person"], caller.client_id, body,
                                request.remote_addr)
    response = jsonify(challenge.to_dict())
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/liveness/sessions/{challenge.session}"
    return response


@bp.post("/liveness/sessions/<session_id>/frames")
def frames(session_id):
    caller = require_token()
    service = _services()["person"]
    fields, upload = read_clip(service.limits, fields=("nonce",))
    result = liveness.submit(service, caller.client_id, session_id, fields["nonce"], upload,
                             request.remote_addr)
    return jsonify(result)


@bp.get("/liveness/sessions/<session_id>")
def session_state(session_id):
    caller = require_token()
    found = liveness.state(_services()["person"], caller.client_id, session_id)
    if found is None:
        raise NotFound("no such liveness session for this client")
    return jsonify(found)


@bp.get("/openapi.json")
def openapi():
    response = jsonify(document(current_app.extensions["idp"].settings.issuer))
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
