"""The face mesh on the shared photos: points land on the face YuNet found, and a tilted face
is cropped upright (the points follow the rotation)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from liveness.mesh import (LEFT_EYE_INNER, LEFT_EYE_OUTER, NOSE_TIP, RIGHT_EYE_INNER, RIGHT_EYE_OUTER,
                           FaceMesh, crop_transform, roll_from_eyes)

from .transforms import rotate


@pytest.fixture(scope="session")
def mesh(models_dir):
    from liveness.manifest import load_manifest
    from liveness.models import load_verified
    from liveness.runtime import create_session
    spec = load_manifest(models_dir / "manifest.toml")["mesh"]
    return FaceMesh(create_session(load_verified(models_dir, spec)))


def test_crop_transform_centres_the_box():
    m = crop_transform((100, 50, 80, 120), 0.0)
    centre = m[:, :2] @ np.array([140.0, 110.0]) + m[:, 2]
    assert np.allclose(centre, [96, 96])
    assert np.isclose(m[0, 0], 192 / (120 * 1.5))
    with pytest.raises(ValueError):
        crop_transform((0, 0, 0, 0))


@pytest.mark.parametrize("name", ["live_T1", "obama_1", "biden_2", "spoof_print_F1"])
def test_points_on_the_face(mesh, pipeline, face_images, name):
    image = face_images[name]
    face = pipeline.detector.detect(image)[0]
    result = mesh.run(image, face.box, roll_from_eyes(face.landmarks))
    pts = result.points
    assert pts.shape == (468, 3) and pts.dtype == np.float32 and result.presence > 0.9
    iod = np.linalg.norm(face.landmarks[0] - face.landmarks[1])
    assert np.linalg.norm(pts[NOSE_TIP, :2] - face.landmarks[2]) < 0.25 * iod
    # the eye centres (mid-corners) are YuNet's eyes, the subject's right on the image's left
    for outer, inner, yunet in ((RIGHT_EYE_OUTER, RIGHT_EYE_INNER, 0), (LEFT_EYE_OUTER, LEFT_EYE_INNER, 1)):
        centre = (pts[outer, :2] + pts[inner, :2]) / 2
        assert np.linalg.norm(centre - face.landmarks[yunet]) < 0.2 * iod


def test_tilted_face_is_cropped_upright(mesh, pipeline, face_images):
    image = face_images["obama_1"]
    face = pipeline.detector.detect(image)[0]
    upright = mesh.landmarks(image, face.box, roll_from_eyes(face.landmarks))
    tilted = rotate(image, 30)
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    expected = upright[:, :2] @ m[:, :2].T + m[:, 2]
    t_face = pipeline.detector.refine(tilted, pipeline.detector.detect(tilted)[0])
    got = mesh.landmarks(tilted, t_face.box, roll_from_eyes(t_face.landmarks))
    iod = np.linalg.norm(upright[RIGHT_EYE_OUTER, :2] - upright[LEFT_EYE_OUTER, :2])
    assert np.abs(got[:, :2] - expected).mean() < 0.03 * iod
