"""Geometric and photometric transforms of the shared photos, to make test inputs."""
from __future__ import annotations

import math

import cv2
import numpy as np


def rotate_plane(image: np.ndarray, centre, focal: float, yaw_deg: float = 0.0,
                 pitch_deg: float = 0.0) -> np.ndarray:
    """Perspective image of the photo's plane rotated about ``centre`` and seen by a pinhole
    camera of focal length ``focal`` (pixels): the flat-photo stand-in for a head turn.
    Negative ``yaw_deg`` turns the face toward the image's right (the user's left);
    positive ``pitch_deg`` tips the top away (looking down)."""
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    a = 100.0
    square = np.float32([[-a, -a], [a, -a], [a, a], [-a, a]])
    pts = (ry @ rx @ np.c_[square, np.zeros(4)].T).T
    moved = np.float32([[focal * x / (focal + z), focal * yy / (focal + z)] for x, yy, z in pts])
    c = np.float32(centre)
    h = cv2.getPerspectiveTransform(square + c, moved + c)
    return cv2.warpPerspective(image, h, (image.shape[1], image.shape[0]),
                               borderMode=cv2.BORDER_REPLICATE)


def zoom(image: np.ndarray, centre, factor: float) -> np.ndarray:
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), 0, factor)
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    h = min(a.shape[0], b.shape[0])
    resize = lambda im: cv2.resize(im, (round(im.shape[1] * h / im.shape[0]), h))
    return np.hstack([resize(a), resize(b)])
