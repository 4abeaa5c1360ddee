"""Image-texture tracking for the presence decision: pyramidal Lucas-Kanade optical flow
(Bouguet's implementation in OpenCV) from a reference frame into the clip's other frames.

Why texture and not landmarks: a landmark model places points where a face *should* be
(its depth and even its 2-D points follow a learned prior), so a warped photo still gets a
face-shaped landmark motion.  Texture points (skin pores, nostrils, eyebrow hairs, background
corners) move exactly as the pixels move, so they show whether the pixels moved like one
plane, like a smooth warp, or like a 3-D head.

Points are tracked from the reference frame straight into each later frame (not chained
through the frames in between: a chain drifts and loses most points within a second of a
turn, which left too few cheek points to measure against), starting from where the
detector's landmarks predict them, in grey levels at the capture's own resolution (capped
by ``PresenceSettings.iod_px``).  Every track is checked forward-backward: a point whose
backward track misses its start by more than ``fb_px`` is not used in that frame
(occluded, or on a moving edge).
"""
from __future__ import annotations

import cv2
import numpy as np

_LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)


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


def tiled_features(grey_image: np.ndarray, mask: np.ndarray, count: int, spacing: float,
                   tiles: int = 4) -> np.ndarray:
    """``features`` chosen tile by tile: the mask's bounding box cut in ``tiles`` x ``tiles``,
    up to ``count / tiles**2`` corners in each, the strongest of that tile first.  Corner
    strength is relative to the strongest corner searched, so over a whole face the edges of
    glasses, brows and eyelashes take every point and leave smooth cheeks with none; a field
    fitted to points above the nose only is then extrapolated to it, not interpolated."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.zeros((0, 2), np.float32)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    per = max(1, -(-count // (tiles * tiles)))
    pad = 3  # the corner measure looks 2 px beyond a pixel: give the tile's edge its context
    out = []
    for a in range(tiles):
        for b in range(tiles):
            tx0, tx1 = x0 + (x1 - x0) * b // tiles, x0 + (x1 - x0) * (b + 1) // tiles
            ty0, ty1 = y0 + (y1 - y0) * a // tiles, y0 + (y1 - y0) * (a + 1) // tiles
            if tx1 <= tx0 or ty1 <= ty0 or not mask[ty0:ty1, tx0:tx1].any():
                continue
            cx0, cy0 = max(0, tx0 - pad), max(0, ty0 - pad)
            crop = grey_image[cy0:ty1 + pad, cx0:tx1 + pad]
            sub = np.zeros(crop.shape[:2], np.uint8)
            sub[ty0 - cy0:ty1 - cy0, tx0 - cx0:tx1 - cx0] = mask[ty0:ty1, tx0:tx1]
            out.append(features(np.ascontiguousarray(crop), sub, per, spacing) + np.float32([cx0, cy0]))
    return np.vstack(out) if out else np.zeros((0, 2), np.float32)


def track_pair(g0: np.ndarray, g1: np.ndarray, pts: np.ndarray, guess: np.ndarray | None,
               window: int = 11, levels: int = 3, fb_px: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Track ``pts`` (analysis pixels in ``g0``) into ``g1`` in one hop.

    ``guess`` (or None) is a 2x3 affine map predicting the motion (from the detector's
    landmarks): LK starts from it, so a head that moved far since ``g0`` is still within the
    pyramid's reach.  Returns the positions and the flags of the points that tracked
    consistently (both directions found, back within ``fb_px`` of the start, inside the frame).
    """
    pts = pts.astype(np.float32)
    init = pts.copy() if guess is None else (pts @ guess[:, :2].T + guess[:, 2]).astype(np.float32)
    win = (window, window)
    flags = cv2.OPTFLOW_USE_INITIAL_FLOW
    nxt, st, _ = cv2.calcOpticalFlowPyrLK(g0, g1, pts, init, winSize=win, maxLevel=levels,
                                          criteria=_LK_CRITERIA, flags=flags)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(g1, g0, nxt, pts.copy(), winSize=win, maxLevel=levels,
                                            criteria=_LK_CRITERIA, flags=flags)
    ok = (st.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm(back - pts, axis=1) < fb_px)
    h, w = g1.shape[:2]
    ok &= (nxt[:, 0] >= 0) & (nxt[:, 0] < w) & (nxt[:, 1] >= 0) & (nxt[:, 1] < h)
    return np.where(ok[:, None], nxt, pts), ok
