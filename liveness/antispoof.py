"""Passive anti-spoofing: MiniFASNetV2 and MiniFASNetV1SE (Silent-Face-Anti-Spoofing).

Each model sees the face box scaled about its centre (x2.7 for V2, x4.0 for V1SE) with the
Silent-Face crop rule, resized to 80x80, BGR 0-255 without normalisation; softmax over 3
classes, class 1 = live.  The ensemble averages the live probabilities.
"""
from __future__ import annotations

import cv2
import numpy as np

from .geometry import silent_face_box


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class MiniFASNet:
    LIVE_CLASS = 1

    def __init__(self, session, crop_scale: float, name: str = "minifasnet"):
        self.session = session
        inp = session.get_inputs()[0]
        self._input = inp.name
        self._size = (int(inp.shape[3]), int(inp.shape[2]))  # (w, h) for cv2.resize
        self.crop_scale = crop_scale
        self.name = name

    def live_probability(self, image: np.ndarray, box) -> float:
        return self._postprocess(self.infer(self._preprocess(image, box)))

    def _preprocess(self, image: np.ndarray, box) -> np.ndarray:
        h, w = image.shape[:2]
        left, top, right, bottom = silent_face_box(w, h, box, self.crop_scale)
        crop = cv2.resize(image[top:bottom + 1, left:right + 1], self._size)
        return crop.transpose(2, 0, 1)[None].astype(np.float32)

    def infer(self, blob: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: blob})[0]

    def _postprocess(self, logits: np.ndarray) -> float:
        return float(softmax(logits[0])[self.LIVE_CLASS])


class AntiSpoofEnsemble:
    def __init__(self, models: list[MiniFASNet]):
        self.models = models

    def scores(self, image: np.ndarray, box) -> dict[str, float]:
        """Live probability per model."""
        return {m.name: m.live_probability(image, box) for m in self.models}
