"""Texture points for the 3-D check (liveness/flow.py): chosen tile by tile so that weakly
textured skin gets points beside the strong edges of glasses or brows."""
from __future__ import annotations

import cv2
import numpy as np

from liveness import flow


def _scene(seed: int = 0) -> np.ndarray:
    """Faint skin-like noise everywhere, a high-contrast pattern (a glasses rim) top left."""
    rng = np.random.default_rng(seed)
    image = np.full((200, 200), 128, np.float32) + rng.normal(0, 4, (200, 200))
    image = cv2.GaussianBlur(image, (0, 0), 1.2)
    for k in range(0, 80, 8):                      # strong corners only in the top-left tile
        cv2.rectangle(image, (10 + k, 10 + k // 2), (14 + k, 14 + k // 2), 0, -1)
        cv2.rectangle(image, (14 + k, 30 + k // 2), (18 + k, 34 + k // 2), 255, -1)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_tiled_features_cover_weak_texture_that_the_strongest_corners_leave_empty():
    image, mask = _scene(), np.full((200, 200), 255, np.uint8)
    plain = flow.features(image, mask, 40, 6.0)
    tiled = flow.tiled_features(image, mask, 40, 6.0, tiles=4)
    lower_right = lambda p: ((p[:, 0] > 100) & (p[:, 1] > 100)).sum()
    assert lower_right(plain) <= 2                 # the rim's corners take (nearly) every point
    assert lower_right(tiled) >= 8                 # a quarter of the face keeps its share
    assert len(tiled) <= 16 * 3                   # ceil(40 / 16) a tile


def test_tiled_features_stay_inside_the_mask_and_the_image():
    image = _scene(1)
    mask = np.zeros((200, 200), np.uint8)
    cv2.circle(mask, (120, 90), 60, 255, -1)
    pts = flow.tiled_features(image, mask, 60, 5.0, tiles=4)
    assert len(pts) > 20
    xi, yi = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
    assert ((xi >= 0) & (xi < 200) & (yi >= 0) & (yi < 200)).all()
    assert (mask[np.clip(yi, 0, 199), np.clip(xi, 0, 199)] == 255).mean() > 0.95
    assert len(flow.tiled_features(image, np.zeros_like(mask), 60, 5.0)) == 0
