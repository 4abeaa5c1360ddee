"""Image-texture tracking for the presence decision: pyramidal Lucas-Kanade optical flow
(Bouguet's implementation in OpenCV) chained through the clip's frames.

Why texture and not landmarks: a landmark model places points where a face *should* be
(its depth and even its 2-D points follow a learned prior), so a warped photo still gets a
face-shaped landmark motion.  Texture points (skin pores, nostrils, eyebrow hairs, background
corners) move exactly as the pixels move, so they show whether the pixels moved like one
plane, like a smooth warp, or like a 3-D head.

Frames are tracked at an analysis scale where the inter-ocular distance is about
``iod_px`` pixels (cheap, and the same accuracy in face units whatever the camera), in
grey levels.  Every hop is checked forward-backward: a point whose backward track misses
its start by more than ``fb_px`` is dropped from then on (occluded, or on a moving edge).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

_LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)


@dataclass
class Tracks:
    """Positions (in original frame pixels) of the points tracked from ``frames[0]``."""

    frames: list[int]          # the frame indices the chain visited, in order
    points: np.ndarray         # (len(frames), n, 2) float32
    alive: np.ndarray          # (len(frames), n) bool: tracked consistently up to that frame


def grey(image: np.ndarray, scale: float) -> np.ndarray:
    g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    if abs(scale - 1.0) > 1e-3:
        g = cv2.resize(g, (max(1, round(g.shape[1] * scale)), max(1, round(g.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    return g


def features(grey_image: np.ndarray, mask: np.ndarray, count: int, spacing: float) -> np.ndarray:
    """Shi-Tomasi corners inside ``mask`` (same size as the image), at least ``spacing`` apart."""
    pts = cv2.goodFeaturesToTrack(grey_image, maxCorners=count, qualityLevel=0.001,
                                  minDistance=max(1.0, spacing), mask=mask, blockSize=5)
    return np.zeros((0, 2), np.float32) if pts is None else pts.reshape(-1, 2).astype(np.float32)


def track_chain(greys: Sequence[np.ndarray], start: np.ndarray, guesses: Sequence[np.ndarray | None],
                window: int = 15, levels: int = 3, fb_px: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Track ``start`` (analysis pixels, in ``greys[0]``) through ``greys`` hop by hop.

    ``guesses[k]`` (or None) is a 2x3 affine map predicting hop k's motion (from the
    detector's landmarks): LK starts from it, so fast head motion does not leave the
    pyramid's reach.  Returns positions (len(greys), n, 2) and alive flags (len(greys), n).
    """
    n = len(start)
    pos = np.zeros((len(greys), n, 2), np.float32)
    alive = np.zeros((len(greys), n), bool)
    pos[0], alive[0] = start, True
    win = (window, window)
    for k in range(1, len(greys)):
        prev = pos[k - 1]
        guess = guesses[k - 1]
        init = prev.copy() if guess is None else (prev @ guess[:, :2].T + guess[:, 2]).astype(np.float32)
        nxt, st, _ = cv2.calcOpticalFlowPyrLK(greys[k - 1], greys[k], prev, init.copy(), winSize=win,
                                              maxLevel=levels, criteria=_LK_CRITERIA,
                                              flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        back, st2, _ = cv2.calcOpticalFlowPyrLK(greys[k], greys[k - 1], nxt, prev.copy(), winSize=win,
                                                maxLevel=levels, criteria=_LK_CRITERIA,
                                                flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        fb = np.linalg.norm(back - prev, axis=1)
        ok = (st.ravel() == 1) & (st2.ravel() == 1) & (fb < fb_px)
        h, w = greys[k].shape[:2]
        ok &= (nxt[:, 0] >= 0) & (nxt[:, 0] < w) & (nxt[:, 1] >= 0) & (nxt[:, 1] < h)
        alive[k] = alive[k - 1] & ok
        pos[k] = np.where(alive[k][:, None], nxt, prev)
    return pos, alive
