"""Clip builders for the tests: encode frames to MP4/WebM (``liveness.evaluate.encode``),
synthetic moving frames for the limit tests."""
from __future__ import annotations

import cv2
import numpy as np

from liveness.evaluate import encode  # noqa: F401  (re-exported for the tests)

from .conftest import SHARED

VIDEOS = SHARED / "data" / "videos"


def moving_frames(n: int = 90, size=(320, 240)):
    """Synthetic frames that all differ (a moving square), for limit tests."""
    w, h = size
    out = []
    for i in range(n):
        f = np.full((h, w, 3), 90, np.uint8)
        x = 10 + (i * 3) % (w - 60)
        cv2.rectangle(f, (x, 60), (x + 40, 120), (20, 200, 240), -1)
        cv2.putText(f, str(i), (10, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        out.append(f)
    return out
