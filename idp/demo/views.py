"""The demo service platform at ``/demo`` (demo mode only) and face enrolment for visitors.

Enrolment: a visitor gets a generated, valid demo ID number (kept server-side with their
demo session, so nobody can enrol a face under a number of their choosing), gives a name
and consent, and takes one photo with the webcam; the OP keeps only the template made
from it, in the registry, as for an imported person (DESIGN section 6: "In demo mode only,
an unknown ID number may enrol a face").
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import (Blueprint, current_app, g, jsonify, make_response, redirect, render_template,
                   request)

from ..errors import InvalidRequest, UnsupportedMediaType
from ..interaction import ACR_ELICENSE, ACR_FACE, ACR_FACE_ACTIVE
from ..person.frames import FrameLimits, keep_uploads_in_memory, read_frames
from ..web import require_csrf
from . import rp
from .client import ensure_demo_client
from .ids import demo_id_number

bp = Blueprint("demo", __name__)
ACRS = {"face": ACR_FACE, "face-active": ACR_FACE_ACTIVE, "elicense": ACR_ELICENSE}


def _state():
    return current_app.extensions["idp"]


@bp.before_request
def _protect():
    if request.endpoint == "demo.enrol_submit":
        keep_uploads_in_memory()
    require_csrf()


def _session():
    sid = request.cookies.get(rp.COOKIE)
    return sid, rp.load(sid)


def _keep(response, sid, data):
    response = make_response(response)
    sid = rp.save(sid, data)
    response.set_cookie(rp.COOKIE, sid, max_age=rp.TTL, httponly=True, samesite="Lax",
                        secure=_state().settings.cookie_secure, path="/demo")
    return response


@bp.get("/demo")
def index():
    sid, data = _session()
    login = data.get("login")
    pretty = json.dumps(login["id_token"], ensure_ascii=False, indent=2) if login else ""
    logged_out = data.pop("logged_out", None)
    if logged_out:
        sid = rp.save(sid, data)  # the message shows once
    return render_template("demo/index.html", login=login, pretty=pretty, logged_out=logged_out,
                           enrolled=data.get("enrolled"),
                           userinfo=json.dumps(login["userinfo"], ensure_ascii=False, indent=2)
                           if login else "")


@bp.get("/demo/login")
def login():
    state = _state()
    client = ensure_demo_client(state)
    sid, data = _session()
    acr = ACRS.get(request.args.get("acr", "face"), ACR_FACE)
    url = rp.authorization_url(state.settings.issuer, client, data, acr=acr,
                               essential=acr != ACR_FACE, locale=g.get("locale"))
    return _keep(redirect(url, 302), sid, data)


@bp.get("/demo/callback")
def callback():
    state = _state()
    sid, data = _session()
    data["login"] = rp.finish(state.settings.issuer, ensure_demo_client(state), data, request.args)
    return _keep(redirect("/demo", 302), sid, data)


@bp.post("/demo/logout")
def logout():
    state = _state()
    sid, data = _session()
    login = data.pop("login", None)
    target = "/demo"
    data["logged_out"] = True
    if login:
        client = ensure_demo_client(state)
        target = "/end-session?" + urlencode({"id_token_hint": login["id_token_raw"],
                                              "post_logout_redirect_uri": client.logout_uri})
    return _keep(redirect(target, 302), sid, data)


@bp.get("/demo/enrol")
def enrol():
    sid, data = _session()
    if not data.get("enrol_id"):
        data["enrol_id"] = demo_id_number()
    return _keep(render_template("demo/enrol.html", id_number=data["enrol_id"]), sid, data)


@bp.post("/demo/enrol")
def enrol_submit():
    state = _state()
    sid, data = _session()
    number = data.get("enrol_id")
    if not number:
        raise InvalidRequest("open the enrolment page first")
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send the photo as multipart/form-data")
    fields, photos = read_frames(FrameLimits(max_frames=1), fields=("name", "consent"))
    if fields.get("consent") not in ("true", "on", "1"):
        raise InvalidRequest("consent to face processing is required", error="consent_required")
    from ..registry.base import clean_name
    try:
        name = clean_name(fields.get("name") or "")
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    from liveness.errors import TemplateError
    try:
        template = state.services["liveness"].make_template(photos[0])
    except TemplateError as exc:
        raise InvalidRequest("no usable face in the photo: " + exc.reason, error="bad_photo") from None
    state.services["registry"].enrol(number, name, template, "demo")
    state.provider.audit("registry.enrol", "success", method="demo",
                         subject=state.services["person"].masked(number), details={"source": "demo"})
    data["enrolled"] = {"id_number": number, "name": name}
    data.pop("enrol_id", None)
    return _keep(jsonify({"ok": True, "id_number": number, "name": name}), sid, data)
