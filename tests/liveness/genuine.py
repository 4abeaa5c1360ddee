"""Genuine clips cut from the shared real videos, and clip attacks built from them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from .clips import VIDEOS, encode, read_frames

# (video, start s, seconds, fps, the actions the person performs in that window, in order)
WINDOWS = {
    "d12": ("lp_d12.mp4", 0.5, 4.0, 25, ["turn_left", "turn_right"]),
    "d3": ("lp_d3.mp4", 7.6, 4.0, 30, ["turn_left"]),
    "d3b": ("lp_d3.mp4", 0.0, 3.5, 30, ["turn_right"]),
    "d9": ("lp_d9.mp4", 6.0, 4.0, 30, ["turn_right"]),
    "d6": ("lp_d6.mp4", 27.0, 4.0, 30, ["turn_left"]),
    "d0": ("lp_d0.mp4", 0.0, 3.1, 25, []),        # a real person who does not move
    "d13": ("lp_d13.mp4", 2.0, 4.0, 30, []),      # a phone selfie, too little motion
}


def window(name: str):
    """(frames, fps, actions) of a genuine window; skips when the videos are absent."""
    video, start, seconds, fps, actions = WINDOWS[name]
    if not (VIDEOS / video).is_file():
        pytest.skip(f"shared videos not found in {VIDEOS} (set IDP_SHARED_DIR)")
    return [f for _, f in read_frames(video, start, seconds)], fps, actions


def clip_bytes(name: str, kind: str = "video/mp4") -> bytes:
    frames, fps, _ = window(name)
    return encode(frames, fps, kind)


def place_like(image: np.ndarray, box_from, box_to, size) -> np.ndarray:
    """``image`` scaled and moved so the face box ``box_from`` lands on ``box_to``, in a
    frame of ``size`` (w, h): how an attacker lines up a spliced face with the track."""
    s = float(box_to[2]) / float(box_from[2])
    cx_f, cy_f = box_from[0] + box_from[2] / 2, box_from[1] + box_from[3] / 2
    cx_t, cy_t = box_to[0] + box_to[2] / 2, box_to[1] + box_to[3] / 2
    m = np.float32([[s, 0, cx_t - s * cx_f], [0, s, cy_t - s * cy_f]])
    return cv2.warpAffine(image, m, size, borderMode=cv2.BORDER_REPLICATE)
