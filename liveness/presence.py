"""Genuine presence: did a 3-D head move in front of the camera, or a flat picture?

The decision uses image texture, not learned landmarks, as evidence: a landmark model (the
detector's 5 points, the face mesh, its depth) places a face-shaped set of points on any
face image, so a warped photo still shows landmark "turns" (measured: up to 0.36 IOD of
nose-against-eyes motion on a cylinder-warped print).  Texture points move exactly as the
pixels do.  Landmarks only choose the reference frame and say whether the head turned.

Recipe (``assess``):
1. Turn: per frame, the nose tip's offset from the eye midpoint (detector landmarks, IOD
   units).  The reference frame is the one nearest the clip's median offset; ``turn`` is the
   largest change from it, held on two neighbouring frames (a yaw or a nod; 0.08 IOD is
   about 10 degrees).  Too little: ``no_depth_motion``.
2. Texture: Shi-Tomasi corners on the reference face (``face_regions``: nose tip area, rigid
   ring of skin around it; no mouth, jaw or eyes; chosen tile by tile when the strongest
   leave the cheeks beside the nose empty) and in the background beside and above
   the head, tracked by pyramidal Lucas-Kanade from the reference frame straight into each
   frame up to the last turned one, at the capture's resolution (``liveness.flow``).
   A frame is used when enough of the ring tracked on both sides of the nose and above it
   (a field fitted to one side only would be extrapolated to the nose).
3. Parallax, per used frame: two fields are fitted to the ring's displacements and
   evaluated at the nose texture: an affine one (``plane``: where the nose would be if the
   face were a flat picture moved in any way) and a quadratic one (where it would be if the
   face were any smooth surface: a plane, a bent print, a cylinder, a thin-plate turn;
   fitted robustly).  A
   real head turning moves its nose off both: off the affine field by its depth and the
   face's curvature, off the quadratic one by the nose's own height above the surrounding
   face.  A smooth picture moves its nose off the affine field only by the curvature the
   quadratic field also explains.  ``depth`` per frame is the share of the nose's ``plane``
   residual that the quadratic field leaves unexplained (projected on it).
4. Shape, per used frame: a head that turns moves every point off the face's plane by its
   height above that plane times one direction (the turn's; an affine camera).  The face
   mesh of the reference frame gives each texture point its relief (a shape prior: the mesh
   gives a photo a face-shaped relief too; what is tested is whether the texture moved like
   it), and ``shape`` is the share of the points' off-plane motion that this relief times
   one fitted 2-vector explains (robust R squared).  A random smooth warp of a photo that
   happens to push the nose off the quadratic field moves the other points off the plane
   in directions and amounts of its own.
5. The clip passes when at least ``depth_frames`` frames moved the nose off the face's
   plane by ``plane_min`` or more and the ``depth`` share reaches ``depth_ratio`` on 30 %
   of them (the 70th percentile): a statistic over many frames, so one badly tracked frame
   decides nothing, while frames spoiled by an expression, a blink or talking (the ring
   itself moving) need not be a majority of a real person's clip; and the median ``shape``
   of those frames reaches ``shape_min``.
6. Face vs background: at the frame of largest face motion, the share of background points
   that follow the face's own homography instead of staying still (a photo's surroundings
   move with it).
Otherwise ``planar``.  Coming closer alone is measured (``scale``) but is not accepted as
depth evidence: the nose's faster growth is ~2-3 % of the face at arm's length, below
tracking noise.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

import cv2
import numpy as np

from . import flow
from .face_regions import FaceRegions, face_regions
from .mesh import roll_from_eyes


@dataclass(frozen=True)
class PresenceSettings:
    iod_px: float = 160.0          # analysis scale cap: inter-ocular distance in pixels
    max_hops: int = 90             # frames tracked per direction at most (cost bound)
    stride: int = 1                # track every stride-th frame
    max_points: int = 100
    tiles: int = 4                 # face corners chosen in tiles x tiles when the strongest...
    cheek_min: int = 6             # ...leave a cheek with fewer than this (0: never; face_regions)
    min_faces: int = 8             # frames with one face needed at all
    turn_min: float = 0.08         # nose-vs-eyes change (IOD) the clip must reach (~10 deg)
    turn_frame: float = 0.05       # frames after the last one turned this much are not tracked
    window: int = 11               # Lucas-Kanade window (analysis pixels)
    levels: int = 3                # Lucas-Kanade pyramid levels above the image
    fb_px: float = 1.5             # forward-backward tolerance (analysis pixels)
    cover: int = 4                 # ring points needed left of, right of and above the nose
    min_tracked: float = 0.3       # share of face points tracked in a used frame
    plane_min: float = 0.06        # nose residual against the affine field (IOD) to count a frame
    depth_frames: int = 6          # frames that must count
    depth_ratio: float = 0.45      # share of it the quadratic field leaves unexplained...
    depth_quantile: float = 0.7    # ...reached on 30 % of those frames (70th percentile)
    shape_min: float = 0.4         # share of the off-plane motion the face's relief explains (median)
    bg_coupled_max: float = 0.5    # background share moving with the face plane
    bg_min_points: int = 8


@dataclass
class PresenceResult:
    passed: bool
    reason: str | None
    scores: dict[str, float] = field(default_factory=dict)
    frames_used: list[int] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def nose_offset(landmarks5: np.ndarray) -> np.ndarray:
    """Nose tip relative to the eye midpoint, in the eyes' frame, IOD units (x along the eyes)."""
    right, left, nose = landmarks5[0], landmarks5[1], landmarks5[2]
    d = float(np.linalg.norm(left - right))
    ex = (left - right) / max(d, 1e-6)
    v = nose - (right + left) / 2
    return np.array([v @ ex, v @ np.array([-ex[1], ex[0]])]) / max(d, 1e-6)


