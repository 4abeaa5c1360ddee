"""The face engine as the OP uses it: one ``LivenessPipeline`` per process, built lazily.

Loading the models takes a second and most processes (CLI commands, the admin console)
never need them, so the pipeline is built on first use, once, under a lock; every request
thread then shares it (onnxruntime sessions are thread-safe).  Missing or mismatched model
files become a 503 for the request, never a 500, and the reason goes to the log once.
"""
from __future__ import annotations

import logging
import threading

from ..errors import ServiceUnavailable

log = logging.getLogger(__name__)


class EngineUnavailable(ServiceUnavailable):
    """Face verification is temporarily unavailable; please try again later."""


class FaceEngine:
    """Lazy, thread-safe holder of the liveness pipeline (``services["liveness"]``)."""

    def __init__(self, models_dir, *, threads: int = 1, live: float = 0.5, match: float = 0.363,
                 factory=None):
        self.models_dir = str(models_dir)
        self.threads = threads
        self.thresholds = {"live": live, "match": match}
        self._factory = factory
        self._pipeline = None
        self._lock = threading.Lock()
        self._failed: str | None = None

    @property
    def pipeline(self):
        pipeline = self._pipeline
        if pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    self._pipeline = self._build()
                pipeline = self._pipeline
        return pipeline

    def _build(self):
        try:
            if self._factory is not None:
                return self._factory()
            from liveness import LivenessPipeline
            return LivenessPipeline.from_dir(self.models_dir, threads=self.threads,
                                             **self.thresholds)
        except Exception as exc:  # model files missing or mismatched, onnxruntime absent
            if self._failed != str(exc):
                log.error("face engine unavailable: %s", exc)
                self._failed = str(exc)
            raise EngineUnavailable() from exc

    def warm_up(self) -> None:
        _ = self.pipeline

    def ready(self) -> bool:
        """For ``/readyz``: the models load (the first call loads them, warming the process);
        False while they are missing or mismatched."""
        try:
            self.warm_up()
        except EngineUnavailable:
            return False
        return True

    # -- what the OP calls ----------------------------------------------------------------
    def decode(self, upload, limits):
        """The ``liveness.Clip`` of an upload (``clipupload.ClipUpload``) within ``limits``
        (``clipupload.UploadLimits``); ``InvalidClip`` with the decoder's reason when it breaks
        a limit or does not decode."""
        from liveness.clip import ClipError, ClipLimits, decode_burst, decode_video
        from .clipupload import InvalidClip
        _ = self.pipeline  # no engine, no decoding: 503 before any work
        clip_limits = ClipLimits(max_bytes=limits.max_bytes, min_duration_ms=limits.min_duration_ms,
                                 max_duration_ms=limits.max_duration_ms)
        try:
            if upload.kind == "video":
                return decode_video(upload.video, clip_limits)
            return decode_burst(upload.frames, clip_limits)
        except ClipError as exc:
            raise InvalidClip(exc.reason, f"the clip was refused: {exc.detail or exc.reason}") from None

    def check_clip(self, clip, *, actions, reference: bytes | None = None, seen=None,
                   session_id=None):
        """Judge one clip; ``reference`` is a stored template (bytes) or None."""
        ref = None if reference is None else self.template_array(reference)
        return self.pipeline.check_clip(clip, list(actions), reference=ref, seen=seen,
                                        session_id=session_id)

    def make_template(self, image: bytes) -> bytes:
        """Registry template bytes (float32[128] little-endian) from a reference photo."""
        array = self.pipeline.make_template(image)
        return array.astype("<f4").tobytes()

    @staticmethod
    def template_array(template: bytes):
        import numpy as np
        return np.frombuffer(template, "<f4").astype(np.float32)

    @staticmethod
    def guided_actions() -> list[str]:
        """The fixed movement of a passive (``face``) check, the same for everyone."""
        from liveness import GUIDED_ACTIONS
        return list(GUIDED_ACTIONS)

    @staticmethod
    def random_actions(n=None) -> list[str]:
        from liveness.challenge import random_actions
        return random_actions(n)

    @staticmethod
    def decoy_template() -> bytes:
        """A random unit vector: unknown persons are compared with it so that every attempt
        costs the same work (no timing oracle), and it matches nobody."""
        import numpy as np
        vector = np.random.default_rng().standard_normal(128).astype(np.float32)
        return (vector / np.linalg.norm(vector)).astype("<f4").tobytes()
