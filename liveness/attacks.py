"""Attack clips made from ONE still photo: what an attacker with only a victim's photo and
the public code can feed the clip login.  Pure functions (numpy + OpenCV, no models), used by
the presence tests, ``liveness.evaluate`` and ``liveness.presence_eval`` to measure the
decision rule.  How a clip is presented (time profile, injection or a print held in a room,
camera noise) is ``liveness.attack_render``; its names are re-exported here.

Angles are degrees; a positive yaw moves the face's right side (the image's left) away from
the camera.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import cv2
import numpy as np

from .attack_render import (Clip, Warp, face_geometry, fit, plane_homography, profile,  # noqa: F401
                            render, textured_background, similarity)


def perspective_turn(image, box=None, yaw_deg: float = 25.0, pitch_deg: float = 0.0,
                     focal_factor: float = 1.2, **present) -> Clip:
    """The photo tilted like a turning head: the plane rotated by ``yaw_deg`` about the vertical
    axis through the face (and ``pitch_deg`` about the horizontal one: a nod), seen with a
    focal length of ``focal_factor`` x the image width (short = strong perspective)."""
    cx, cy, _, _ = face_geometry(image, box)
    focal = focal_factor * image.shape[1]
    return render(image, lambda p: plane_homography((cx, cy), focal, p * yaw_deg, p * pitch_deg),
                  box, **present)


def perspective_nod(image, box=None, pitch_deg: float = 20.0, focal_factor: float = 1.2, **present) -> Clip:
    """The photo tipped about the horizontal axis through the face: a flat 'nod'."""
    return perspective_turn(image, box, 0.0, pitch_deg, focal_factor, **present)


def cylinder_turn(image, box=None, yaw_deg: float = 25.0, radius_factor: float = 0.8, **present) -> Clip:
    """The photo bent round a vertical cylinder of radius ``radius_factor`` x the face width
    through the face, turned by ``yaw_deg``.

    Recipe (orthographic, remap from output to source): an output column x with
    s = (x - cx) / R inside the cylinder shows the photo column u = cx + R (asin(s) - phi),
    phi the turn; rows are scaled by the depth factor f / (f + R (1 - cos asin(s))) so the
    receding side shrinks a little; outside the cylinder the flat photo continues, shifted
    so that the columns join at the cylinder's edges.
    """
    cx, cy, fw, _ = face_geometry(image, box)
    h, w = image.shape[:2]
    radius = radius_factor * fw
    focal = 1.2 * w
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)

    def warp(p: float):
        phi = math.radians(p * yaw_deg)
        s = (xs - cx) / radius
        inside = np.abs(s) < 1
        theta = np.arcsin(np.clip(s, -1, 1))
        u = np.where(inside, cx + radius * (theta - phi),
                     np.where(s >= 1, xs + radius * (math.pi / 2 - phi - 1),
                              xs + radius * (-math.pi / 2 - phi + 1)))
        depth = np.where(inside, focal / (focal + radius * (1 - np.cos(theta))), 1.0)
        map_x = np.broadcast_to(u[None, :], (h, w)).astype(np.float32)
        map_y = (cy + (ys[:, None] - cy) / depth[None, :]).astype(np.float32)
        return map_x, map_y

    return render(image, warp, box, **present)


def _tps_field(ctrl: np.ndarray, disp: np.ndarray, shape, step: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Thin-plate spline (kernel r^2 log r) through ``ctrl`` with values ``disp``, evaluated
    on a grid every ``step`` pixels and resized to ``shape``: (dx, dy)."""
    n = len(ctrl)

    def kernel(a, b):
        r2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.where(r2 > 0, 0.5 * r2 * np.log(np.maximum(r2, 1e-12)), 0.0)

    a = np.zeros((n + 3, n + 3))
    a[:n, :n] = kernel(ctrl, ctrl)
    a[:n, n] = 1
    a[:n, n + 1:] = ctrl
    a[n, :n] = 1
    a[n + 1:, :n] = ctrl.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = disp
    coef = np.linalg.solve(a, rhs)
    h, w = shape
    gy, gx = np.mgrid[0:h + step:step, 0:w + step:step].astype(np.float64)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    field = kernel(grid, ctrl) @ coef[:n] + coef[n] + grid @ coef[n + 1:]
    out = []
    for k in range(2):
        coarse = field[:, k].reshape(gx.shape).astype(np.float32)
        full = cv2.resize(coarse, (coarse.shape[1] * step, coarse.shape[0] * step), interpolation=cv2.INTER_LINEAR)
        out.append(full[:h, :w])
    return out[0], out[1]


