"""Clip builders for the tests: encode frames to MP4/WebM, cut windows of the shared videos."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .conftest import SHARED

VIDEOS = SHARED / "data" / "videos"
FOURCC = {"video/mp4": ("mp4v", ".mp4"), "video/webm": ("VP80", ".webm"),
          "video/webm;vp9": ("VP90", ".webm")}


def encode(frames, fps: float = 30.0, kind: str = "video/mp4") -> bytes:
    """Encode BGR ``frames`` (all one size) at a constant ``fps``."""
    fourcc, ext = FOURCC[kind]
    h, w = frames[0].shape[:2]
    fd, path = tempfile.mkstemp(suffix=ext)
    os.close(fd)
    try:
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        assert writer.isOpened(), f"no {fourcc} encoder"
        for f in frames:
            writer.write(np.ascontiguousarray(f))
        writer.release()
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def read_frames(name: str, start_s: float = 0.0, seconds: float | None = None):
    """(t_ms from ``start_s``, BGR) of a shared video's frames in [start_s, start_s + seconds)."""
    cap = cv2.VideoCapture(str(VIDEOS / name))
    out = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if t < start_s:
            continue
        if seconds is not None and t >= start_s + seconds:
            break
        out.append(((t - start_s) * 1000.0, image))
    cap.release()
    return out


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
