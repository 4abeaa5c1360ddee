"""Fixtures for the liveness tests.

The shared face images and model files live beside the repository (``../shared``, or
``$IDP_SHARED_DIR``); tests that need them skip with a message naming the folder when it is
absent.  Tests of decoding, geometry, challenges, replay and the installer build their own
inputs and never skip.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("IDP_SHARED_DIR", ROOT.parent / "shared"))
FACES = SHARED / "data" / "faces"
SHARED_MODELS = SHARED / "models"
NAMES = ("live_T1", "spoof_print_F1", "spoof_screen_F2", "obama_1", "obama_2", "biden_1", "biden_2")


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not all((FACES / f"{n}.jpg").is_file() for n in NAMES):
        pytest.skip(f"shared face images not found in {FACES} (set IDP_SHARED_DIR)")
    return FACES


@pytest.fixture(scope="session")
def face_bytes(faces_dir):
    return {n: (faces_dir / f"{n}.jpg").read_bytes() for n in NAMES}


@pytest.fixture(scope="session")
def face_images(faces_dir):
    """Upright BGR arrays (EXIF applied) of the shared images."""
    return {n: cv2.imread(str(faces_dir / f"{n}.jpg"), cv2.IMREAD_COLOR) for n in NAMES}


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """The runnable models, installed once into a temporary directory from ../shared/models."""
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"shared model files not found in {SHARED_MODELS} (set IDP_SHARED_DIR)")
    from liveness.errors import ModelInstallError
    from liveness.models import install
    target = tmp_path_factory.mktemp("models")
    try:
        install(target, from_dirs=[SHARED_MODELS])
    except ModelInstallError as exc:
        pytest.skip(f"cannot install the models from {SHARED_MODELS}: {exc}")
    return target


@pytest.fixture(scope="session")
def pipeline(models_dir):
    from liveness import LivenessPipeline
    return LivenessPipeline.from_dir(models_dir, threads=1)


def jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()
