"""Real faces for the end-to-end tests: the shared photos and the frames made from them.

The repository has one live capture (live_T1) and press photos.  A passive session is
imitated by small shifts and re-encodings of live_T1 (so every frame has other bytes); an
active one by perspective warps of it that move the landmarks the way each head movement
does (the technique of tests/liveness/test_session.py).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("IDP_SHARED_DIR", ROOT.parent / "shared"))
FACES = SHARED / "data" / "faces"
SHARED_MODELS = SHARED / "models"


def need_faces() -> Path:
    if not (FACES / "live_T1.jpg").is_file():
        pytest.skip(f"shared face images not found in {FACES} (set IDP_SHARED_DIR)")
    return FACES


def models_dir(tmp_factory) -> Path:
    """The repository's models/ when installed and verified, else a fresh install from
    ../shared/models; skip when neither is possible."""
    from liveness.models import install, verify
    local = ROOT / "models"
    try:
        if all(s.ok for s in verify(local)):
            return local
    except Exception:
        pass
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"face models are not installed and {SHARED_MODELS} is absent")
    target = tmp_factory.mktemp("models")
    try:
        install(target, from_dirs=[SHARED_MODELS])
    except Exception as exc:
        pytest.skip(f"cannot install the face models from {SHARED_MODELS}: {exc}")
    return target


def warm_engine(tmp_factory):
    """A FaceEngine on the real models, loaded and warmed (skips where they are absent)."""
    from idp.person.engine import FaceEngine
    need_faces()
    engine = FaceEngine(models_dir(tmp_factory))
    engine.warm_up()
    return engine


def read(name: str) -> bytes:
    return (need_faces() / f"{name}.jpg").read_bytes()


def image(name: str):
    import cv2
    return cv2.imread(str(need_faces() / f"{name}.jpg"), cv2.IMREAD_COLOR)


def jpeg(img, quality: int = 90) -> bytes:
    import cv2
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def shift(img, dx: int, dy: int):
    import cv2
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def still_frames(name: str, count: int = 3, salt: int = 0) -> list[bytes]:
    """``count`` frames of one photo, each shifted a little: other bytes, the same face."""
    img = image(name)
    return [jpeg(shift(img, i + salt, -(i + salt) // 2), 92 - i - salt % 5) for i in range(count)]


def landmarks(engine, img) -> np.ndarray:
    return np.array(engine.pipeline.check_frame(jpeg(img)).landmarks)


def action_frames(engine, actions: list[str], salt: int = 0) -> list[bytes]:
    """A frontal frame of live_T1, then one warped frame per action, in order."""
    from tests.liveness.transforms import rotate_plane, zoom
    img = image("live_T1")  # the warps are tuned on this exact photo: vary only the encoding
    lm = landmarks(engine, img)
    centre, eyes = lm[[0, 1, 3, 4]].mean(axis=0), (lm[0] + lm[1]) / 2
    iod = float(np.linalg.norm(lm[1] - lm[0]))
    poses = {"turn_left": lambda: rotate_plane(img, centre, 1.5 * iod, yaw_deg=-20),
             "turn_right": lambda: rotate_plane(img, centre, 1.5 * iod, yaw_deg=30),
             "look_down": lambda: rotate_plane(img, centre, 2.0 * iod, pitch_deg=25),
             "look_up": lambda: rotate_plane(img, eyes, 0.8 * iod, pitch_deg=-30),
             "move_closer": lambda: zoom(img, centre, 1.3)}
    # The look_up warp is the fragile one: below JPEG quality ~87 YuNet loses that face.
    q = 93 - 2 * (salt % 2)  # 93 and 91 give clean tracks for every action order
    return [jpeg(img, q)] + [jpeg(poses[a](), q - 1 - i) for i, a in enumerate(actions)]
