"""Every threshold and limit of the pipeline, in one flat frozen dataclass.

``LivenessPipeline.from_dir(models_dir, **overrides)`` takes these field names as keyword
arguments; the model-specific defaults (``det_score``, ``det_nms_iou``, ``live``,
``match``) come from the manifest's ``thresholds`` tables.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .challenge import ChallengeThresholds
from .imageio import ImageLimits
from .quality import QualityThresholds


@dataclass(frozen=True)
class Settings:
    # detection
    det_side: int = 320             # longest side of the letterboxed detector input
    det_score: float = 0.8
    det_nms_iou: float = 0.3
    refine_face_px: int = 160       # landmark refinement crop (0 disables, see detector)
    decode_side: int = 640          # JPEGs are DCT-downscaled while the longest side stays >= this
    # passive anti-spoofing and matching
    live: float = 0.5               # live probability threshold, per frame and session mean
    match: float = 0.363            # cosine similarity threshold for "same person"
    # quality gates
    min_face_px: float = QualityThresholds.min_face_px
    min_sharpness: float = QualityThresholds.min_sharpness
    min_brightness: float = QualityThresholds.min_brightness
    max_brightness: float = QualityThresholds.max_brightness
    max_saturated: float = QualityThresholds.max_saturated
    max_yaw: float = QualityThresholds.max_yaw
    max_pitch: float = QualityThresholds.max_pitch
    max_roll: float = QualityThresholds.max_roll
    # active challenge
    yaw_delta: float = ChallengeThresholds.yaw_delta
    pitch_delta: float = ChallengeThresholds.pitch_delta
    closer_factor: float = ChallengeThresholds.closer_factor
    baseline_frames: int = ChallengeThresholds.baseline_frames
    # input bounds
    max_bytes: int = ImageLimits.max_bytes
    max_pixels: int = ImageLimits.max_pixels
    max_frames: int = 30
    # clips (liveness.clipsession)
    clip_det_side: int = 192        # detector input for every frame of a clip
    clip_baseline_frames: int = 3   # leading tracked frames whose median is the pose baseline
    clip_identity_frames: int = 5   # frames embedded for the one-person check (with 1 random)
    clip_consistency: float = 0.40  # smallest cosine similarity between any two of them
    clip_spoof_frames: int = 2      # frames given to the passive anti-spoof models
    clip_replay_bits: int = 10      # face-crop pHash distance of a replayed frame
    clip_replay_shape: int = 6      # landmark layout distance (1/100 box) of a replayed frame
    clip_replay_fraction: float = 0.7   # share of the clip's signature matching one capture
    # replay
    replay_ttl: int = 86_400        # seconds a frame's sha256 / pHash is remembered
    near_duplicate_bits: int = 8    # pHash Hamming distance reported as a near duplicate

    def __post_init__(self):
        for name in ("live", "det_score", "det_nms_iou", "max_saturated"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if not -1.0 <= self.match <= 1.0:
            raise ValueError("match must be between -1 and 1")
        for name in ("det_side", "decode_side", "max_bytes", "max_pixels", "max_frames",
                     "replay_ttl", "baseline_frames", "clip_baseline_frames",
                     "clip_identity_frames", "clip_spoof_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.det_side % 32 or self.clip_det_side % 32:
            raise ValueError("det_side and clip_det_side must be multiples of 32")
        if not 0.0 < self.clip_replay_fraction <= 1.0 or not -1.0 <= self.clip_consistency <= 1.0:
            raise ValueError("clip_replay_fraction must be in (0, 1], clip_consistency in [-1, 1]")
        if self.refine_face_px < 0 or self.near_duplicate_bits < 0:
            raise ValueError("refine_face_px and near_duplicate_bits must be >= 0")
        if self.closer_factor <= 1.0:
            raise ValueError("closer_factor must be > 1")

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    def quality(self) -> QualityThresholds:
        return QualityThresholds(**{f.name: getattr(self, f.name) for f in fields(QualityThresholds)})

    def challenge(self) -> ChallengeThresholds:
        return ChallengeThresholds(**{f.name: getattr(self, f.name) for f in fields(ChallengeThresholds)})

    def limits(self) -> ImageLimits:
        return ImageLimits(max_bytes=self.max_bytes, max_pixels=self.max_pixels)
