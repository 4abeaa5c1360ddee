"""YuNet face detector run by onnxruntime, decoded in numpy.

Two stages.  ``detect`` runs the whole image letterboxed to ``input_side`` (320 by default:
cheap, and enough to find and count faces).  YuNet's landmarks are poor when the face is
small in its input and for tilted faces (measured on the shared photos rotated by
+-45 degrees: mean roll error 16 degrees at 320), so ``refine`` re-runs it on a 256x256 crop
where the face is ~160 px wide, rotated upright by the current roll estimate when it is
tilted, up to three times until the roll settles (mean error 1.9 degrees, max 6.6).  An
upright face needs one pass.

Mirrors OpenCV's ``FaceDetectorYN`` post-processing (objdetect/src/face_detect.cpp): for
each stride s in 8, 16, 32 and each cell (row r, column c) of the padded input,
score = sqrt(cls * obj), centre = ((c, r) + bbox[:2]) * s,
size = exp(bbox[2:]) * s, landmark k = ((c, r) + kps[2k:2k+2]) * s; then NMS.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import head_pose, letterbox, nms

STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class Face:
    box: np.ndarray        # (x, y, w, h) in image pixels
    landmarks: np.ndarray  # (5, 2): right eye, left eye, nose, right/left mouth corner
    score: float

    def scaled(self, factor: float) -> "Face":
        return Face(self.box * factor, self.landmarks * factor, self.score)


class YuNet:
    def __init__(self, session, input_side: int = 320, score_threshold: float = 0.8,
                 nms_threshold: float = 0.3, top_k: int = 100):
        self.session = session
        inp = session.get_inputs()[0]
        self._input = inp.name
        h, w = inp.shape[2], inp.shape[3]
        # A graph with a fixed input size is letterboxed into that size; a symbolic one runs
        # at `input_side` on the longest side.
        self._fixed = (w, h) if isinstance(w, int) and isinstance(h, int) else None
        self._outputs = [o.name for o in session.get_outputs()]
        self.input_side = input_side
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k

    def detect(self, image: np.ndarray, side: int | None = None) -> list[Face]:
        """Faces in a BGR uint8 image, best score first, in that image's coordinates."""
        blob, lb = self._preprocess(image, side or self.input_side)
        return self._postprocess(self.infer(blob), lb)

    def refine(self, image: np.ndarray, face: Face, face_px: int = 160, crop: int = 256,
               max_passes: int = 3, upright_deg: float = 10.0, tolerance_deg: float = 3.0) -> Face:
        """Re-detect ``face`` on a crop where it is ``face_px`` wide (see module doc).

        The crop is rotated upright only when the face is tilted by more than
        ``upright_deg``; passes repeat while the crop's rotation would change by more than
        ``tolerance_deg``.  An upright face takes one pass.
        """
        if self._fixed is not None:
            return face  # a fixed-size graph cannot run on the crop
        roll = head_pose(face.landmarks).roll
        angle = roll if abs(roll) > upright_deg else 0.0
        for _ in range(max_passes):
            found = self._detect_in_crop(image, face, angle, face_px, crop)
            if found is None:
                return face
            face = found
            roll = head_pose(face.landmarks).roll
            following = roll if abs(roll) > upright_deg else 0.0
            if abs(following - angle) < tolerance_deg:
                break
            angle = following
        return face

    def _detect_in_crop(self, image, face: Face, roll: float, face_px: int, crop: int) -> Face | None:
        x, y, w, h = face.box
        cx, cy = x + w / 2, y + h / 2
        scale = min(face_px / max(w, 1.0), 0.9 * crop / max(h, 1.0))
        m = cv2.getRotationMatrix2D((float(cx), float(cy)), float(roll), float(scale))
        m[:, 2] += (crop / 2 - cx, crop / 2 - cy)
        patch = cv2.warpAffine(image, m, (crop, crop), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
        faces = self.detect(patch, side=crop)
        if not faces:
            return None
        centres = [f.box[:2] + f.box[2:] / 2 for f in faces]
        best = faces[int(np.argmin([np.hypot(*(c - crop / 2)) for c in centres]))]
        inv = cv2.invertAffineTransform(m)
        centre = inv[:, :2] @ (best.box[:2] + best.box[2:] / 2) + inv[:, 2]
        size = best.box[2:] / scale
        return Face(np.concatenate([centre - size / 2, size]),
                    best.landmarks @ inv[:, :2].T + inv[:, 2], best.score)

    def _preprocess(self, image: np.ndarray, side: int):
        h, w = image.shape[:2]
        lb = letterbox(w, h, side, fixed=self._fixed)
        resized = image if (lb.width, lb.height) == (w, h) else cv2.resize(
            image, (lb.width, lb.height), interpolation=cv2.INTER_LINEAR)
        if (lb.width, lb.height) != (lb.input_width, lb.input_height):
            resized = cv2.copyMakeBorder(resized, 0, lb.input_height - lb.height, 0,
                                         lb.input_width - lb.width, cv2.BORDER_CONSTANT, value=0)
        return resized.transpose(2, 0, 1)[None].astype(np.float32), lb

    def infer(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(self._outputs, self.session.run(self._outputs, {self._input: blob})))

    def _postprocess(self, out: dict[str, np.ndarray], lb) -> list[Face]:
        boxes, scores, marks = [], [], []
        for s in STRIDES:
            cols = lb.input_width // s
            # cls and obj leave sigmoids, so sqrt(cls * obj) >= t  <=>  cls * obj >= t^2
            product = out[f"cls_{s}"][0, :, 0] * out[f"obj_{s}"][0, :, 0]
            idx = np.flatnonzero(product >= self.score_threshold ** 2)
            if idx.size == 0:
                continue
            cell = np.stack([idx % cols, idx // cols], axis=1).astype(np.float32)
            b = out[f"bbox_{s}"][0, idx]
            centre = (cell + b[:, :2]) * s
            size = np.exp(b[:, 2:4]) * s
            boxes.append(np.concatenate([centre - size / 2, size], axis=1))
            marks.append((out[f"kps_{s}"][0, idx].reshape(-1, 5, 2) + cell[:, None, :]) * s)
            scores.append(np.sqrt(np.clip(product[idx], 0, 1)))
        if not boxes:
            return []
        boxes_a = np.concatenate(boxes).astype(np.float64) / lb.scale
        marks_a = np.concatenate(marks).astype(np.float64) / lb.scale
        scores_a = np.concatenate(scores).astype(np.float64)
        keep = nms(boxes_a, scores_a, self.nms_threshold)[: self.top_k]
        return [Face(boxes_a[i], marks_a[i], float(scores_a[i])) for i in keep]