def _similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    m, _ = cv2.estimateAffinePartial2D(a.astype(np.float32), b.astype(np.float32), method=cv2.LMEDS)
    return m


def _quad(p: np.ndarray) -> np.ndarray:
    x, y = p[:, 0], p[:, 1]
    return np.column_stack([np.ones_like(x), x, y, x * x, x * y, y * y])


def _affine(p: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(p)), p[:, 0], p[:, 1]])


def _robust_fit(a: np.ndarray, d: np.ndarray, iters: int = 4) -> np.ndarray:
    """Field with design matrix ``a`` through displacements ``d`` (Huber-like reweighting)."""
    w = np.ones(len(a))
    for _ in range(iters):
        coef, *_ = np.linalg.lstsq(a * w[:, None], d * w[:, None], rcond=None)
        r = np.linalg.norm(a @ coef - d, axis=1)
        w = 1.0 / np.maximum(1.0, r / max(1.5 * float(np.median(r)), 1e-3))
    return coef


def _relief_share(face: np.ndarray, off: np.ndarray, relief: np.ndarray, ring: np.ndarray) -> float:
    """Share of the points' motion off the face's plane (``off``, (n, 2)) explained by one rigid
    body of the face's own relief: a head that turns moves each point off the plane by its
    height above that plane times one direction (the turn's; an affine camera), so the field
    is ``relief_off_plane x c`` for a single 2-vector ``c``.  A random smooth warp of a photo
    moves its points off the plane in directions and amounts of its own.  ``c`` is fitted
    robustly (Huber-like reweighting: an eyebrow raised or a lost track is not the face), the
    share is the reweighted R squared."""
    zc, *_ = np.linalg.lstsq(_affine(face[ring]), relief[ring], rcond=None)
    z = relief - _affine(face) @ zc
    w = np.ones(len(z))
    for _ in range(4):
        c = (w[:, None] * z[:, None] * off).sum(0) / max(float((w * z * z).sum()), 1e-12)
        e = np.linalg.norm(off - z[:, None] * c, axis=1)
        w = 1.0 / np.maximum(1.0, e / max(1.5 * float(np.median(e)), 1e-4))
    total = float((w * (off ** 2).sum(1)).sum())
    return 1.0 - float((w * e ** 2).sum()) / max(total, 1e-12)