def smooth_warp(image, box=None, amplitude: float = 0.15, points: int = 8, spread: float = 0.8,
                seed: int = 0, **present) -> Clip:
    """A random thin-plate warp: ``points`` control points scattered over the face (within
    ``spread`` x the face size of its centre) move by random vectors of up to ``amplitude``
    x the face width, the image corners stay; the warp grows with the time profile."""
    cx, cy, fw, fh = face_geometry(image, box)
    h, w = image.shape[:2]
    rng = np.random.default_rng(seed + 7919)
    ctrl = np.column_stack([cx + rng.uniform(-spread, spread, points) * fw / 2,
                            cy + rng.uniform(-spread, spread, points) * fh / 2])
    ctrl = np.vstack([ctrl, [[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]]])
    disp = np.vstack([rng.uniform(-1, 1, (points, 2)) * amplitude * fw, np.zeros((4, 2))])
    dx, dy = _tps_field(ctrl, disp, (h, w))
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return render(image, lambda p: (gx - p * dx, gy - p * dy), box, **present)


def tps_turn(image, box=None, yaw_deg: float = 25.0, **present) -> Clip:
    """A thin-plate 'turn' driven by the face box alone: control points on a 5x3 grid over
    the face are pushed sideways as the columns of a turning ellipse of the face's width
    (x = a sin(asin(x0 / a) - phi)), the image corners stay.  Smooth: the nose moves with
    its neighbours (no parallax)."""
    cx, cy, fw, fh = face_geometry(image, box)
    h, w = image.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    half = 0.6 * fw
    offsets = [(fx * fw, fy * fh) for fx in np.linspace(-0.6, 0.6, 5) for fy in (-0.5, 0.0, 0.5)]
    ctrl = np.vstack([[(cx + ox, cy + oy) for ox, oy in offsets],
                      [[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]]])

    def warp(p: float):
        phi = math.radians(p * yaw_deg)
        disp = np.zeros((len(ctrl), 2))
        for i, (ox, _) in enumerate(offsets):
            disp[i, 0] = half * math.sin(math.asin(max(-1.0, min(1.0, ox / half))) - phi) - ox
        dx, dy = _tps_field(ctrl, disp, (h, w))
        return gx - dx, gy - dy

    return render(image, warp, box, **present)


def squeeze_nod(image, box=None, squeeze: float = 0.8, drop: float = 0.15, **present) -> Clip:
    """A 'nod' by vertical squeeze: rows scaled by ``squeeze`` about the face centre while the
    face drops by ``drop`` x its height (looking down)."""
    cx, cy, _, fh = face_geometry(image, box)

    def warp(p: float) -> np.ndarray:
        s = 1.0 - (1.0 - squeeze) * abs(p)
        return np.array([[1, 0, 0], [0, s, cy * (1 - s) + p * drop * fh], [0, 0, 1.0]])

    return render(image, warp, box, **present)


def zoom(image, box=None, factor: float = 1.35, drift=(0.0, 0.0), **present) -> Clip:
    """'Moving closer': the picture scaled by up to ``factor`` about the face centre, with a
    ``drift`` of the face (fractions of its width) while it grows."""
    cx, cy, fw, _ = face_geometry(image, box)
    return render(image, lambda p: similarity((cx, cy), 1 + (factor - 1) * p, 0.0,
                                               (p * drift[0] * fw, p * drift[1] * fw)), box, **present)


