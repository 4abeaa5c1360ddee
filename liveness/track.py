"""The face track of a clip: one face, followed frame to frame without a jump or a cut.

Every kept frame (``Clip.frames``) is run through YuNet at a low input size (``side``, 192 by
default: ~3 ms a frame on one core, and the faces of a selfie clip are 60-120 px in it).  The
track is the face nearest to the previous one; then:

- ``no_face``: fewer than half of the frames have a face;
- ``multiple_faces``: more than ``max_multi`` frames show a second face;
- ``face_lost``: the face is missing for longer than ``max_missing_ms`` at a stretch, or it
  jumps between two tracked frames: its centre moves, its size changes or its landmarks move
  (within the box) faster than a head can.  The allowances grow with the time between the two
  frames (a dropped frame is not a cut) and sit above the largest steps measured on the
  shared real clips (see ``Continuity``).  A cut to another video or a picture swapped in
  front of the camera moves the box or the landmarks in one step more than a head does,
  unless the attacker lines the two up: that splice is for the identity check to refuse
  (``liveness.identity``), not for this one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .clip import Clip
from .detector import Face, YuNet
from .geometry import head_pose


@dataclass(frozen=True)
class Continuity:
    # per-step allowance = base + rate * (dt / 100 ms); distances in face widths
    # largest steps measured at 192 px on the shared real clips (kept frames 33-120 ms apart):
    # centre 0.49 (lp_d12, a fast head shake, 80 ms), size 0.08, landmarks 0.25
    centre_base: float = 0.20
    centre_rate: float = 0.60
    size_base: float = 0.10        # |log(width ratio)|
    size_rate: float = 0.10
    landmark_base: float = 0.20    # largest landmark move, in box-normalised units
    landmark_rate: float = 0.20
    max_missing_ms: float = 400.0
    max_multi: int = 2


@dataclass
class Track:
    faces: list[Face | None]                  # the tracked face per kept frame (analysis pixels)
    counts: list[int]                         # faces found per frame
    reason: str | None = None
    detail: str = ""
    steps: dict = field(default_factory=dict)  # largest step measured (for the audit trail)

    @property
    def tracked(self) -> list[int]:
        return [i for i, f in enumerate(self.faces) if f is not None]


def _centre(face: Face) -> np.ndarray:
    x, y, w, h = face.box
    return np.array([x + w / 2, y + h / 2])


def _normalised(face: Face) -> np.ndarray:
    x, y, w, h = face.box
    return (face.landmarks - np.array([x, y])) / np.array([w, h])


def step(a: Face, b: Face) -> tuple[float, float, float]:
    """(centre move in face widths, |log size ratio|, largest box-normalised landmark move)."""
    width = (a.box[2] + b.box[2]) / 2
    centre = float(np.linalg.norm(_centre(b) - _centre(a)) / max(width, 1.0))
    size = abs(math.log(max(b.box[2], 1.0) / max(a.box[2], 1.0)))
    marks = float(np.max(np.linalg.norm(_normalised(b) - _normalised(a), axis=1)))
    return centre, size, marks


def _nearest(faces: list[Face], last: Face | None) -> Face:
    if last is None:
        return max(faces, key=lambda f: f.box[2] * f.box[3])
    return min(faces, key=lambda f: float(np.linalg.norm(_centre(f) - _centre(last))))


def follow(detector: YuNet, clip: Clip, side: int = 192, c: Continuity = Continuity()) -> Track:
    track = Track([], [])
    last = None
    for frame in clip.frames:
        faces = detector.detect(frame.image, side=side)
        track.counts.append(len(faces))
        face = _nearest(faces, last) if faces else None
        track.faces.append(face)
        last = face or last
    times = [f.t_ms for f in clip.frames]
    n = len(track.faces)
    found = track.tracked
    if len(found) * 2 < n:
        track.reason, track.detail = "no_face", f"a face in {len(found)} of {n} frames"
        return track
    multi = sum(1 for k in track.counts if k > 1)
    if multi > c.max_multi:
        track.reason, track.detail = "multiple_faces", f"{multi} frames show more than one face"
        return track
    worst = {"centre": 0.0, "size": 0.0, "landmarks": 0.0}
    # frames before the first face and after the last count as missing too
    edges = [(-1, found[0]), (found[-1], n)] if found else []
    for i, j in list(zip(found, found[1:])) + edges:
        t_i = times[i] if i >= 0 else times[0]
        t_j = times[j] if j < n else times[-1]
        if j - i > 1 and t_j - t_i > c.max_missing_ms:
            track.reason, track.detail = "face_lost", f"no face for {t_j - t_i:.0f} ms at {t_i:.0f} ms"
            return track
    for i, j in zip(found, found[1:]):
        dt = (times[j] - times[i]) / 100.0
        moved = step(track.faces[i], track.faces[j])
        limits = (c.centre_base + c.centre_rate * dt, c.size_base + c.size_rate * dt,
                  c.landmark_base + c.landmark_rate * dt)
        for name, value, limit in zip(worst, moved, limits):
            worst[name] = max(worst[name], value / limit)
            if value > limit:
                track.reason = "face_lost"
                track.detail = f"the face jumps between {times[i]:.0f} and {times[j]:.0f} ms ({name})"
    track.steps = {k: round(v, 3) for k, v in worst.items()}  # 1.0 = at the allowance
    return track


def pose(face: Face) -> tuple[float, float]:
    p = head_pose(face.landmarks)
    return p.yaw, p.pitch
