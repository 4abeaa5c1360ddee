"""The admin API under ``/admin/api/v1`` (DESIGN section 9a): thin views over the service."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for

from ..errors import InvalidRequest
from . import auditlog
from .apiauth import api_actor
from .authorities import SOURCE_FIELDS
from ..jsonbody import json_body
from .openapi import document

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api/v1")


def _svc():
    return current_app.extensions["idp"].services["admin"]


def _json(data, status: int = 200):
    response = jsonify(data)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/openapi.json")
def openapi():
    return _json(document(current_app.extensions["idp"].settings.issuer))


@bp.get("/clients")
def clients_list():
    return _json({"clients": _svc().list_clients(api_actor())})


@bp.post("/clients")
def clients_create():
    actor = api_actor()
    client = _svc().create_client(actor, json_body())
    response = _json(client, 201)
    response.headers["Location"] = url_for(".client_get", client_id=client["client_id"])
    return response


@bp.get("/clients/<client_id>")
def client_get(client_id):
    return _json(_svc().get_client(api_actor(), client_id))


@bp.patch("/clients/<client_id>")
def client_patch(client_id):
    actor = api_actor()
    return _json(_svc().update_client(actor, client_id, json_body()))


@bp.delete("/clients/<client_id>")
def client_delete(client_id):
    _svc().delete_client(api_actor(), client_id)
    return "", 204


@bp.post("/clients/<client_id>/secret")
def client_secret(client_id):
    return _json(_svc().rotate_client_secret(api_actor(), client_id))


@bp.get("/keys")
def keys_list():
    return _json({"keys": _svc().list_keys(api_actor())})


@bp.post("/keys/rotate")
def keys_rotate():
    actor = api_actor()
    body = json_body(optional=True)
    algs = body.get("algs")
    if algs is not None and (not isinstance(algs, list) or not algs):
        raise InvalidRequest("algs must be a non-empty list such as [\"RS256\"]")
    return _json(_svc().rotate_keys(actor, algs, body.get("activate_in")))


@bp.get("/audit")
def audit():
    actor = api_actor()
    args = request.args
    events, next_before = _svc().search_audit(
        actor, since=auditlog.parse_time(args.get("since"), "since"),
        until=auditlog.parse_time(args.get("until"), "until"),
        client_id=args.get("client_id") or None, outcome=args.get("outcome") or None,
        subject=args.get("subject") or None, event=args.get("event") or None,
        before=_int(args.get("before"), "before"), limit=auditlog.parse_limit(args.get("limit")))
    return _json({"events": events, "next_before": next_before})


@bp.get("/stats")
def stats():
    actor = api_actor()
    hours = _int(request.args.get("hours"), "hours") or 24
    if not 1 <= hours <= 24 * 7:
        raise InvalidRequest("hours must be between 1 and 168")
    return _json(_svc().stats(actor, hours))


@bp.get("/authorities")
def authorities():
    return _json({"authorities": _svc().list_authorities(api_actor())})


@bp.post("/authorities")
def authorities_add():
    actor = api_actor()
    body = json_body()
    return _json(_svc().add_authority(actor, body.get("certificate") or "", name=body.get("name"),
                                      crl_source=body.get("crl_source"),
                                      ocsp_source=body.get("ocsp_source")), 201)


@bp.patch("/authorities/<authority_id>")
def authority_patch(authority_id):
    actor = api_actor()
    body = json_body()
    unknown = sorted(set(body) - set(SOURCE_FIELDS))
    if unknown:
        raise InvalidRequest("unknown field(s): " + ", ".join(unknown)[:200]
                             + "; only crl_source and ocsp_source can be changed")
    if not body:
        raise InvalidRequest("give crl_source and/or ocsp_source (a string, or null to clear)")
    return _json(_svc().update_authority_sources(actor, authority_id, **body))


@bp.get("/registry")
def registry():
    return _json(_svc().registry_status(api_actor()))


def _int(value, name):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a whole number") from None
