"""Pure geometry: letterboxing, NMS, crops, 5-point alignment and head pose.

Landmark order is YuNet's: 0 right eye, 1 left eye, 2 nose tip, 3 right mouth corner,
4 left mouth corner, where right/left are the *subject's*, so in a non-mirrored camera
image landmark 0 is on the image's left.  Boxes are ``(x, y, w, h)`` floats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# ArcFace/SFace 112x112 template (the same points as OpenCV's FaceRecognizerSF::alignCrop).
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)

# Head-pose constants from a generic 3D 5-point face (eye centres (+-150, 170, -130), nose tip
# at the origin, mouth corners (+-150, -150, -125)): under orthographic projection the nose
# offset from the face midline is 0.425 * inter-ocular distance * tan(yaw), and the nose sits
# 0.53 of the way from the eye line to the mouth line when frontal, moving by
# 130/320 * tan(pitch).  The frontal ratio also depends on the person, which is why the
# active challenge measures pitch relative to the session's own first frame.
_YAW_DEPTH = 0.425
_PITCH_T0 = 0.53
_PITCH_GAIN = 320.0 / 130.0


@dataclass(frozen=True)
class Letterbox:
    scale: float   # network pixels per image pixel
    width: int     # resized image size inside the network input
    height: int
    input_width: int   # network input size (padded right/bottom)
    input_height: int


def letterbox(width: int, height: int, side: int | None = None, stride: int = 32,
              fixed: tuple[int, int] | None = None) -> Letterbox:
    """Fit ``width x height`` into a network input, top-left anchored.

    ``fixed=(w, h)`` for a graph with a fixed input size; otherwise the longest side becomes
    ``side`` and the input is padded up to a multiple of ``stride``.
    """
    if fixed is not None:
        scale = min(fixed[0] / width, fixed[1] / height)
        nw, nh = max(1, round(width * scale)), max(1, round(height * scale))
        return Letterbox(scale, min(nw, fixed[0]), min(nh, fixed[1]), fixed[0], fixed[1])
    scale = side / max(width, height)
    nw, nh = max(1, round(width * scale)), max(1, round(height * scale))
    return Letterbox(scale, nw, nh, -(-nw // stride) * stride, -(-nh // stride) * stride)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y2 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, top_k: int = 5000) -> list[int]:
    """Greedy non-maximum suppression; indices of kept boxes, best first."""
    order = list(np.argsort(-scores, kind="stable")[:top_k])
    keep = []
    while order:
        best = order.pop(0)
        keep.append(int(best))
        if order:
            rest = np.array(order)
            order = list(rest[iou(boxes[best], boxes[rest]) <= iou_threshold])
    return keep


def silent_face_box(img_w: int, img_h: int, box, scale: float) -> tuple[int, int, int, int]:
    """Silent-Face-Anti-Spoofing's crop (``CropImage._get_new_box``): inclusive l, t, r, b.

    The box is scaled about its centre (the scale capped so it fits the image), then shifted
    back inside the image rather than clipped, so the crop keeps its context.
    """
    x, y, bw, bh = (float(v) for v in box)
    bw, bh = max(bw, 1.0), max(bh, 1.0)
    scale = min((img_h - 1) / bh, (img_w - 1) / bw, scale)
    nw, nh = bw * scale, bh * scale
    cx, cy = x + bw / 2, y + bh / 2
    left, top, right, bottom = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if left < 0:
        right -= left
        left = 0
    if top < 0:
        bottom -= top
        top = 0
    if right > img_w - 1:
        left -= right - img_w + 1
        right = img_w - 1
    if bottom > img_h - 1:
        top -= bottom - img_h + 1
        bottom = img_h - 1
    return int(left), int(top), int(right), int(bottom)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) src -> dst.

    Umeyama (1991), as in scikit-image's SimilarityTransform; returns a 2x3 matrix.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sc, dc = src - mu_s, dst - mu_d
    cov = dc.T @ sc / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rot = u @ np.diag(d) @ vt
    var = (sc ** 2).sum() / len(src)
    scale = (s * d).sum() / var if var > 0 else 1.0
    t = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, t[:, None]])


def alignment_matrix(landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """2x3 matrix warping an image so ``landmarks`` land on the ArcFace template."""
    return umeyama(landmarks, ARCFACE_112 * (size / 112.0))


@dataclass(frozen=True)
class Pose:
    yaw: float    # degrees; > 0 = turned toward the image's right = the user's LEFT (non-mirrored)
    pitch: float  # degrees; > 0 = looking up
    roll: float   # degrees; > 0 = clockwise in the image (the image-right eye lower)


def head_pose(landmarks: np.ndarray) -> Pose:
    """Approximate head pose from the 5 landmarks (see the constants above)."""
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    eyes = lm[1] - lm[0]
    roll = math.atan2(eyes[1], eyes[0])
    c, s = math.cos(-roll), math.sin(-roll)
    eye_mid = (lm[0] + lm[1]) / 2
    p = (lm - eye_mid) @ np.array([[c, s], [-s, c]])  # rotate by -roll about the eye midpoint
    iod = max(p[1, 0] - p[0, 0], 1e-6)
    mouth_mid = (p[3] + p[4]) / 2
    midline_x = mouth_mid[0] / 2  # halfway between the eye midpoint (x=0) and the mouth midpoint
    yaw = math.atan2(p[2, 0] - midline_x, _YAW_DEPTH * iod)
    span = mouth_mid[1] if abs(mouth_mid[1]) > 1e-6 else 1e-6
    pitch = math.atan((_PITCH_T0 - p[2, 1] / span) * _PITCH_GAIN)
    return Pose(math.degrees(yaw), math.degrees(pitch), math.degrees(roll))


def face_scale(box) -> float:
    """Size of a face box, robust to turning: the geometric mean of width and height."""
    return math.sqrt(max(float(box[2]), 0.0) * max(float(box[3]), 0.0))
