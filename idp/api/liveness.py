"""The mini-program liveness sessions (DESIGN section 8), on the person service.

A session belongs to the client that opened it (binding ``client:<client_id>``).  With an
ID number and name it also compares the face with the registry; the answer then never says
why a face did not match (unknown number, other name, other face: all ``face_mismatch``).
Failed matches count against the ID number's attempt limit; there is no per-IP limit here,
since the calls come from the platform's servers.
"""
from __future__ import annotations

from ..errors import InvalidRequest
from ..interaction import ACR_FACE, ACR_FACE_ACTIVE
from ..oidc.token_exchange import LivenessAssertions
from ..person.service import MODES, PersonService, person_claims
from ..person.sessions import Challenge


def binding(client_id: str) -> str:
    return "client:" + client_id


def create(service: PersonService, client_id: str, body: dict) -> Challenge:
    mode = body.get("mode", "passive")
    if mode not in MODES:
        raise InvalidRequest("mode must be passive or active")
    id_text, name_text = body.get("id_number"), body.get("name")
    person = None
    if id_text is not None or name_text is not None:
        if id_text is None or name_text is None:
            raise InvalidRequest("id_number and name go together")
        number, name = service.parse(id_text, name_text)
        service.limiter.check(service.limit_keys(number.number, None, by_ip=False))
        person = service.lookup(number, name)
    challenge = service.open_session(binding=binding(client_id), mode=mode, person=person,
                                     track_state=True)
    service.audit("liveness.session", "info", client_id=client_id, person=person,
                  details={"mode": mode, "actions": challenge.actions})
    return challenge


def submit(service: PersonService, client_id: str, session_id, nonce, frames) -> dict:
    pending = service.sessions.take(session_id, nonce, binding(client_id))
    person = pending.person
    keys = service.limit_keys(person["id"], None, by_ip=False) if person else []
    service.limiter.check(keys)
    verdict = service.judge(pending, frames)
    service.record(verdict, keys)
    reason = verdict.reason
    if person is not None and verdict.live and not verdict.face_match:
        reason = "face_mismatch"
    result = {"live": verdict.live, "score": _round(verdict.score), "reason": reason}
    if person is not None:
        result["face_match"] = bool(verdict.face_match)
    active = pending.mode == "active" and bool(verdict.actions_passed)
    acr = ACR_FACE_ACTIVE if active else ACR_FACE
    sealed = None
    if verdict.ok and person is not None:
        sealed = {"subject": service.provider.subjects.person(person["id"]),
                  "claims": person_claims(person)}
    result["assertion"] = LivenessAssertions(service.provider).mint(
        client_id=client_id, session=pending.id, live=verdict.live, score=verdict.score,
        face_match=result.get("face_match"), acr=acr, person=sealed)
    service.sessions.finish(pending.id, binding(client_id),
                            {k: v for k, v in result.items() if k != "assertion"})
    service.audit("liveness.session", "success" if verdict.ok else "failure",
                  client_id=client_id, person=person, reason=reason,
                  details={"mode": pending.mode, "actions": pending.actions,
                           **verdict.audit_details()})
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


def _round(value):
    return None if value is None else round(float(value), 4)
