"""The face-login service shared by the login page and the mini-program API.

It validates who the user says they are, looks them up in the population registry, opens
liveness sessions with their capture plan, bounds and judges their clips, applies the
attempt limits and audits every attempt with the ID number masked.  The web layers (``person.views``, ``api``) only read
requests and render answers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidRequest
from ..idnumber import IdNumber, mask_id_number, parse_id_number
from ..registry.base import clean_name
from . import guidance
from .clipupload import ClipUpload, InvalidClip, UploadLimits
from .limiter import AttemptLimiter
from .sessions import Challenge, LivenessSessions, PendingSession
from .verify import Verdict, encode_template, judge, names_match

MODES = ("passive", "active")
# A genuine capture starts after the challenge is answered and ends before its upload, so
# its duration fits in between; the slack absorbs the clock difference of two nodes.
TIMING_SLACK_MS = 250


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
    limits: UploadLimits = field(default_factory=UploadLimits)

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
        """``face``: the guided movement, the same for everyone; ``face-active``: random
        actions in random order."""
        if mode == "active":
            return self.engine.random_actions(self.action_count)
        return self.engine.guided_actions()

    def open_session(self, *, binding: str, mode: str, person: dict | None,
                     track_state: bool = False) -> Challenge:
        actions = self.actions_for(mode)
        return self.sessions.open(binding=binding, mode=mode, actions=actions, person=person,
                                  track_state=track_state,
                                  capture=guidance.plan(actions, self.limits))

    def evaluate(self, pending: PendingSession, upload: ClipUpload) -> Verdict:
        """Bound the clip in time, decode it within the limits, judge it."""
        self._check_timing(pending, upload.duration_ms)  # a burst's span, before decoding
        clip = self.engine.decode(upload, self.limits)
        self._check_timing(pending, clip.duration_ms)
        return judge(self.engine, self.seen, clip, actions=pending.actions,
                     person=pending.person, session_id=pending.id)

    @staticmethod
    def _check_timing(pending: PendingSession, duration_ms: float | None) -> None:
        if duration_ms is not None and duration_ms > pending.elapsed_ms + TIMING_SLACK_MS:
            raise InvalidClip("clip_outside_session",
                              f"the clip lasts {duration_ms:.0f} ms but its session started "
                              f"{max(pending.elapsed_ms, 0):.0f} ms before the upload: it was not "
                              "captured for this session")

    # -- limits and audit ---------------------------------------------------------------
    def record(self, verdict: Verdict, keys) -> None:
        """Attempts were counted when the session started; a success forgets this person's."""
        if verdict.ok:
            self.limiter.success(keys)

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
