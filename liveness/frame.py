"""One frame: decode -> detect (+ landmark refinement) -> quality gates -> passive anti-spoof.

Everything is measured on the decoded "analysis" image (a JPEG may be DCT-downscaled, see
``imageio``); boxes and landmarks are reported in full-resolution upright pixels.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import numpy as np

from . import imageio, quality
from .antispoof import AntiSpoofEnsemble
from .config import Settings
from .detector import Face, YuNet
from .embedder import SFace
from .errors import ImageError
from .replay import phash
from .results import FrameResult

# Embeddings are taken from an image where the face is at least this wide (2x the crop).
_EMBED_FACE_PX = 224


@dataclass
class Analysis:
    result: FrameResult
    phash: int | None = None          # perceptual hash, when asked for
    image: np.ndarray | None = None   # the decoded analysis image (not kept by sessions)
    reduction: int = 1


def _primary(faces: list[Face]) -> Face:
    return max(faces, key=lambda f: f.box[2] * f.box[3])


class FrameAnalyzer:
    def __init__(self, detector: YuNet, antispoof: AntiSpoofEnsemble, embedder: SFace,
                 settings: Settings):
        self.detector = detector
        self.antispoof = antispoof
        self.embedder = embedder
        self.settings = settings
        self._quality = settings.quality()
        self._limits = settings.limits()

    def analyse(self, data: bytes, pose_gate: bool = True, want_phash: bool = False) -> Analysis:
        """The frame's result, with its perceptual hash when ``want_phash``."""
        s = self.settings
        t0 = time.perf_counter()
        sha = hashlib.sha256(data).hexdigest() if isinstance(data, (bytes, bytearray)) else ""
        try:
            decoded = imageio.decode(data, self._limits, min_side=s.decode_side)
        except ImageError as exc:
            return Analysis(FrameResult(False, exc.reason, sha256=sha, detail=exc.detail,
                                        timings_ms={"decode": _ms(t0), "total": _ms(t0)}))
        t1 = time.perf_counter()
        image, k = decoded.image, decoded.reduction
        faces = self.detector.detect(image)
        res = FrameResult(False, None, faces=len(faces), width=decoded.width,
                          height=decoded.height, format=decoded.format, sha256=sha)
        out = Analysis(res, phash(image) if want_phash else None, image, k)
        if not faces:
            res.reason = "no_face"
            res.timings_ms = {"decode": _ms(t0, t1), "detect": _ms(t1), "total": _ms(t0)}
            return out
        face = _primary(faces)
        if s.refine_face_px:
            face = self.detector.refine(image, face, face_px=s.refine_face_px)
        t2 = time.perf_counter()
        q = quality.measure(self.embedder.align(image, face.landmarks), face.landmarks,
                            face_px=float(face.box[2]) * k)
        res.reason = "multiple_faces" if len(faces) > 1 else quality.gate(q, self._quality, pose_gate)
        t3 = time.perf_counter()
        res.scores = self.antispoof.scores(image, face.box)
        res.score = float(np.mean(list(res.scores.values())))
        if res.reason is None and res.score < s.live:
            res.reason = "spoof"
        res.live = res.reason is None
        full = face.scaled(k)
        res.det_score = face.score
        res.box = [float(v) for v in full.box]
        res.landmarks = [[float(x), float(y)] for x, y in full.landmarks]
        res.quality = q.to_dict()
        res.timings_ms = {"decode": _ms(t0, t1), "detect": _ms(t1, t2), "quality": _ms(t2, t3),
                          "antispoof": _ms(t3), "total": _ms(t0)}
        return out

    def embed(self, data: bytes, res: FrameResult, analysis: Analysis | None = None) -> np.ndarray:
        """SFace embedding of the face found in ``res``, from an image where the face is at
        least 224 px wide when the original allows it: the analysis image when it is good
        enough, else ``data`` decoded again at a higher resolution."""
        face_px = max(res.box[2], 1.0)
        image, k = None, 1
        if analysis is not None and analysis.image is not None:
            image, k = analysis.image, analysis.reduction
        if image is None or (k > 1 and face_px / k < _EMBED_FACE_PX):
            longest = max(res.width, res.height)
            min_side = min(longest, math.ceil(longest * _EMBED_FACE_PX / face_px))
            decoded = imageio.decode(data, self._limits, min_side=min_side)
            image, k = decoded.image, decoded.reduction
        return self.embedder.embed(image, np.asarray(res.landmarks, np.float64) / k)


def _ms(start: float, end: float | None = None) -> float:
    return ((time.perf_counter() if end is None else end) - start) * 1000.0