def _nose_residuals(regions: FaceRegions, pts: np.ndarray, alive: np.ndarray, cover: int):
    """(residual against the affine field, against the quadratic field, ring misfit, relief
    share) of the nose texture in one frame, face units; None when the ring does not surround
    the nose."""
    ring, nose = alive & regions.ring, alive & regions.nose
    if ring.sum() < 10 or nose.sum() < 3:
        return None
    fr, fn = regions.face[ring], regions.face[nose]
    if min((fr[:, 0] < -0.3).sum(), (fr[:, 0] > 0.3).sum(), (fr[:, 1] < -0.3).sum()) < cover:
        return None
    d = regions.to_face(pts) - regions.face
    affine, *_ = np.linalg.lstsq(_affine(fr), d[ring], rcond=None)   # least squares: a plane's field
    plane = np.median(d[nose] - _affine(fn) @ affine, axis=0)
    coef = _robust_fit(_quad(fr), d[ring])
    smooth = np.median(d[nose] - _quad(fn) @ coef, axis=0)
    ring_res = float(np.median(np.linalg.norm(_quad(fr) @ coef - d[ring], axis=1)))
    shape = float("nan")
    if regions.relief is not None:
        rigid = ring | nose
        off = d[rigid] - _affine(regions.face[rigid]) @ affine
        shape = _relief_share(regions.face[rigid], off, regions.relief[rigid], ring[rigid])
    return plane, smooth, ring_res, shape


def _background_mask(shape, box, scale: float) -> np.ndarray:
    """Beside and above the head, never below the chin (shoulders move with a head)."""
    x, y, w, h = (float(v) * scale for v in box)
    mask = np.full(shape, 255, np.uint8)
    cx = x + w / 2
    cv2.rectangle(mask, (int(cx - 0.9 * w), int(y - 0.6 * h)), (int(cx + 0.9 * w), shape[0]), 0, -1)
    return mask


def _bg_coupling(ref_pts, pts, alive, face_sel, bg_sel, iod) -> tuple[float, int]:
    """Share of separable background points that follow the face's homography."""
    src, dst = ref_pts[face_sel & alive], pts[face_sel & alive]
    b = bg_sel & alive
    if len(src) < 8 or b.sum() == 0:
        return float("nan"), 0
    h, _ = cv2.findHomography(src, dst, cv2.RANSAC, 0.03 * iod)
    if h is None:
        return float("nan"), 0
    b0, b1 = ref_pts[b], pts[b]
    with_face = cv2.perspectiveTransform(b0[None].astype(np.float64), h)[0]
    separable = np.linalg.norm(with_face - b0, axis=1) > 0.1 * iod
    if separable.sum() == 0:
        return float("nan"), 0
    follows = np.linalg.norm(with_face - b1, axis=1) < np.minimum(0.05 * iod, np.linalg.norm(b1 - b0, axis=1))
    return float((follows & separable).sum() / separable.sum()), int(separable.sum())


