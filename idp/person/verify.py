"""One capture session judged: liveness, active challenge, replay and face match.

The person behind a session is known only to the server (sealed in the session).  When
the ID number is unknown, the name differs from the registry's, or the registry has no
reference face, the frames are compared with a random *decoy* template instead: the work,
the time and the answer are the same as for a face that does not match, so nothing tells
an attacker which of the three happened (DESIGN section 6, step 5).
"""
from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass, field

# Reasons about the capture itself: the user can fix them (light, distance, one face in
# view), they say nothing about the person, and they are not counted as failed attempts.
CAPTURE_REASONS = frozenset({
    "bad_image", "unsupported_format", "image_too_large", "no_face", "multiple_faces",
    "face_too_small", "too_dark", "overexposed", "blurred", "bad_pose", "no_frames",
    "too_many_frames"})
# Shown as they are; everything else (spoof, replay, mismatch, unknown person) is one
# generic failure.
PUBLIC_REASONS = CAPTURE_REASONS | {"challenge_failed"}
LOGIN_FAILED = "login_failed"


@dataclass
class Verdict:
    ok: bool  # live, challenge passed (when asked) and the face matches the registry
    live: bool
    reason: str | None  # the engine's reason (internal: audit only)
    score: float | None
    similarity: float | None
    face_match: bool | None  # None when the session had no person to compare with
    actions_passed: bool | None
    near_duplicates: int = 0
    timings_ms: dict = field(default_factory=dict)

    @property
    def public_reason(self) -> str | None:
        if self.ok:
            return None
        return self.reason if self.reason in PUBLIC_REASONS else LOGIN_FAILED

    @property
    def counts_as_failure(self) -> bool:
        return not self.ok and self.reason not in CAPTURE_REASONS

    def audit_details(self) -> dict:
        return {"engine_reason": self.reason, "live": self.live,
                "score": _round(self.score), "similarity": _round(self.similarity),
                "actions_passed": self.actions_passed, "near_duplicates": self.near_duplicates,
                "ms": round(self.timings_ms.get("total", 0.0), 1)}


def normalise_name(name: str) -> str:
    """The form two spellings of one name share: NFKC, no spaces, one middle dot, casefolded."""
    text = unicodedata.normalize("NFKC", name)
    for dot in ("\u2022", "\u30fb", "\uff65", "\u2027", "\u00b7", "."):
        text = text.replace(dot, "\u00b7")
    return "".join(text.split()).casefold()


def names_match(registered: str, typed: str) -> bool:
    return normalise_name(registered) == normalise_name(typed)


def encode_template(template: bytes | None) -> str | None:
    return None if template is None else base64.b64encode(template).decode()


def judge(engine, seen, frames: list[bytes], *, actions: list[str], person: dict | None,
          session_id: str) -> Verdict:
    """Run the pipeline on ``frames``; ``person`` (or None) carries the sealed ``ref``."""
    reference = None
    if person is not None:
        ref = person.get("ref")
        reference = base64.b64decode(ref) if ref else engine.decoy_template()
    result = engine.check_session(frames, actions=actions, reference=reference, seen=seen,
                                  session_id=session_id)
    similarity = result.match["similarity"] if result.match else None
    face_match = None
    if person is not None:
        face_match = bool(person.get("ref") and result.match and result.match["same"])
    ok = bool(result.live and (person is None or face_match))
    reason = result.reason
    if not ok and reason is None:  # a decoy that happened to match still fails
        reason = "face_mismatch"
    return Verdict(ok=ok, live=bool(result.live), reason=reason, score=result.score,
                   similarity=similarity, face_match=face_match,
                   actions_passed=result.actions_passed,
                   near_duplicates=len(result.near_duplicates), timings_ms=result.timings_ms)


def _round(value):
    return None if value is None else round(float(value), 4)
