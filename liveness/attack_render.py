"""How an attack clip is presented to the camera: the time profile of the movement, the
digital injection or the print held in a room, and the camera's tremor, noise and JPEG
(see ``liveness.attacks`` for the attack kinds built on it).

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
on it); every warp is centred on that face.
"""
from __future__ import annotations

import math
from typing import Callable

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


def similarity(centre, scale: float, angle_deg: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
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