def assess(frames: Sequence[np.ndarray], faces: Sequence, times_ms: Sequence[float], mesh,
           settings: PresenceSettings | None = None) -> PresenceResult:
    """Decide whether the face in ``frames`` is a 3-D head that turned (see module doc)."""
    cfg = settings or PresenceSettings()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    idx = [i for i, f in enumerate(faces) if f is not None]
    if len(idx) < cfg.min_faces or len(frames) != len(faces) or len(times_ms) != len(frames):
        return PresenceResult(False, "no_depth_motion", {"faces": float(len(idx))}, [], {})
    offsets = {i: nose_offset(np.asarray(faces[i].landmarks, np.float64)) for i in idx}
    median = np.median([offsets[i] for i in idx], axis=0)
    ref = min(idx, key=lambda i: float(np.linalg.norm(offsets[i] - median)))
    turns = {i: float(np.linalg.norm(offsets[i] - offsets[ref])) for i in idx}
    # a turn must last: the second-largest of three neighbours, so one bad detection is not a turn
    held = [sorted(turns[j] for j in idx[max(0, k - 1):k + 2])[-2] if len(idx) > 1 else 0.0
            for k in range(len(idx))]
    turn = max(held) if held else 0.0
    ref_face = faces[ref]
    iod_img = float(np.linalg.norm(ref_face.landmarks[1] - ref_face.landmarks[0]))
    iods = [float(np.linalg.norm(faces[i].landmarks[1] - faces[i].landmarks[0])) for i in idx]
    scores = {"turn": turn, "scale": float(max(iods) / max(min(iods), 1e-6)), "faces": float(len(idx))}
    if turn < cfg.turn_min:
        timings["total"] = (time.perf_counter() - t0) * 1000
        return PresenceResult(False, "no_depth_motion", scores, [ref], timings)

    scale = min(1.0, cfg.iod_px / max(iod_img, 1e-6))
    t = time.perf_counter()
    mesh_pts = np.asarray(mesh.landmarks(frames[ref], ref_face.box, roll_from_eyes(ref_face.landmarks)))
    timings["mesh"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    g0 = flow.grey(frames[ref], scale)
    regions = face_regions(g0, mesh_pts[:, :2] * scale, cfg.max_points, tiles=cfg.tiles,
                           cheek_min=cfg.cheek_min, mesh_z=mesh_pts[:, 2] * scale)
    bg = flow.features(g0, _background_mask(g0.shape, ref_face.box, scale), 60, 0.15 * regions.iod)
    rigid = regions.nose | regions.ring      # only these points are measured: only they are tracked
    regions = FaceRegions(regions.points[rigid], regions.face[rigid], regions.nose[rigid],
                          regions.ring[rigid], regions.origin, regions.axes, regions.iod,
                          regions.relief[rigid])
    start = regions.points.astype(np.float32)
    rows, far = [], []
    for direction in (1, -1):
        seq = [j for j in range(ref, len(frames) if direction > 0 else -1, direction) if faces[j] is not None]
        # frames after the last turned one could never be evidence: do not pay to track them
        turned_at = [k for k, j in enumerate(seq) if turns[j] >= cfg.turn_frame]
        seq = seq[1:turned_at[-1] + 1] if turned_at else []
        seq = seq[::max(cfg.stride, -(-len(seq) // cfg.max_hops))]       # bounded cost on long clips
        for j in seq:
            guess = _similarity(ref_face.landmarks * scale, faces[j].landmarks * scale)
            g1 = flow.grey(frames[j], scale)
            pos, alive = flow.track_pair(g0, g1, start, guess, cfg.window, cfg.levels, cfg.fb_px)
            got = _nose_residuals(regions, pos, alive, cfg.cover)
            if got is None or float(alive.mean()) < cfg.min_tracked:
                continue
            plane, smooth, ring_res, shape = got
            size = float(np.linalg.norm(plane))
            rows.append({"frame": j, "plane": size, "ring_res": ring_res, "turn": turns[j], "shape": shape,
                         "depth": float(smooth @ plane) / max(size, 1e-9) ** 2})
            far.append((float(np.median(np.linalg.norm(pos - start, axis=1))), j, pos, alive))
    timings["track"] = (time.perf_counter() - t) * 1000

    counted = [r for r in rows if r["plane"] >= cfg.plane_min]
    depth = float(np.quantile([r["depth"] for r in counted], cfg.depth_quantile)) if counted else 0.0
    shape = float(np.median([r["shape"] for r in counted])) if counted else 0.0
    coupled, n_bg = float("nan"), 0
    if far and len(bg):   # face vs background at the frame where the face texture moved most
        _, j, pos, alive = max(far, key=lambda x: x[0])
        bg_pos, bg_alive = flow.track_pair(g0, flow.grey(frames[j], scale), bg, None, cfg.window,
                                           cfg.levels, cfg.fb_px)
        n = len(start)
        sel = np.arange(n + len(bg)) < n
        coupled, n_bg = _bg_coupling(np.vstack([start, bg]), np.vstack([pos, bg_pos]),
                                     np.concatenate([alive, bg_alive]), sel, ~sel, regions.iod)
    scores.update({
        "tracked_frames": float(len(rows)), "depth_frames": float(len(counted)), "depth": depth,
        "shape": shape,
        "plane": max((r["plane"] for r in rows), default=0.0),
        "ring_res": float(np.median([r["ring_res"] for r in rows])) if rows else float("nan"),
        "bg_coupled": coupled, "bg_points": float(n_bg),
    })
    timings["total"] = (time.perf_counter() - t0) * 1000
    frames_used = sorted({ref} | {r["frame"] for r in sorted(counted or rows, key=lambda r: -r["plane"])[:4]})
    if not rows:
        return PresenceResult(False, "no_depth_motion", scores, frames_used, timings)
    if n_bg >= cfg.bg_min_points and coupled >= cfg.bg_coupled_max:
        return PresenceResult(False, "planar", scores, frames_used, timings)
    if len(counted) < cfg.depth_frames or depth < cfg.depth_ratio or not shape >= cfg.shape_min:
        return PresenceResult(False, "planar", scores, frames_used, timings)
    return PresenceResult(True, None, scores, frames_used, timings)