def photo_moved(image, background: np.ndarray, box=None, shift=(0.35, 0.1), yaw_deg: float = 15.0,
                roll_deg: float = 5.0, scale: float = 1.2, focal_factor: float = 1.2, **present) -> Clip:
    """A print (or phone) held in front of a static camera and moved: translated by ``shift``
    face widths, turned by ``yaw_deg``, rolled by ``roll_deg`` and brought closer by
    ``scale``, over the static ``background``."""
    cx, cy, fw, _ = face_geometry(image, box)
    focal = focal_factor * image.shape[1]
    return render(image, lambda p: plane_homography(
        (cx, cy), focal, p * yaw_deg, 0.0, p * roll_deg, 1 + (scale - 1) * p,
        (p * shift[0] * fw, p * shift[1] * fw)), box, background=background, **present)


def still(image, box=None, **present) -> Clip:
    """The photo repeated, only camera noise and JPEG differ (``noise``, ``jpeg``, ``shake_px``)."""
    return render(image, lambda p: np.eye(3), box, **present)


# ---- the sweep an evaluation runs --------------------------------------------------------

def variations(image: np.ndarray, box=None, background: np.ndarray | None = None,
               quick: bool = False) -> list[tuple[str, dict, Callable[[], Clip]]]:
    """(kind, parameters, make) for every attack kind and a sweep of its parameters; ``make()``
    builds the clip.  ``background`` (default: ``textured_background``) is the room the held
    photo is moved in; ``quick`` keeps one or two variants per kind."""
    bg = background if background is not None else textured_background(seed=1)
    table: list[tuple[str, Callable, Sequence[dict]]] = [
        ("perspective_turn", perspective_turn, [
            {"yaw_deg": 25}, {"yaw_deg": -25, "swing": "both"}, {"yaw_deg": 15, "focal_factor": 0.6},
            {"yaw_deg": 40, "ramp_ms": 500}, {"yaw_deg": 30, "pitch_deg": 10, "noise": 6, "jpeg": 60},
            {"yaw_deg": 25, "background": bg, "shake_px": 1.5}]),
        ("perspective_nod", perspective_nod, [
            {"pitch_deg": 20}, {"pitch_deg": -25, "focal_factor": 0.7, "swing": "out_back"}]),
        ("cylinder_turn", cylinder_turn, [
            {"yaw_deg": 25}, {"yaw_deg": -30, "radius_factor": 0.6}, {"yaw_deg": 20, "radius_factor": 1.2},
            {"yaw_deg": 35, "swing": "both", "ramp_ms": 700}, {"yaw_deg": 25, "background": bg}]),
        ("smooth_warp", smooth_warp, [
            {"amplitude": 0.1}, {"amplitude": 0.2, "seed": 1}, {"amplitude": 0.3, "points": 14, "seed": 2},
            {"amplitude": 0.15, "spread": 0.4, "seed": 3}]),
        ("tps_turn", tps_turn, [{"yaw_deg": 25}, {"yaw_deg": -35, "swing": "both"}]),
        ("squeeze_nod", squeeze_nod, [{"squeeze": 0.8}, {"squeeze": 0.65, "drop": 0.25, "swing": "out_back"}]),
        ("zoom", zoom, [{"factor": 1.35}, {"factor": 1.6, "drift": (0.2, 0.1)},
                        {"factor": 1.3, "background": bg, "shake_px": 1.0}]),
        ("photo_moved", lambda im, box, **kw: photo_moved(im, bg, box, **kw), [
            {}, {"shift": (-0.5, 0.0), "yaw_deg": -25, "roll_deg": 0, "scale": 1.0},
            {"shift": (0.1, 0.0), "yaw_deg": 30, "scale": 1.4, "shake_px": 2.0}]),
        ("still", still, [{"noise": 2}, {"noise": 6, "jpeg": 50, "shake_px": 1.0}]),
    ]
    out = []
    for kind, fn, params in table:
        for kw in (params[:2] if quick else params):
            out.append((kind, {k: v for k, v in kw.items() if k != "background"} |
                        ({"held": True} if "background" in kw else {}),
                        lambda fn=fn, kw=kw: fn(image, box, **kw)))
    return out
