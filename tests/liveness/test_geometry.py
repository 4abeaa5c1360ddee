"""Pure geometry on synthetic arrays: no data, no models."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from liveness.geometry import (ARCFACE_112, alignment_matrix, face_scale, head_pose, iou,
                               letterbox, nms, silent_face_box, umeyama)

# A generic 3D face (x to the subject's left = image right when facing the camera, y up,
# z toward the camera): eye centres, nose tip, mouth corners, in the landmark order
# right eye, left eye, nose, right mouth corner, left mouth corner.
FACE_3D = np.array([[-31, 32.7, -28], [31, 32.7, -28], [0, 0, 0],
                    [-28.9, -28.9, -24.1], [28.9, -28.9, -24.1]], float)


def project(yaw=0.0, pitch=0.0, roll=0.0, scale=3.0, centre=(320, 240)) -> np.ndarray:
    """Orthographic image of FACE_3D turned by yaw (toward the image's right = user's left),
    pitched up by pitch, then rotated clockwise in the image by roll (degrees)."""
    y, p = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    pts = FACE_3D @ (ry @ rx).T
    img = np.stack([pts[:, 0], -pts[:, 1]], axis=1) * scale  # image y points down
    r = math.radians(roll)
    rot = np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])
    return img @ rot.T + np.array(centre)


def test_letterbox_dynamic():
    lb = letterbox(640, 480, side=320)
    assert (lb.width, lb.height, lb.input_width, lb.input_height) == (320, 240, 320, 256)
    assert lb.scale == pytest.approx(0.5)
    lb = letterbox(480, 640, side=320)
    assert (lb.width, lb.height, lb.input_width, lb.input_height) == (240, 320, 256, 320)
    lb = letterbox(100, 3000, side=320)
    assert lb.input_width % 32 == 0 and lb.input_width >= lb.width >= 1


def test_letterbox_fixed():
    lb = letterbox(1280, 720, fixed=(640, 640))
    assert (lb.width, lb.height, lb.input_width, lb.input_height) == (640, 360, 640, 640)
    assert lb.scale == pytest.approx(0.5)


def test_iou_and_nms():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10], [0, 0, 10, 10]], float)
    assert iou(boxes[0], boxes[[0, 2]]) == pytest.approx([1.0, 0.0])
    assert iou(boxes[0], boxes[[1]])[0] == pytest.approx(81 / 119)
    scores = np.array([0.9, 0.95, 0.8, 0.3])
    assert nms(boxes, scores, 0.3) == [1, 2]
    assert nms(boxes, scores, 0.9) == [1, 0, 2]   # 0 and 3 are identical: one survives
    assert nms(boxes[:0], scores[:0], 0.3) == []


def test_silent_face_box_inside():
    # 100x100 box at (200, 200) in a 1000x1000 image, x2.7 -> 270x270 about the centre
    assert silent_face_box(1000, 1000, (200, 200, 100, 100), 2.7) == (115, 115, 385, 385)


def test_silent_face_box_shifts_instead_of_clipping():
    left, top, right, bottom = silent_face_box(640, 480, (0, 0, 100, 100), 2.7)
    assert (left, top) == (0, 0)
    assert (right, bottom) == (270, 270)  # keeps its size, moved inside
    left, top, right, bottom = silent_face_box(640, 480, (580, 420, 60, 60), 2.0)
    assert (right, bottom) == (639, 479) and (right - left, bottom - top) == (120, 120)


def test_silent_face_box_scale_capped_by_image():
    # x4 of a 200-px box does not fit 480 px: the scale drops to (480-1)/200
    left, top, right, bottom = silent_face_box(640, 480, (220, 140, 200, 200), 4.0)
    assert bottom - top == pytest.approx(479, abs=1)
    assert 0 <= left and right <= 639 and 0 <= top and bottom <= 479


@settings(max_examples=60, deadline=None)
@given(angle=st.floats(-math.pi, math.pi), scale=st.floats(0.2, 5.0),
       tx=st.floats(-300, 300), ty=st.floats(-300, 300))
def test_umeyama_recovers_similarity(angle, scale, tx, ty):
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    m = np.array([[c, -s, tx], [s, c, ty]])
    src = ARCFACE_112 * 2.3 + 17
    dst = src @ m[:, :2].T + m[:, 2]
    assert np.allclose(umeyama(src, dst), m, atol=1e-6)


def test_umeyama_agrees_with_opencv_on_noisy_points():
    rng = np.random.default_rng(3)
    src = ARCFACE_112 * 3 + rng.normal(0, 2, ARCFACE_112.shape) + 100
    m_ours = umeyama(src, ARCFACE_112)
    m_cv, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), ARCFACE_112.astype(np.float32),
                                          method=cv2.LMEDS)
    assert np.allclose(m_ours, m_cv, atol=1e-3)


def test_alignment_maps_landmarks_onto_template():
    landmarks = project(yaw=0, scale=2.0, centre=(400, 300))
    m = alignment_matrix(landmarks)
    mapped = landmarks @ m[:, :2].T + m[:, 2]
    assert np.abs(mapped - ARCFACE_112).max() < 6  # a generic face is close to the template


def test_frontal_pose_is_near_zero():
    p = head_pose(project())
    assert abs(p.yaw) < 1 and abs(p.pitch) < 2 and abs(p.roll) < 1e-6


@pytest.mark.parametrize("yaw", [-40, -25, -10, 10, 25, 40])
def test_yaw_sign_and_size(yaw):
    # yaw > 0: the face turns toward the image's right, i.e. the user's own left
    assert head_pose(project(yaw=yaw)).yaw == pytest.approx(yaw, abs=4)


@pytest.mark.parametrize("pitch", [-25, -10, 10, 25])
def test_pitch_sign_and_size(pitch):
    assert head_pose(project(pitch=pitch)).pitch == pytest.approx(pitch, abs=4)


@pytest.mark.parametrize("roll", [-60, -20, 5, 30, 80])
def test_roll_and_rotation_invariance(roll):
    p = head_pose(project(yaw=15, pitch=-10, roll=roll))
    assert p.roll == pytest.approx(roll, abs=1e-6)
    assert p.yaw == pytest.approx(15, abs=4) and p.pitch == pytest.approx(-10, abs=4)


def test_pose_is_scale_invariant():
    a = head_pose(project(yaw=20, pitch=5, scale=1.0))
    b = head_pose(project(yaw=20, pitch=5, scale=9.0))
    assert a.yaw == pytest.approx(b.yaw) and a.pitch == pytest.approx(b.pitch)


def test_mirroring_flips_yaw_sign():
    lm = project(yaw=25)
    mirrored = lm.copy()
    mirrored[:, 0] = 640 - mirrored[:, 0]
    mirrored = mirrored[[1, 0, 2, 4, 3]]  # a detector labels the image-left eye as landmark 0
    assert head_pose(mirrored).yaw == pytest.approx(-head_pose(lm).yaw)


def test_face_scale():
    assert face_scale((0, 0, 40, 90)) == pytest.approx(60.0)
    assert face_scale((0, 0, -1, 5)) == 0.0
