"""MediaPipe Face Mesh (468 landmarks) run by onnxruntime.

The model (``models/manifest.toml`` ``[models.mesh]``) takes a square face crop, 192x192 RGB
scaled to 0..1, NHWC, and returns 468 x (x, y, z) in crop pixels, z being a *learned*
relative depth on the x scale (a flat photo still gets a face-shaped z, so z is never used as
evidence of depth: see ``liveness.presence``), plus a face-presence logit.

The crop follows MediaPipe's own face-landmark graph: the detector box's longer side x1.5
around the box centre, rotated upright by the face's roll (the eye line), so a tilted head
gets the upright face the model was trained on.  Points are mapped back to image pixels;
z is scaled like x.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

INPUT_SIZE = 192
CROP_SCALE = 1.5

# Named points of the 468-point topology (MediaPipe's canonical face model; "right" is the
# subject's right, i.e. the image's left in a non-mirrored camera image).
NOSE_TIP = 1
NOSE_BRIDGE = 168
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362
RIGHT_CHEEK, LEFT_CHEEK = 234, 454        # face outline at the cheekbones (toward the ears)
CHIN, FOREHEAD = 152, 10


@dataclass(frozen=True)
class MeshResult:
    points: np.ndarray     # (468, 3) float32: x, y in image pixels, z on the x scale
    presence: float        # face-presence probability (sigmoid of the model's logit)


def roll_from_eyes(landmarks5: np.ndarray) -> float:
    """Roll in degrees (image y down) of the eye line of YuNet's 5 landmarks (right eye first)."""
    (rx, ry), (lx, ly) = landmarks5[0], landmarks5[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_transform(box, roll_deg: float = 0.0, size: int = INPUT_SIZE,
                   scale: float = CROP_SCALE) -> np.ndarray:
    """2x3 affine map from image pixels to the ``size`` x ``size`` crop of ``box``."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * scale
    if not side > 0:
        raise ValueError("the face box is empty")
    m = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), roll_deg, size / side)
    m[:, 2] += (size / 2 - (x + w / 2), size / 2 - (y + h / 2))
    return m


class FaceMesh:
    def __init__(self, session):
        self.session = session
        inp = session.get_inputs()[0]
        if list(inp.shape[1:]) != [INPUT_SIZE, INPUT_SIZE, 3]:
            raise ValueError(f"face mesh input {inp.shape} is not [1, {INPUT_SIZE}, {INPUT_SIZE}, 3]")
        self._input = inp.name
        outputs = session.get_outputs()
        # The point tensor is the one with 1404 = 468 * 3 values; the other is the logit.
        sizes = {o.name: int(np.prod([d for d in o.shape if isinstance(d, int)])) for o in outputs}
        self._points = next(n for n, s in sizes.items() if s == 468 * 3)
        self._logit = next(n for n, s in sizes.items() if s == 1)

    def landmarks(self, image_bgr: np.ndarray, box, roll_deg: float = 0.0) -> np.ndarray:
        """(468, 3) float32 points of the face in ``box`` = (x, y, w, h), in image pixels."""
        return self.run(image_bgr, box, roll_deg).points

    def run(self, image_bgr: np.ndarray, box, roll_deg: float = 0.0) -> MeshResult:
        m = crop_transform(box, roll_deg)
        blob = self._preprocess(image_bgr, m)
        pts, logit = self.session.run([self._points, self._logit], {self._input: blob})
        return self._postprocess(pts, float(np.ravel(logit)[0]), m)

    @staticmethod
    def _preprocess(image_bgr: np.ndarray, m: np.ndarray) -> np.ndarray:
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise ValueError("expected a BGR image")
        crop = cv2.warpAffine(image_bgr, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        return (rgb.astype(np.float32) * (1.0 / 255.0))[None]

    @staticmethod
    def _postprocess(raw: np.ndarray, logit: float, m: np.ndarray) -> MeshResult:
        pts = raw.reshape(468, 3).astype(np.float64)
        inv = cv2.invertAffineTransform(m)
        xy = pts[:, :2] @ inv[:, :2].T + inv[:, 2]
        z = pts[:, 2] * math.hypot(inv[0, 0], inv[0, 1])   # crop -> image scale
        out = np.column_stack([xy, z]).astype(np.float32)
        return MeshResult(out, 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit)))))
