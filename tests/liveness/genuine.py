"""Genuine clips cut from the shared real videos (``liveness.evaluate.WINDOWS``)."""
from __future__ import annotations

import pytest

from liveness import evaluate
from liveness.evaluate import place_like  # noqa: F401  (re-exported for the tests)

from .clips import VIDEOS, encode


def window(name: str):
    """(frames, fps, actions performed) of a genuine window; skips when the videos are absent."""
    if not (VIDEOS / evaluate.WINDOWS[name][0]).is_file():
        pytest.skip(f"shared videos not found in {VIDEOS} (set IDP_SHARED_DIR)")
    return evaluate.window(name, VIDEOS)


def clip_bytes(name: str, kind: str = "video/mp4") -> bytes:
    frames, fps, _ = window(name)
    return encode(frames, fps, kind)
