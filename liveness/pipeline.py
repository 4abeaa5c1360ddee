"""``LivenessPipeline``: the models loaded once, shared by every thread.

onnxruntime's ``InferenceSession.run`` is thread-safe and nothing here keeps per-call
state, so one pipeline per process serves all requests.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from . import imageio
from .antispoof import AntiSpoofEnsemble, MiniFASNet
from .config import Settings
from .detector import YuNet
from .embedder import SFace
from .errors import ImageError, TemplateError
from .frame import Analysis, FrameAnalyzer
from .manifest import Manifest, find_manifest, load_manifest
from .mesh import FaceMesh
from .presence import assess
from .models import load_verified
from .replay import SeenFrames
from .clip import Clip
from .clipsession import run_clip
from .results import ClipResult, FrameResult, SessionResult
from .runtime import create_session
from .session import match_dict, run_session

log = logging.getLogger(__name__)


class LivenessPipeline:
    def __init__(self, detector: YuNet, antispoof: AntiSpoofEnsemble, embedder: SFace,
                 settings: Settings | None = None, mesh: FaceMesh | None = None):
        self.settings = settings or Settings()
        self.detector = detector
        self.antispoof = antispoof
        self.embedder = embedder
        self.mesh = mesh     # None: check_clip fails closed (no 3-D check possible)
        self.manifest: Manifest | None = None
        self._frames = FrameAnalyzer(detector, antispoof, embedder, self.settings)

    @classmethod
    def from_dir(cls, models_dir="models", threads: int = 1, **thresholds) -> "LivenessPipeline":
        """Load and verify every model in ``models_dir``; ``thresholds`` are ``Settings``
        fields.  Raises ``ModelMissingError`` naming the model and the install command."""
        unknown = set(thresholds) - Settings.names()
        if unknown:
            raise TypeError(f"unknown threshold(s): {', '.join(sorted(unknown))}")
        t0 = time.perf_counter()
        # OpenCV's own thread pool (resize, optical flow, the FFmpeg decoder) follows the same
        # budget as the models: measured on 4-s clips, its default pool cost 715 ms of CPU per
        # clip against 520-550 ms on one thread, for the same wall time (528 vs 551 ms).  A
        # server runs one engine per worker; the pool is process-wide.
        cv2.setNumThreads(max(1, int(threads)))
        manifest = load_manifest(find_manifest(models_dir))
        defaults = {k: v for spec in manifest.models.values()
                    for k, v in spec.thresholds.items() if k in Settings.names()}
        settings = Settings(**{**defaults, **thresholds})

        def session(key: str):
            return create_session(load_verified(models_dir, manifest[key]), threads)

        detector = YuNet(session("detector"), input_side=settings.det_side,
                         score_threshold=settings.det_score, nms_threshold=settings.det_nms_iou)
        antispoof = AntiSpoofEnsemble([
            MiniFASNet(session(key), float(manifest[key].input["crop_scale"]), name=key)
            for key in ("antispoof_v2", "antispoof_v1se")])
        mesh = FaceMesh(session("mesh")) if "mesh" in manifest.models else None
        pipeline = cls(detector, antispoof, SFace(session("recognizer")), settings, mesh)
        pipeline.manifest = manifest
        log.info("liveness models loaded from %s in %.0f ms", Path(models_dir),
                 (time.perf_counter() - t0) * 1000)
        return pipeline

    def check_frame(self, data: bytes, reference: np.ndarray | None = None) -> FrameResult:
        """One still image: every gate, the passive score, and the match with ``reference``."""
        reference = _reference(reference)
        analysis = self._frames.analyse(data)
        result = analysis.result
        if reference is not None and result.landmarks is not None and result.faces == 1:
            t = time.perf_counter()
            embedding = self._frames.embed(data, result, analysis)
            result.match = match_dict(reference, embedding, self.settings.match)
            result.timings_ms["embed"] = (time.perf_counter() - t) * 1000
            result.timings_ms["total"] += result.timings_ms["embed"]
        return result

    def check_session(self, frames: Sequence[bytes], actions: list[str] | None = None,
                      reference: np.ndarray | None = None, seen: SeenFrames | None = None,
                      session_id: str | None = None) -> SessionResult:
        """A capture session (see ``liveness.session`` for the decision rules)."""
        return run_session(self._frames, frames, actions=actions, reference=_reference(reference),
                           seen=seen, session_id=session_id)

    def check_clip(self, clip: Clip, actions: Sequence[str] = (), reference: np.ndarray | None = None,
                   seen: SeenFrames | None = None, session_id: str | None = None) -> ClipResult:
        """A decoded clip (``liveness.clip.decode_video`` / ``decode_burst``): the only way to
        a live result for a login (see ``liveness.clipsession`` for the decision rules).
        ``actions``: ``GUIDED_ACTIONS`` for the passive level, ``random_actions()`` for the
        active one."""
        return run_clip(self, clip, actions=actions, reference=_reference(reference), seen=seen,
                        session_id=session_id, presence=self._presence())

    def _presence(self):
        """The 3-D check, or None (fail closed) when the manifest has no face mesh."""
        return None if self.mesh is None else assess

    def make_template(self, data: bytes) -> np.ndarray:
        """Reference template (float32[128], unit length) from a photo with exactly one face.

        Raises ``TemplateError`` with ``reason`` bad_image, unsupported_format,
        image_too_large, no_face, multiple_faces or face_too_small.
        """
        s = self.settings
        try:
            decoded = imageio.decode(data, s.limits(), min_side=2 * s.det_side)
        except ImageError as exc:
            raise TemplateError(exc.reason, exc.detail) from None
        # Reference photos vary more than camera frames: detect at twice the usual size.
        faces = self.detector.detect(decoded.image, side=2 * s.det_side)
        if not faces:
            raise TemplateError("no_face", "no face found in the photo")
        if len(faces) > 1:
            raise TemplateError("multiple_faces", f"{len(faces)} faces in the photo")
        face = faces[0]
        if s.refine_face_px:
            face = self.detector.refine(decoded.image, face, face_px=s.refine_face_px)
        full = face.scaled(decoded.reduction)
        if full.box[2] < 32:
            raise TemplateError("face_too_small", f"face is {full.box[2]:.0f} px wide")
        result = FrameResult(True, None, faces=1, box=list(full.box), landmarks=full.landmarks.tolist(),
                             width=decoded.width, height=decoded.height)
        return self._frames.embed(data, result, Analysis(result, None, decoded.image, decoded.reduction))

    def compare(self, a: np.ndarray, b: np.ndarray) -> dict:
        """``{"similarity", "same"}`` for two templates."""
        return match_dict(_reference(a), _reference(b), self.settings.match)


def _reference(reference) -> np.ndarray | None:
    if reference is None:
        return None
    ref = np.asarray(reference, dtype=np.float32)
    if ref.ndim != 1 or ref.size == 0 or not np.all(np.isfinite(ref)):
        raise ValueError("reference must be a finite 1-d template (see make_template)")
    return ref

