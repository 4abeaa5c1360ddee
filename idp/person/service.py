"""The face-login service shared by the login page and the mini-program API.

It validates who the user says they are, looks them up in the population registry, opens
liveness sessions, judges their frames, applies the attempt limits and audits every
attempt with the ID number masked.  The web layers (``person.views``, ``api``) only read
requests and render answers.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidRequest
from ..idnumber import IdNumber, mask_id_number, parse_id_number
from ..registry.base import clean_name
from .limiter import AttemptLimiter
from .sessions import Challenge, LivenessSessions, PendingSession
from .verify import Verdict, encode_template, judge, names_match

MODES = ("passive", "active")


class InvalidName(InvalidRequest):
    """The name is missing, too long or contains control characters."""

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reason": "invalid_name"}


@dataclass
class PersonService:
    provider: object
    registry: object
    engine: object
    sessions: LivenessSessions
    limiter: AttemptLimiter
    seen: object
    action_count: int | None = None  # None: 2 or 3 at random

    # -- who -------------------------------------------------------------------------------
    @staticmethod
    def parse(id_text, name_text) -> tuple[IdNumber, str]:
        """Validate the typed ID number (``InvalidIdNumber`` with a reason) and name."""
        number = parse_id_number(id_text if isinstance(id_text, str) else "")
        try:
            name = clean_name(name_text if isinstance(name_text, str) else "")
        except ValueError as exc:
            raise InvalidName(str(exc)) from None
        return number, name

    def lookup(self, number: IdNumber, name: str) -> dict:
        """What the session needs to know about the person, sealed later.  ``registry`` says
        what was found, for the audit trail only: no response ever depends on it."""
        record = self.registry.lookup(number.number)
        if record is None:
            found, ref = "unknown", None
        elif not names_match(record.name, name):
            found, ref = "name_mismatch", None
        elif record.template is None:
            found, ref = "no_template", None
        else:
            found, ref = "found", record.template
        return {"id": number.number, "name": record.name if found == "found" else name,
                "ref": encode_template(ref), "registry": found}

    def masked(self, id_number: str | None) -> str | None:
        if not id_number:
            return None
        return mask_id_number(id_number, self.provider.settings.id_number_mask_keep)

    # -- sessions --------------------------------------------------------------------------
    def actions_for(self, mode: str) -> list[str]:
        return self.engine.random_actions(self.action_count) if mode == "active" else []

    def open_session(self, *, binding: str, mode: str, person: dict | None,
                     track_state: bool = False) -> Challenge:
        return self.sessions.open(binding=binding, mode=mode, actions=self.actions_for(mode),
                                  person=person, track_state=track_state)

    def judge(self, pending: PendingSession, frames: list[bytes]) -> Verdict:
        return judge(self.engine, self.seen, frames, actions=pending.actions,
                     person=pending.person, session_id=pending.id)

    # -- limits and audit ---------------------------------------------------------------
    def limit_keys(self, id_number: str | None, ip: str | None, *, by_ip: bool = True) -> list[str]:
        keys = [self.limiter.id_key(id_number)] if id_number else []
        if by_ip:
            keys.append(self.limiter.ip_key(ip))
        return keys

    def record(self, verdict: Verdict, keys: list[str]) -> None:
        if verdict.ok:
            self.limiter.success(keys)
        elif verdict.counts_as_failure:
            self.limiter.failure(keys)

    def audit(self, event: str, outcome: str, *, client_id, person: dict | None, reason=None,
              details: dict | None = None) -> None:
        extra = dict(details or {})
        if person is not None and "registry" in person:
            extra["registry"] = person["registry"]
        self.provider.audit(event, outcome, client_id=client_id, method="person",
                            subject=self.masked(person["id"]) if person else None,
                            reason=reason, details=extra)


def person_claims(person: dict) -> dict:
    """The natural-person claims of DESIGN section 5, from the registry and the ID number."""
    number = parse_id_number(person["id"])
    return {"name": person["name"], "birthdate": number.birth_date.isoformat(),
            "gender": number.gender, "id_number": number.number,
            "entity_type": "natural_person"}
