"""Result dataclasses.  ``reason`` is None when passing, else a machine-readable code.

Frame reasons: bad_image, unsupported_format, image_too_large, no_face, multiple_faces,
face_too_small, too_dark, overexposed, blurred, bad_pose, spoof, replay.
Session reasons: the frame reasons, plus no_frames, too_many_frames, spoof (session mean
below the threshold), challenge_failed, face_mismatch.
Clip reasons (``ClipResult``): replay, no_face, multiple_faces, face_lost, the quality
reasons of the most frontal frame, bad_pose (no frontal frame), challenge_failed, the
presence reasons (planar, no_depth_motion, ...), face_changed, spoof, face_mismatch.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def _ms(timings: dict) -> dict:
    return {k: round(float(v), 3) for k, v in timings.items()}


@dataclass
class FrameResult:
    live: bool                      # passed every gate and the passive threshold
    reason: str | None
    score: float | None = None      # mean live probability of the anti-spoof models
    scores: dict = field(default_factory=dict)   # live probability per model
    faces: int = 0
    det_score: float | None = None
    box: list | None = None         # [x, y, w, h], full-resolution upright pixels
    landmarks: list | None = None   # 5 x [x, y]
    quality: dict | None = None     # face_px, sharpness, brightness, saturated, yaw, pitch, roll
    width: int | None = None
    height: int | None = None
    format: str | None = None
    sha256: str = ""
    detail: str = ""                # human-readable detail of `reason`
    match: dict | None = None       # {"similarity", "same"} when a reference was given
    timings_ms: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "live": self.live, "reason": self.reason, "detail": self.detail,
            "score": self.score, "scores": dict(self.scores), "faces": self.faces,
            "det_score": self.det_score, "box": self.box, "landmarks": self.landmarks,
            "quality": self.quality, "width": self.width, "height": self.height,
            "format": self.format, "sha256": self.sha256, "match": self.match,
            "timings_ms": _ms(self.timings_ms),
        }


@dataclass
class SessionResult:
    live: bool                      # liveness passed: frames, passive score, challenge, replay
    reason: str | None              # None only when everything, the match included, passed
    score: float | None = None      # mean live probability over frames with a face
    frames: list = field(default_factory=list)          # FrameResult per frame
    actions: list = field(default_factory=list)
    actions_passed: bool | None = None                  # None when no actions were asked
    action_frames: list = field(default_factory=list)   # frame index per action (or None)
    match: dict | None = None
    near_duplicates: list = field(default_factory=list) # [{"frame", "session", "phash", "distance"}]
    best_frame: int | None = None
    session_id: str | None = None
    detail: str = ""
    timings_ms: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict:
        return {
            "live": self.live, "ok": self.ok, "reason": self.reason, "detail": self.detail,
            "score": self.score, "frames": [f.to_dict() for f in self.frames],
            "actions": list(self.actions), "actions_passed": self.actions_passed,
            "action_frames": list(self.action_frames), "match": self.match,
            "near_duplicates": list(self.near_duplicates), "best_frame": self.best_frame,
            "session_id": self.session_id, "timings_ms": _ms(self.timings_ms),
        }


@dataclass
class ClipResult:
    """The decision on one clip (``liveness.clipsession``).  ``live`` is True only when every
    presence check passed (track, one person, 3-D, actions, passive score, no replay);
    ``face_mismatch`` is reported like a session's: live True, ``match["same"]`` False."""

    live: bool
    reason: str | None
    detail: str | None = None
    score: float | None = None          # passive live probability, mean over the key frames
    match: dict | None = None           # {"similarity": min over embedded frames, "same", "frames"}
    actions: list = field(default_factory=list)
    actions_passed: bool | None = None
    action_frames: list = field(default_factory=list)
    presence: dict = field(default_factory=dict)
    identity: dict = field(default_factory=dict)
    track: dict = field(default_factory=dict)
    replay: dict | None = None          # {"session", "run", "of"} of the earlier capture
    best_frame: int | None = None
    frames: int = 0
    duration_ms: float = 0.0
    fps: float = 0.0
    session_id: str | None = None
    timings_ms: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict:
        return {
            "live": self.live, "ok": self.ok, "reason": self.reason, "detail": self.detail,
            "score": self.score, "match": self.match, "actions": list(self.actions),
            "actions_passed": self.actions_passed, "action_frames": list(self.action_frames),
            "presence": dict(self.presence), "identity": dict(self.identity),
            "track": dict(self.track), "replay": self.replay, "best_frame": self.best_frame,
            "frames": self.frames, "duration_ms": round(self.duration_ms, 1),
            "fps": round(self.fps, 2), "session_id": self.session_id,
            "timings_ms": _ms(self.timings_ms),
        }
