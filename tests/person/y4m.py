"""Y4M videos for Chromium's fake camera (``--use-file-for-fake-video-capture``).

A still photo is not a camera: consecutive captures of a still video would be byte-identical
and rejected as replays, so every video frame gets a small shift and a little sensor noise.
``timeline`` holds (seconds, image) segments: a video whose head moves through the actions.
"""
from __future__ import annotations

import numpy as np

FPS = 30


def _jitter(img, k: int, rng):
    import cv2
    dx, dy = (k % 3) - 1, ((k // 3) % 3) - 1
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    moved = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    noise = rng.integers(-2, 3, size=moved.shape, dtype=np.int16)
    return np.clip(moved.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def write_y4m(path, timeline: list[tuple[float, np.ndarray]], seed: int = 1) -> None:
    import cv2
    rng = np.random.default_rng(seed)
    h, w = timeline[0][1].shape[:2]
    assert w % 2 == 0 and h % 2 == 0
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        k = 0
        for seconds, img in timeline:
            for _ in range(max(1, round(seconds * FPS))):
                frame = _jitter(img, k, rng)
                fh.write(b"FRAME\n")
                fh.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
                k += 1
