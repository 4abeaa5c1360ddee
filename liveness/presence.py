"""Genuine presence: did a 3-D head move in front of the camera, or a flat picture?

The decision uses image texture, not learned landmarks, as evidence: a landmark model (the
detector's 5 points, the face mesh, its depth) places a face-shaped set of points on any
face image, so a warped photo still shows landmark "turns" (measured: up to 0.36 IOD of
nose-against-eyes motion on a cylinder-warped print).  Texture points move exactly as the
pixels do.  Landmarks only choose the frames and the direction of the turn.

Recipe (``assess``):
1. Turn: per frame, the nose tip's offset from the eye midpoint (detector landmarks, IOD
   units).  The reference frame is the one nearest the clip's median offset; ``turn`` is the
   largest change from it (a yaw or a nod; 0.08 IOD is about 10 degrees).  Too little:
   ``no_depth_motion``.
2. Texture: Shi-Tomasi corners on the reference face (``face_regions``: nose tip area, rigid
   ring of skin around it; no mouth, jaw or eyes) and in the background beside and above
   the head, tracked by pyramidal Lucas-Kanade from the reference frame forward and backward
   through every ``stride``-th frame (forward-backward checked, ``liveness.flow``).
3. Parallax, per tracked frame: a smooth field (quadratic in face coordinates, robustly
   fitted) on the ring's displacements predicts where the nose texture would be if the face
   were any smooth 2-D warp of itself (a plane, a cylinder, a thin-plate warp: all move the
   nose like its neighbours).  ``parallax`` is the median nose residual along the landmark
   turn direction; ``ring_res`` the ring's own misfit (non-rigid motion everywhere).  A
   frame supports depth when parallax >= ``parallax_min`` and >= ``parallax_ratio`` x ring_res.
4. Face vs background: at the frame of largest face motion, the share of background points
   that follow the face's own homography instead of staying still (a photo's surroundings
   move with it).
Pass when the turn is large enough, at least ``support_frames`` frames support depth, and
the background is not coupled to the face; otherwise ``planar``.  Coming closer alone is
measured (``scale``) but is not accepted as depth evidence: the nose's faster growth is
~2-3 % of the face at arm's length, below tracking noise.
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
    iod_px: float = 48.0           # analysis scale: inter-ocular distance in pixels
    stride: int = 2                # track every stride-th frame (~7 per second at 15 fps)...
    max_hops: int = 90             # ...and at most this many per direction (cost bound)
    max_points: int = 160
    min_faces: int = 8             # frames with one face needed at all
    turn_min: float = 0.08         # nose-vs-eyes change (IOD) the clip must reach (~10 deg)
    turn_frame: float = 0.05       # frames with less turn are not used as parallax evidence
    parallax_min: float = 0.045    # nose residual along the turn (IOD)
    parallax_ratio: float = 2.5    # ... and this many times the ring's own misfit
    support_frames: int = 2        # frames that must support depth
    min_tracked: float = 0.3       # share of face points still tracked in a used frame
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


def _robust_fit(p: np.ndarray, d: np.ndarray, iters: int = 4) -> np.ndarray:
    """Quadratic field through displacements ``d`` at ``p`` (Huber-like reweighting)."""
    a = _quad(p)
    w = np.ones(len(p))
    for _ in range(iters):
        coef, *_ = np.linalg.lstsq(a * w[:, None], d * w[:, None], rcond=None)
        r = np.linalg.norm(a @ coef - d, axis=1)
        w = 1.0 / np.maximum(1.0, r / max(1.5 * float(np.median(r)), 1e-3))
    return coef


def _parallax(regions: FaceRegions, pts: np.ndarray, alive: np.ndarray, turn: np.ndarray):
    """(parallax along the turn, ring misfit) for one tracked frame, None if too few points."""
    ring, nose = alive & regions.ring, alive & regions.nose
    if ring.sum() < 10 or nose.sum() < 3:
        return None
    d = regions.to_face(pts) - regions.face
    coef = _robust_fit(regions.face[ring], d[ring])
    resid = np.median(d[nose] - _quad(regions.face[nose]) @ coef, axis=0)
    direction = turn / max(float(np.linalg.norm(turn)), 1e-6)
    ring_res = float(np.median(np.linalg.norm(_quad(regions.face[ring]) @ coef - d[ring], axis=1)))
    return float(resid @ direction), ring_res


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
    mesh_xy = mesh.landmarks(frames[ref], ref_face.box, roll_from_eyes(ref_face.landmarks))[:, :2]
    timings["mesh"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    g0 = flow.grey(frames[ref], scale)
    regions = face_regions(g0, mesh_xy * scale, cfg.max_points)
    bg = flow.features(g0, _background_mask(g0.shape, ref_face.box, scale), 60, 0.15 * regions.iod)
    start = np.vstack([regions.points, bg]).astype(np.float32)
    nf = len(regions.points)
    rigid = regions.nose | regions.ring
    rows, last = [], []
    for direction in (1, -1):
        seq = [j for j in range(ref, len(frames) if direction > 0 else -1, direction) if faces[j] is not None]
        stride = max(cfg.stride, -(-(len(seq) - 1) // cfg.max_hops))   # bounded cost on long clips
        seq = seq[::stride]
        if len(seq) < 2:
            continue
        greys = [g0] + [flow.grey(frames[j], scale) for j in seq[1:]]
        guesses = [_similarity(faces[a].landmarks * scale, faces[b].landmarks * scale)
                   for a, b in zip(seq[:-1], seq[1:])]
        pos, alive = flow.track_chain(greys, start, guesses)
        for k, j in enumerate(seq[1:], 1):
            got = _parallax(regions, pos[k, :nf], alive[k, :nf], offsets[j] - offsets[ref])
            if got is not None:
                rows.append({"frame": j, "parallax": got[0], "ring_res": got[1], "turn": turns[j],
                             "tracked": float(alive[k, :nf][rigid].mean()) if rigid.any() else 0.0,
                             "moved": float(np.median(np.linalg.norm(pos[k, :nf] - start[:nf], axis=1)))})
                last.append((rows[-1]["moved"], pos[k], alive[k]))
    timings["track"] = (time.perf_counter() - t) * 1000

    used = [r for r in rows if r["turn"] >= cfg.turn_frame and r["tracked"] >= cfg.min_tracked]
    support = [r for r in used if r["parallax"] >= cfg.parallax_min
               and r["parallax"] >= cfg.parallax_ratio * r["ring_res"]]
    n = cfg.support_frames
    parallax = sorted((r["parallax"] for r in used), reverse=True)
    margin = sorted((min(r["parallax"] - cfg.parallax_min, r["parallax"] - cfg.parallax_ratio * r["ring_res"])
                     for r in used), reverse=True)
    coupled, n_bg = float("nan"), 0
    if last:   # face vs background at the frame where the face texture moved most
        _, pos_far, alive_far = max(last, key=lambda x: x[0])
        face_sel = np.zeros(len(start), bool)
        face_sel[:nf] = rigid
        bg_sel = np.zeros(len(start), bool)
        bg_sel[nf:] = True
        coupled, n_bg = _bg_coupling(start, pos_far, alive_far, face_sel, bg_sel, regions.iod)
    scores.update({
        "tracked_frames": float(len(rows)), "turned_frames": float(len(used)),
        "support_frames": float(len(support)),
        "parallax": parallax[n - 1] if len(parallax) >= n else 0.0,
        "parallax_margin": margin[n - 1] if len(margin) >= n else -1.0,
        "ring_res": float(np.median([r["ring_res"] for r in used])) if used else float("nan"),
        "bg_coupled": coupled, "bg_points": float(n_bg),
    })
    timings["total"] = (time.perf_counter() - t0) * 1000
    frames_used = sorted({ref} | {r["frame"] for r in (support or used)})
    if not used:
        return PresenceResult(False, "no_depth_motion", scores, frames_used, timings)
    if n_bg >= cfg.bg_min_points and coupled >= cfg.bg_coupled_max:
        return PresenceResult(False, "planar", scores, frames_used, timings)
    if len(support) < n:
        return PresenceResult(False, "planar", scores, frames_used, timings)
    return PresenceResult(True, None, scores, frames_used, timings)
