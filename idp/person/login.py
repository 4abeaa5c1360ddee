"""The browser face login inside one login transaction (DESIGN section 6, steps 3 and 4).

``start`` answers every well-formed request with a challenge of the same shape, whether or
not the person is registered and whether or not the name matches, and counts it as an
attempt (a restart is a new attempt: actions cannot be re-rolled for free); ``finish``
bounds and judges the clip and either completes the login (acr face or face-active, DESIGN
section 5) or answers a coarse failure (``try_again`` with a hint, or ``login_failed``).
"""
from __future__ import annotations

from ..errors import InvalidRequest
from ..interaction import ACR_FACE, ACR_FACE_ACTIVE, LoginTransaction
from ..login import complete_login
from .clipupload import ClipUpload, InvalidClip
from .limiter import LockedOut
from .service import PersonService, person_claims
from .sessions import Challenge

AMR_PASSIVE = ["face", "user"]
AMR_ACTIVE = ["face", "user", "mfa"]


class ConsentRequired(InvalidRequest):
    """Face verification needs your explicit consent to process your face image."""

    error = "consent_required"


def binding(txn: LoginTransaction) -> str:
    return "txn:" + txn.id


def mode_for(txn: LoginTransaction, policy: str) -> str:
    """Active when the request needs face-active (or policy always asks for it)."""
    if policy == "active" or txn.required_acr == ACR_FACE_ACTIVE:
        return "active"
    return "passive"


def start(service: PersonService, txn: LoginTransaction, *, id_text, name_text, consent: bool,
          ip: str | None, policy: str = "auto") -> Challenge:
    try:
        number, name = service.parse(id_text, name_text)
        if not consent:
            raise ConsentRequired()
        keys = service.limiter.person_keys(number.number, ip)
        service.limiter.check(keys)
        service.limiter.attempt(keys)
    except (InvalidRequest, LockedOut) as exc:
        typed = id_text if isinstance(id_text, str) else None
        service.audit("login.person.start", "failure", client_id=txn.client_id,
                      person={"id": typed.strip()[:18]} if typed and typed.strip() else None,
                      reason=getattr(exc, "reason", None) or exc.error)
        raise
    person = service.lookup(number, name)
    mode = mode_for(txn, policy)
    challenge = service.open_session(binding=binding(txn), mode=mode, person=person)
    service.audit("login.person.start", "info", client_id=txn.client_id, person=person,
                  details={"consent": True, "mode": mode, "actions": challenge.actions})
    return challenge


def finish(service: PersonService, txn: LoginTransaction, *, session_id, nonce,
           upload: ClipUpload, ip: str | None) -> dict:
    pending = service.sessions.take(session_id, nonce, binding(txn))
    person = pending.person
    keys = service.limiter.person_keys(person["id"], ip)
    try:
        service.limiter.check(keys)
    except LockedOut:
        service.audit("login", "failure", client_id=txn.client_id, person=person,
                      reason="locked_out", details={"mode": pending.mode})
        raise
    try:
        verdict = service.evaluate(pending, upload)
    except InvalidClip as exc:
        service.audit("liveness.check", "failure", client_id=txn.client_id, person=person,
                      reason=exc.reason, details={"mode": pending.mode, **upload.describe(),
                                                  "elapsed_ms": round(pending.elapsed_ms)})
        raise
    service.record(verdict, keys)
    details = {"mode": pending.mode, "actions": pending.actions, **upload.describe(),
               "elapsed_ms": round(pending.elapsed_ms), **verdict.audit_details()}
    # Two events: the face check with every score (the dashboard's liveness pass rate), and
    # the login's outcome (logins by method and outcome; a success is audited by
    # complete_login).
    service.audit("liveness.check", "success" if verdict.ok else "failure",
                  client_id=txn.client_id, person=person,
                  reason=None if verdict.ok else verdict.public_reason, details=details)
    if not verdict.ok:
        service.audit("login", "failure", client_id=txn.client_id, person=person,
                      reason=verdict.public_reason, details={"mode": pending.mode})
        return {"ok": False, "reason": verdict.public_reason, "hint": verdict.hint,
                "redirect": None}
    active = pending.mode == "active" and bool(verdict.actions_passed)
    acr, amr = (ACR_FACE_ACTIVE, AMR_ACTIVE) if active else (ACR_FACE, AMR_PASSIVE)
    subject = service.provider.subjects.person(person["id"])
    url = complete_login(txn, subject, acr, amr, claims=person_claims(person), method="person",
                         audit_subject=service.masked(person["id"]))
    return {"ok": True, "reason": None, "hint": None, "redirect": url}
