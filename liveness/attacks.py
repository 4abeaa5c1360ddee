"""Attack clips made from ONE still photo: what an attacker with only a victim's photo and
the public code can feed the clip login.  Pure functions (numpy + OpenCV, no models), used by
the presence tests and ``liveness.presence_eval`` to measure the decision rule.

Every generator returns a clip: a list of ``(t_ms, BGR frame)`` at ``fps`` over
``duration_ms``, all frames the same size.  The movement follows one time profile
(``profile``): the face is held frontal for ``hold_ms``, then moves to its peak over
``ramp_ms`` (the speed) with a cosine ease, and, per ``swing``, holds there (``"out"``),
comes back (``"out_back"``) or swings to the other side and back (``"both"``).

Two ways of presenting the photo:
- ``background=None``: a digital injection.  The whole still (its own background included)
  is warped to fill the frame, borders replicated.
- ``background=<BGR image>``: a photo held in front of a static camera.  The part of the
  still within ``print_size`` x the face box (a print keeps some of the photo's own
  background) is scaled so the face is ``photo_scale`` x the frame height, placed at the
  centre, and only the print moves; the room behind stays put.

Every frame then gets the camera's ``shake_px`` random hand tremor (a translation, both modes),
Gaussian ``noise`` (sigma in grey levels) and, if ``jpeg`` is set, a JPEG round trip at that
quality.  ``box`` is the face box ``(x, y, w, h)`` in the still (an attacker runs a detector
on it); every warp is centred on that face.  Angles are degrees; a positive yaw moves the face's
right side (the image's left) away from the camera.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import cv2
import numpy as np

Clip = list[tuple[float, np.ndarray]]
# A warp at progress p in [-1, 1]: a 3x3 homography on still pixels, or a remap
# (map_x, map_y) of the still's size giving, for every output pixel, its source pixel.
Warp = Callable[[float], "np.ndarray | tuple[np.ndarray, np.ndarray]"]


def profile(t_ms: float, hold_ms: float = 700.0, ramp_ms: float = 900.0, swing: str = "out") -> float:
    """Progress of the movement at ``t_ms``: 0 while held frontal, then a cosine ease to 1.

    ``swing="out_back"`` returns to 0 after reaching 1; ``"both"`` goes on to -1 and back.
    """
    def ease(x: float) -> float:
        return 0.5 - 0.5 * math.cos(math.pi * min(max(x, 0.0), 1.0))

    s = (t_ms - hold_ms) / max(ramp_ms, 1.0)
    if swing == "out":
        return ease(s)
    if swing == "out_back":
        return ease(s) if s <= 1.0 else 1.0 - ease(s - 1.0)
    if swing == "both":
        if s <= 1.0:
            return ease(s)
        return 1.0 - 2.0 * ease((s - 1.0) / 2.0) if s <= 3.0 else -1.0 + ease(s - 3.0)
    raise ValueError(f"unknown swing {swing!r}")


def fit(image: np.ndarray, box=None, max_side: int = 640) -> tuple[np.ndarray, np.ndarray | None]:
    """The still (and its face box) shrunk so its longer side is at most ``max_side``: a
    camera-sized frame, as an attacker would feed the login."""
    h, w = image.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s == 1.0:
        return image, None if box is None else np.asarray(box, np.float64)
    small = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return small, None if box is None else np.asarray(box, np.float64) * s


def face_geometry(image: np.ndarray, box=None) -> tuple[float, float, float, float]:
    """(cx, cy, w, h) of the face box, or of a centred box of half the image when none."""
    if box is None:
        h, w = image.shape[:2]
        return w / 2, h / 2, w / 2, h / 2
    x, y, w, h = (float(v) for v in box)
    return x + w / 2, y + h / 2, w, h


def plane_homography(centre, focal: float, yaw_deg: float = 0.0, pitch_deg: float = 0.0,
                     roll_deg: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)) -> np.ndarray:
    """Homography of a flat picture rotated about ``centre`` (yaw about the vertical axis,
    pitch about the horizontal one, roll in the image plane), seen by a pinhole camera of
    focal length ``focal`` pixels whose axis passes through ``centre``, then scaled by
    ``scale`` (the picture brought closer) and shifted by ``shift`` pixels.

    Recipe: a point (x, y) of the picture is the 3-D point (x - cx, y - cy, 0) at distance
    ``focal``; after the rotation R it is at (X, Y, Z) and projects to
    centre + focal * (X, Y) / (focal + Z).  That map is exactly H = K [r1 r2 t] K^-1.
    """
    y, p, r = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    rot = ry @ rx @ rz
    cx, cy = float(centre[0]), float(centre[1])
    # plane coordinates (x - cx, y - cy, 1) -> camera coordinates rot @ (x, y, 0) + (0, 0, f)
    m = np.column_stack([rot[:, 0], rot[:, 1], [0.0, 0.0, focal]])
    k = np.array([[focal * scale, 0, cx + shift[0]], [0, focal * scale, cy + shift[1]], [0, 0, 1.0]])
    to_plane = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    h = k @ m @ to_plane
    return h / h[2, 2]


def _similarity(centre, scale: float, angle_deg: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle_deg, scale)
    m[:, 2] += shift
    return np.vstack([m, [0, 0, 1]])


def _warp(image: np.ndarray, warp, size, border: int) -> np.ndarray:
    """``image`` warped by a homography into ``size``, or remapped (keeping its size)."""
    if isinstance(warp, tuple):
        return cv2.remap(image, warp[0], warp[1], cv2.INTER_LINEAR, borderMode=border)
    return cv2.warpPerspective(image, warp, size, flags=cv2.INTER_LINEAR, borderMode=border)


class _Grain:
    """Camera noise: one Gaussian field (sigma ``noise`` grey levels) a little larger than
    the frame, cut at a random offset per frame, so consecutive frames get different noise
    at every pixel without drawing millions of normals per frame."""

    def __init__(self, rng: np.random.Generator, shape, noise: float, margin: int = 64):
        self.rng, self.margin = rng, margin
        h, w = shape[:2]
        field = rng.standard_normal((h + margin, w + margin, 3), dtype=np.float32) * np.float32(noise)
        self.field = np.rint(field).astype(np.int16)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        oy, ox = self.rng.integers(0, self.margin, 2)
        noisy = frame.astype(np.int16) + self.field[oy:oy + h, ox:ox + w]
        return np.clip(noisy, 0, 255).astype(np.uint8)


def _finish(frame: np.ndarray, grain: "_Grain | None", jpeg: int | None) -> np.ndarray:
    if grain is not None:
        frame = grain(frame)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg)])
        frame = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else frame
    return frame


def _print_region(image: np.ndarray, box, print_size: float) -> np.ndarray:
    """Mask of the part of the still that is printed: ``print_size`` x the face box around it
    (the photo keeps some of its own background around the head)."""
    cx, cy, fw, fh = face_geometry(image, box)
    mask = np.zeros(image.shape[:2], np.uint8)
    x0, x1 = int(cx - print_size * fw / 2), int(cx + print_size * fw / 2)
    y0, y1 = int(cy - print_size * fh / 2), int(cy + print_size * fh / 2)
    mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 255
    return mask


def render(image: np.ndarray, warp: Warp, box=None, *, background: np.ndarray | None = None,
           photo_scale: float = 0.3, print_size: float = 2.4, duration_ms: float = 3000.0,
           fps: float = 15.0, hold_ms: float = 700.0, ramp_ms: float = 900.0, swing: str = "out",
           shake_px: float = 0.0, noise: float = 2.0, jpeg: int | None = 90, seed: int = 0) -> Clip:
    """Run ``warp`` over the time profile and present the result (see the module doc).

    Held photo (``background`` given): the part of the still within ``print_size`` x the face
    box is the print; it is placed so the face is centred and ``photo_scale`` x the frame
    height tall, warped there, and composited over the static background.
    """
    rng = np.random.default_rng(seed)
    if background is None:
        size = (image.shape[1], image.shape[0])
        place, region = np.eye(3), None
    else:
        bh, bw = background.shape[:2]
        cx, cy, _, fh = face_geometry(image, box)
        s = photo_scale * bh / fh
        place = np.array([[s, 0, bw / 2 - s * cx], [0, s, bh / 2 - s * cy], [0, 0, 1.0]])
        size, region = (bw, bh), _print_region(image, box, print_size)
    grain = _Grain(rng, (size[1], size[0]), noise) if noise > 0 else None
    clip = []
    for i in range(int(duration_ms * fps / 1000.0) + 1):
        t = i * 1000.0 / fps
        warp_now = warp(profile(t, hold_ms, ramp_ms, swing))
        shake = np.eye(3)
        if shake_px > 0:
            shake[:2, 2] = rng.normal(0, shake_px, 2)
        if background is None:
            if isinstance(warp_now, tuple):
                frame = cv2.warpAffine(_warp(image, warp_now, size, cv2.BORDER_REPLICATE), shake[:2],
                                       size, borderMode=cv2.BORDER_REPLICATE)
            else:
                frame = _warp(image, shake @ warp_now, size, cv2.BORDER_REPLICATE)
        else:
            source, mask, h = image, region, shake @ place
            if isinstance(warp_now, tuple):
                source = _warp(image, warp_now, size, cv2.BORDER_CONSTANT)
                mask = _warp(region, warp_now, size, cv2.BORDER_CONSTANT)
            else:
                h = h @ warp_now
            photo = _warp(source, h, size, cv2.BORDER_CONSTANT)
            alpha = (_warp(mask, h, size, cv2.BORDER_CONSTANT).astype(np.float32) / 255.0)[..., None]
            frame = (photo * alpha + background * (1 - alpha)).astype(np.uint8)
        clip.append((t, _finish(frame, grain, jpeg)))
    return clip


# ---- the attack kinds -------------------------------------------------------------------

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
    return render(image, lambda p: _similarity((cx, cy), 1 + (factor - 1) * p, 0.0,
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


def textured_background(width: int = 640, height: int = 480, seed: int = 0) -> np.ndarray:
    """A room-like static background: smooth colour gradients, random rectangles (shelves,
    frames) and fine noise, so trackers find corners in it."""
    rng = np.random.default_rng(seed)
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([c0 + c1 * gx / width + c2 * gy / height for c0, c1, c2 in
                     rng.uniform([60, -40, -40], [190, 40, 40], (3, 3))], -1)
    img = base.astype(np.uint8)
    for _ in range(25):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(10, width // 3)), y0 + int(rng.integers(10, height // 3))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, (x0, y0), (x1, y1), colour, int(rng.choice([-1, 2, 3])))
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


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
