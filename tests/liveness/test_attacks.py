"""The attack-clip generators (liveness/attacks.py) on a synthetic picture: clip timing and
size, the time profile, and that each warp moves the picture the way its recipe says."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from liveness import attacks


@pytest.fixture(scope="module")
def picture():
    rng = np.random.default_rng(3)
    img = cv2.resize(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (320, 240),
                     interpolation=cv2.INTER_NEAREST)
    return img, np.array([110.0, 60.0, 100.0, 120.0])


def test_profile_holds_then_moves():
    assert attacks.profile(0) == 0 and attacks.profile(700) == 0
    assert attacks.profile(1600) == pytest.approx(1.0) and attacks.profile(5000) == pytest.approx(1.0)
    assert attacks.profile(1150) == pytest.approx(0.5)
    assert attacks.profile(2500, swing="out_back") == pytest.approx(0.0)
    assert attacks.profile(3400, swing="both") == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        attacks.profile(0, swing="sideways")


def test_clip_timing_and_size(picture):
    img, box = picture
    clip = attacks.still(img, box, duration_ms=3000, fps=15)
    assert len(clip) == 46 and clip[-1][0] == pytest.approx(3000)
    assert all(f.shape == img.shape and f.dtype == np.uint8 for _, f in clip)
    held = attacks.zoom(img, box, background=attacks.textured_background(400, 300))
    assert held[0][1].shape == (300, 400, 3)


def test_plane_homography_is_identity_at_rest_and_foreshortens():
    h0 = attacks.plane_homography((100, 80), 500)
    assert np.allclose(h0, np.eye(3))
    h = attacks.plane_homography((100, 80), 500, yaw_deg=30)
    pts = cv2.perspectiveTransform(np.float64([[[60, 80], [140, 80]]]), h)[0]
    assert (pts[1, 0] - pts[0, 0]) < 80 * math.cos(math.radians(30)) * 1.05


@pytest.mark.parametrize("kind", ["perspective_turn", "cylinder_turn", "smooth_warp", "tps_turn",
                                  "squeeze_nod", "zoom"])
def test_each_warp_moves_the_face_and_starts_frontal(picture, kind):
    img, box = picture
    clip = getattr(attacks, kind)(img, box, noise=0, jpeg=None)
    first, held, last = clip[0][1], clip[9][1], clip[-1][1]
    assert np.array_equal(first, held)                         # held still for the first 700 ms
    if kind != "cylinder_turn":                                # (a print bent round a cylinder)
        assert np.abs(first.astype(int) - img).mean() < 1.0   # ... and frontal
    x, y, w, h = box.astype(int)
    face0, face1 = first[y:y + h, x:x + w].astype(int), last[y:y + h, x:x + w].astype(int)
    assert np.abs(face1 - face0).mean() > 5.0                  # then the face moves


def test_photo_moved_keeps_the_room_still(picture):
    img, box = picture
    room = attacks.textured_background(400, 300, seed=4)
    clip = attacks.photo_moved(img, room, box, noise=0, jpeg=None)
    first, last = clip[0][1], clip[-1][1]
    corner = (slice(0, 40), slice(0, 40))
    assert np.array_equal(first[corner], room[corner]) and np.array_equal(last[corner], room[corner])
    assert np.abs(last[100:200, 150:250].astype(int) - first[100:200, 150:250]).mean() > 5.0


def test_noise_and_jpeg_change_every_frame(picture):
    img, box = picture
    clip = attacks.still(img, box, noise=3, jpeg=70)
    assert not np.array_equal(clip[1][1], clip[2][1])


def test_variations_cover_every_kind(picture):
    img, box = picture
    kinds = {k for k, _, _ in attacks.variations(img, box)}
    assert kinds == {"perspective_turn", "perspective_nod", "cylinder_turn", "smooth_warp", "tps_turn",
                     "squeeze_nod", "zoom", "photo_moved", "still"}
    quick = attacks.variations(img, box, quick=True)
    assert len(quick) < len(attacks.variations(img, box))
    kind, params, make = quick[0]
    assert isinstance(params, dict) and len(make()) == 46


def test_fit_shrinks_image_and_box(picture):
    img, box = picture
    big = cv2.resize(img, (1280, 960))
    small, sbox = attacks.fit(big, box * 4, max_side=640)
    assert small.shape[:2] == (480, 640) and np.allclose(sbox, box * 2)
