"""SFace face embeddings: 5-point alignment to 112x112, RGB 0-255, L2-normalised output.

Checked against OpenCV's ``FaceRecognizerSF``: its ``alignCrop`` is the same similarity
transform onto the ArcFace template, and ``feature`` calls ``blobFromImage(aligned, 1,
(112, 112), 0, swapRB=true)``, i.e. RGB without scaling; the graph normalises itself.
"""
from __future__ import annotations

import cv2
import numpy as np

from .geometry import alignment_matrix


class SFace:
    def __init__(self, session):
        self.session = session
        inp = session.get_inputs()[0]
        self._input = inp.name
        self.size = int(inp.shape[3])
        self.dim = int(session.get_outputs()[0].shape[1])

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The aligned BGR face crop (size x size)."""
        m = alignment_matrix(landmarks, self.size)
        return cv2.warpAffine(image, m, (self.size, self.size), flags=cv2.INTER_LINEAR)

    def embed(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """float32[dim], unit length."""
        return self._postprocess(self.infer(self._preprocess(image, landmarks)))

    def _preprocess(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(self.align(image, landmarks), cv2.COLOR_BGR2RGB)
        return rgb.transpose(2, 0, 1)[None].astype(np.float32)

    def infer(self, blob: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: blob})[0]

    @staticmethod
    def _postprocess(raw: np.ndarray) -> np.ndarray:
        v = raw.reshape(-1).astype(np.float32)
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0
