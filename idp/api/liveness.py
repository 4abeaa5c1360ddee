"""The mini-program liveness sessions (DESIGN section 8), on the person service.

A session belongs to the client that opened it (binding ``client:<client_id>``).  With an
ID number and name it also compares the face with the registry; the answer then never says
why a face did not match (unknown number, other name, other face: all ``face_mismatch``).

Opening a session is an attempt (DESIGN section 6, step 5): with an ID number it counts on
that number for this client and, with a higher ceiling, from anywhere; without one it counts
on the client and on the caller's IP, so nobody gets unlimited tries at the engine.  A result
that is not live says only ``not_live`` or ``try_again`` (with a hint about the capture):
never a score, never ``face_match``.  The detail goes to the audit trail.
"""
from __future__ import annotations

from ..errors import InvalidRequest
from ..interaction import ACR_FACE, ACR_FACE_ACTIVE
from ..oidc.token_exchange import LivenessAssertions
from ..person.clipupload import ClipUpload, InvalidClip
from ..person.limiter import Key, LockedOut
from ..person.service import MODES, PersonService, person_claims
from ..person.verify import round_score
from ..person.sessions import Challenge


def binding(client_id: str) -> str:
    return "client:" + client_id


def limit_keys(service: PersonService, client_id: str, ip: str | None, id_number: str | None):
    limiter = service.limiter
    if id_number:
        # The caller is the platform's server: its IP is the same for every user, so the
        # ordinary key is (ID number, client), with the per-number ceiling across clients.
        return [limiter.pair_key(id_number, "client:" + client_id), limiter.id_key(id_number)]
    anon = service.provider.settings.api_anon_limit
    return [limiter.client_key(client_id, anon), Key("api-ip:" + (ip or "unknown"), anon)]


def create(service: PersonService, client_id: str, body: dict, ip: str | None) -> Challenge:
    mode = body.get("mode", "passive")
    if mode not in MODES:
        raise InvalidRequest("mode must be passive or active")
    id_text, name_text = body.get("id_number"), body.get("name")
    person = number = None
    if id_text is not None or name_text is not None:
        if id_text is None or name_text is None:
            raise InvalidRequest("id_number and name go together")
        number, name = service.parse(id_text, name_text)
    keys = limit_keys(service, client_id, ip, number.number if number else None)
    try:
        service.limiter.check(keys)
        service.limiter.attempt(keys)
    except LockedOut:
        service.audit("liveness.session", "failure", client_id=client_id,
                      person={"id": number.number} if number else None, reason="locked_out",
                      details={"mode": mode, "with_id_number": number is not None})
        raise
    if id_text is not None:
        person = service.lookup(number, name)
    challenge = service.open_session(binding=binding(client_id), mode=mode, person=person,
                                     track_state=True)
    service.audit("liveness.session", "info", client_id=client_id, person=person,
                  details={"mode": mode, "actions": challenge.actions})
    return challenge


def submit(service: PersonService, client_id: str, session_id, nonce, upload: ClipUpload,
           ip: str | None) -> dict:
    pending = service.sessions.take(session_id, nonce, binding(client_id))
    person = pending.person
    keys = limit_keys(service, client_id, ip, person["id"] if person else None)
    service.limiter.check(keys)
    try:
        verdict = service.evaluate(pending, upload)
    except InvalidClip as exc:
        service.audit("liveness.session", "failure", client_id=client_id, person=person,
                      reason=exc.reason, details={"mode": pending.mode, **upload.describe(),
                                                  "elapsed_ms": round(pending.elapsed_ms)})
        raise
    service.record(verdict, keys)
    reason = verdict.api_reason
    # A face that is not live gets no score and no face_match (issue 16, item 5).
    result = {"live": verdict.live, "score": round_score(verdict.score) if verdict.live else None,
              "reason": reason}
    if verdict.hint:
        result["hint"] = verdict.hint
    if person is not None and verdict.live:
        result["face_match"] = bool(verdict.face_match)
    active = pending.mode == "active" and bool(verdict.actions_passed)
    acr = ACR_FACE_ACTIVE if active else ACR_FACE
    sealed = None
    if verdict.ok and person is not None:
        sealed = {"subject": service.provider.subjects.person(person["id"]),
                  "claims": person_claims(person)}
    result["assertion"] = LivenessAssertions(service.provider).mint(
        client_id=client_id, session=pending.id, live=verdict.live, score=result["score"],
        face_match=result.get("face_match"), acr=acr, person=sealed)
    service.sessions.finish(pending.id, binding(client_id),
                            {k: v for k, v in result.items() if k != "assertion"})
    service.audit("liveness.session", "success" if verdict.ok else "failure",
                  client_id=client_id, person=person, reason=verdict.reason,
                  details={"mode": pending.mode, "actions": pending.actions,
                           "answered": reason, **upload.describe(),
                           "elapsed_ms": round(pending.elapsed_ms), **verdict.audit_details()})
    return result


def state(service: PersonService, client_id: str, session_id) -> dict | None:
    data = service.sessions.state(session_id, binding(client_id))
    if data is None:
        return None
    out = {"session": data["session"], "state": data["state"], "mode": data["mode"],
           "actions": data["actions"], "created_at": int(data["created_at"])}
    if data["state"] == "pending":
        out["expires_at"] = int(data["expires_at"])
    if data.get("result") is not None:
        out["result"] = data["result"]
    return out

