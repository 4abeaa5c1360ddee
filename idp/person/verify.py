"""One face clip judged: presence (3-D, one person, actions, passive score, replay) and match.

The person behind a session is known only to the server (sealed in the session).  When
the ID number is unknown, the name differs from the registry's, or the registry has no
reference face, the clip is compared with a random *decoy* template instead: the work,
the time and the answer are the same as for a face that does not match, so nothing tells
an attacker which of the three happened (DESIGN section 6, step 5).

What the client hears is coarse (issue 16, item 5): ``try_again`` when the capture itself
was unusable in a way a real person fixes (no face, too dark, did not follow the movement),
with a ``hint`` from a short fixed list; otherwise ``login_failed`` on the page, or
``not_live`` / ``face_mismatch`` on the API.  Never a score, never which check failed (3-D,
replay, passive score, identity): that detail goes to the audit trail only, so the answers
cannot be used to tune an attack.
"""
from __future__ import annotations

import base64
import math
import unicodedata
from dataclasses import dataclass, field

# Engine reasons a real person causes by the conditions of the capture; told as hints.
CAPTURE_HINTS = frozenset({
    "no_face", "multiple_faces", "face_too_small", "too_dark", "overexposed", "blurred",
    "bad_pose", "face_lost"})
# The movement was not seen (or too small to decide on): the hint is to follow the prompts.
MOVEMENT_REASONS = frozenset({"challenge_failed", "no_depth_motion"})
# Clip limits the engine may report after decoding (frame rate, gaps): capture again.
CLIP_REASONS = frozenset({"clip_too_short", "clip_too_long", "frame_rate_too_low", "frame_gap",
                          "too_many_frames", "bad_clip", "bad_timestamps", "no_frames"})
TRY_AGAIN = "try_again"
LOGIN_FAILED = "login_failed"
NOT_LIVE = "not_live"
FACE_MISMATCH = "face_mismatch"


@dataclass
class Verdict:
    ok: bool  # live (every presence check) and, with a person, the face matches the registry
    live: bool
    reason: str | None  # the engine's reason (internal: audit only)
    score: float | None
    similarity: float | None
    face_match: bool | None  # None when the session had no person to compare with
    actions_passed: bool | None
    detail: dict = field(default_factory=dict)  # the engine's full result, for the audit trail
    timings_ms: dict = field(default_factory=dict)

    @property
    def retry(self) -> bool:
        return not self.ok and (self.reason in CAPTURE_HINTS or self.reason in MOVEMENT_REASONS
                                or self.reason in CLIP_REASONS)

    @property
    def hint(self) -> str | None:
        if not self.retry:
            return None
        if self.reason in CAPTURE_HINTS:
            return self.reason
        return "follow_prompts" if self.reason in MOVEMENT_REASONS else "capture_again"

    @property
    def public_reason(self) -> str | None:
        """The login page's reason: nothing about the registry, nothing about which check."""
        if self.ok:
            return None
        return TRY_AGAIN if self.retry else LOGIN_FAILED

    @property
    def api_reason(self) -> str | None:
        """The API's reason: a live face that does not match is ``face_mismatch`` (as for an
        unknown number or another name); any other failure is coarse."""
        if self.ok:
            return None
        if self.retry:
            return TRY_AGAIN
        return FACE_MISMATCH if self.live else NOT_LIVE

    def audit_details(self) -> dict:
        return {"engine_reason": self.reason, "live": self.live,
                "score": round_score(self.score), "similarity": round_score(self.similarity),
                "actions_passed": self.actions_passed, **self.detail,
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


def judge(engine, seen, clip, *, actions: list[str], person: dict | None,
          session_id: str) -> Verdict:
    """Run the pipeline on ``clip``; ``person`` (or None) carries the sealed ``ref``."""
    reference = None
    if person is not None:
        ref = person.get("ref")
        reference = base64.b64decode(ref) if ref else engine.decoy_template()
    result = engine.check_clip(clip, actions=actions, reference=reference, seen=seen,
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
                   actions_passed=result.actions_passed, detail=_detail(result),
                   timings_ms=dict(result.timings_ms or {}))


def _detail(result) -> dict:
    """What the audit trail keeps of a clip result: numbers and codes, never images."""
    out = {"engine_detail": getattr(result, "detail", None)}
    for name in ("frames", "duration_ms", "fps"):
        out[name] = _numbers(getattr(result, name, None))
    for name in ("presence", "identity"):
        value = getattr(result, name, None)
        if isinstance(value, dict):
            out[name] = _numbers(value)
    return out


def _numbers(value):
    """A strict-JSON copy (PostgreSQL's json type refuses NaN and Infinity: those become
    null) with floats rounded: the scores of the presence and identity checks."""
    if isinstance(value, dict):
        return {str(k): _numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if hasattr(value, "item") and not isinstance(value, float):
        value = value.item()  # a numpy scalar
        if isinstance(value, (bool, int, str)):
            return value
    try:
        return round_score(value)
    except (TypeError, ValueError):
        return str(value)


def round_score(value):
    if value is None:
        return None
    value = float(value)
    return round(value, 4) if math.isfinite(value) else None
