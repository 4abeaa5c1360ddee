"""Quality gates: one face, large enough, sharp, well exposed, roughly frontal.

Measurements are taken on the face aligned to 112x112 (the embedding crop), so blur and
exposure numbers do not depend on the camera resolution or the face's distance.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .geometry import Pose, head_pose


@dataclass(frozen=True)
class QualityThresholds:
    min_face_px: float = 80.0         # face box width, full-resolution pixels
    min_sharpness: float = 40.0       # variance of the Laplacian on the aligned 112x112 face
    min_brightness: float = 50.0      # mean gray level of the aligned face, 0-255
    max_brightness: float = 215.0
    max_saturated: float = 0.30       # fraction of aligned-face pixels at >= 250
    max_yaw: float = 35.0             # degrees (the shared live sample is turned ~29)
    max_pitch: float = 25.0
    max_roll: float = 25.0


@dataclass(frozen=True)
class Quality:
    face_px: float
    sharpness: float
    brightness: float
    saturated: float
    yaw: float
    pitch: float
    roll: float

    def to_dict(self) -> dict:
        return {k: float(v) for k, v in asdict(self).items()}

    @property
    def pose(self) -> Pose:
        return Pose(self.yaw, self.pitch, self.roll)


def measure(aligned_bgr: np.ndarray, landmarks: np.ndarray, face_px: float) -> Quality:
    gray = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_32F).var())
    pose = head_pose(landmarks)
    return Quality(face_px=float(face_px), sharpness=sharpness, brightness=float(gray.mean()),
                   saturated=float(np.count_nonzero(gray >= 250)) / gray.size,
                   yaw=pose.yaw, pitch=pose.pitch, roll=pose.roll)


def gate(q: Quality, t: QualityThresholds, check_pose: bool = True) -> str | None:
    """The first failing gate's reason code, or None.  Exposure is checked before blur:
    a dark face also has a flat Laplacian and "too_dark" is the useful message."""
    if q.face_px < t.min_face_px:
        return "face_too_small"
    if q.brightness < t.min_brightness:
        return "too_dark"
    if q.brightness > t.max_brightness or q.saturated > t.max_saturated:
        return "overexposed"
    if q.sharpness < t.min_sharpness:
        return "blurred"
    if check_pose and (abs(q.yaw) > t.max_yaw or abs(q.pitch) > t.max_pitch
                       or abs(q.roll) > t.max_roll):
        return "bad_pose"
    return None
