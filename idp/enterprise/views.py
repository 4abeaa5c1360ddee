"""Pages and endpoints of the licence login (DESIGN section 9).

Browser: ``/login/{txn}/enterprise`` (QR code + link + status polling),
``/login/{txn}/enterprise/status``.  Holder app: ``GET /elicense/challenges/{id}``,
``POST /elicense/challenges/{id}/response``; ``/elicense/c/{id}`` is the URL inside the QR.
"""
from __future__ import annotations

import io
import time

import segno
from flask import Blueprint, current_app, jsonify, render_template, request

from ..elicense import LicenceError
from ..errors import Conflict, IdpError, InvalidRequest, NotFound, UnsupportedMediaType
from ..interaction import ACR_ELICENSE
from ..jsonbody import json_body
from ..login import complete_login, current_transaction
from ..web import require_csrf
from .challenges import public_view

bp = Blueprint("enterprise", __name__)
MAX_RESPONSE_BYTES = 64 * 1024


def _state():
    return current_app.extensions["idp"]


# A fixed data mask (ISO/IEC 18004 lets the encoder choose; decoders read any).  Trying all
# eight and scoring them cost 3.9 ms of CPU per page, a fixed one 1.0 ms.  Mask 6 is no worse
# to scan: OpenCV's decoder read 119 of 150 blurred, 0.7x-scaled codes of our challenge URLs
# with mask 6 and 100 of 150 with the scored choice (mask 0 was poor: 3 of 60).
_QR_MASK = 6


def _qr_svg(url: str) -> str:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False, mask=_QR_MASK).save(
        out, kind="svg", scale=5, xmldecl=False, svgns=True, dark="#1d2733")
    return out.getvalue().decode()


@bp.get("/login/<txn_id>/enterprise")
def page(txn_id):
    state = _state()
    txn = current_transaction(txn_id)
    client = state.provider.clients.get(txn.client_id)
    challenges = state.services["challenges"]
    data = None
    current = challenges.current_for(txn.id)
    if current and request.args.get("refresh") != "1":
        data = challenges.get(current)
    if data is None:
        data = challenges.create(txn_id=txn.id, client_id=txn.client_id,
                                 client_name=client.name if client else txn.client_id,
                                 aud=state.settings.issuer)
    url = f"{state.settings.issuer}/elicense/c/{data['challenge']}"
    return render_template("enterprise/qr.html", txn=txn, client=client, url=url,
                           qr=_qr_svg(url), expires_at=data["expires_at"],
                           challenge=data["challenge"])


@bp.get("/login/<txn_id>/enterprise/status")
def status(txn_id):
    state = _state()
    challenges = state.services["challenges"]
    txn = current_transaction(txn_id)
    cid = request.args.get("challenge") or challenges.current_for(txn.id)
    result = challenges.result(cid) if cid else None
    if result is None:
        data = challenges.get(cid) if cid else None
        if data is None:
            return jsonify({"state": "expired", "reason": "challenge_expired"})
        _own(data, txn)
        return jsonify({"state": "pending"})
    _own(result, txn)  # before anything is taken: a foreign challenge consumes nothing
    if result["state"] != "done":
        return jsonify({"state": result["state"], "reason": result["reason"]})
    done = challenges.take_result(cid)
    if done is None:  # another poll completed it a moment ago
        return jsonify({"state": "pending"})
    identity = done["identity"]
    subject = state.provider.subjects.entity(identity["uscc"])
    redirect = complete_login(txn, subject, ACR_ELICENSE, identity["amr"],
                              claims=identity["claims"], method="enterprise",
                              audit_subject=identity["uscc"])
    return jsonify({"state": "done", "redirect": redirect})


def _own(record: dict, txn) -> None:
    if record.get("txn") != txn.id:
        raise Conflict("this challenge belongs to another login")


@bp.get("/elicense/challenges/<cid>")
def challenge(cid):
    data = _state().services["challenges"].get(cid)
    if data is None:
        raise NotFound("unknown or expired challenge", error="invalid_challenge")
    response = jsonify(public_view(data))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/elicense/c/<cid>")
def challenge_link(cid):
    """The QR target: JSON for holder apps, a short instruction page for browsers."""
    if request.accept_mimetypes.best == "application/json":
        return challenge(cid)
    data = _state().services["challenges"].get(cid)
    if data is None:
        raise NotFound("unknown or expired challenge", error="invalid_challenge")
    return render_template("enterprise/holder.html", data=data,
                           api=f"{_state().settings.issuer}/elicense/challenges/{cid}")


@bp.post("/elicense/challenges/<cid>/response")
def respond(cid):
    state = _state()
    challenges = state.services["challenges"]
    if not request.is_json:
        raise UnsupportedMediaType("send application/json: {\"jws\": \"...\"}")
    body = json_body(max_bytes=MAX_RESPONSE_BYTES)
    if not isinstance(body.get("jws"), str):
        raise InvalidRequest('the body must be {"jws": "<compact JWS>"}')
    data = challenges.get(cid)
    if data is None:
        raise NotFound("unknown, expired or already answered challenge", error="invalid_challenge")
    verifier = state.services["licence_verifier"].get()
    try:
        identity = verifier.verify_response(body["jws"], expected_challenge=data["challenge"],
                                            expected_nonce=data["nonce"], expected_aud=data["aud"])
    except LicenceError as exc:
        # Refused to its sender only: the browser's poll still says pending, so a forged
        # answer cannot end someone else's login.  A 503 (revocation unknown) says nothing
        # about the answer and is not counted.
        used_up = exc.status < 500 and challenges.invalid_answer(data)
        state.provider.audit("login", "failure", client_id=data["client_id"], method="enterprise",
                             reason=exc.reason, details={"stage": "licence"})
        if used_up:
            state.provider.audit("login", "failure", client_id=data["client_id"],
                                 method="enterprise", reason="too_many_invalid_responses",
                                 details={"stage": "licence", "limit": challenges.max_invalid})
        # 400 invalid_licence, or 503 when revocation cannot be checked (fail closed)
        raise IdpError(f"{exc.reason}: {exc.description}", error=exc.error,
                       status=exc.status) from None
    if challenges.take(cid) is None:
        raise Conflict("the challenge was already answered", error="challenge_used")
    result = {"state": "done", "txn": data["txn"], "at": time.time(),
              "identity": {"uscc": identity.uscc, "amr": identity.amr, "claims": identity.claims(),
                           "serial": identity.serial}}
    challenges.set_result(cid, result)
    return jsonify({"ok": True, "org_name": identity.org_name})


@bp.before_request
def _csrf_for_pages():
    # The holder endpoints are called by an app, not by a browser form; the browser pages
    # here are GETs. Nothing in this blueprint changes state on a cookie's authority.
    if request.path.startswith("/login/"):
        require_csrf()
