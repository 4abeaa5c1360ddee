"""Where to track texture on a face, from one face-mesh fit on the reference frame.

Points are grouped in a face frame: origin at the nose tip, x along the eye line, unit the
inter-ocular distance (IOD, between the eye centres).  The groups:

- ``nose``: within 0.3 IOD of the nose tip: the part of the face that sticks out most
  (2-3 cm in front of the eye corners and cheeks), so the part that shows parallax;
- ``ring``: rigid skin 0.45 IOD or more from the nose tip (eye corners, cheekbones, brow,
  forehead, temples): the surface the nose's parallax is measured against;
- mouth, lips, jaw and the eyes themselves are left out: they move on their own (talking,
  blinking, expressions) and would look like non-rigid motion.

The face's corners are the strongest ones (Shi-Tomasi) over the whole face, unless those
leave a cheek beside the nose with fewer than ``cheek_min`` points: then they are chosen
tile by tile (``flow.tiled_features``).  On smooth skin and behind glasses the strongest
corners of a face are its glasses rims, brows and eyelashes, all above the nose, and the
smooth field fitted to them is extrapolated down to the nose instead of interpolated (it
pointed the wrong way on lp_d3 0-4 s).  Not always tiles: weak cheek corners die on a large
turn tracked from the neutral frame, where strong brow corners survive (measured with
``python -m liveness.presence_sweep``: always tiles 54 of 60 windows but a 30-degree turn
lost; the switch 111 of 123 at half-second steps, against 98 of 123 for never).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import flow

# MediaPipe Face Mesh topology (the canonical 468-point model's contours).
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185]
RIGHT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
LEFT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]
NOSE_TIP, UPPER_LIP = 1, 0
RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS = (33, 133), (263, 362)

NOSE_RADIUS = 0.3
RING_INNER = 0.45
MOUTH_MARGIN = 0.08
CHEEK_TOP, CHEEK_BOTTOM = -0.45, 0.2   # the band beside the nose counted as cheeks (face units)


@dataclass
class FaceRegions:
    points: np.ndarray      # (n, 2) float32 texture points, analysis pixels of the reference frame
    face: np.ndarray        # (n, 2) the same points in face units (see module doc)
    nose: np.ndarray        # (n,) bool
    ring: np.ndarray        # (n,) bool
    origin: np.ndarray      # nose tip, analysis pixels
    axes: np.ndarray        # (2, 2): x (eye line) and y unit vectors
    iod: float              # analysis pixels
    relief: np.ndarray | None = None   # (n,) the mesh's depth at each point (face units, toward the camera)

    def to_face(self, pts: np.ndarray) -> np.ndarray:
        return _to_face(pts, self.origin, self.axes, self.iod)


def _to_face(pts: np.ndarray, origin: np.ndarray, axes: np.ndarray, iod: float) -> np.ndarray:
    return ((pts - origin) @ axes.T) / iod


def cheek_counts(face_units: np.ndarray) -> tuple[int, int]:
    """Points (face units) on the cheeks beside the nose: (left of it, right of it)."""
    beside = (face_units[:, 1] > CHEEK_TOP) & (face_units[:, 1] < CHEEK_BOTTOM)
    return (int((beside & (face_units[:, 0] < -RING_INNER)).sum()),
            int((beside & (face_units[:, 0] > RING_INNER)).sum()))


def relief_at(face_units: np.ndarray, mesh_face: np.ndarray, mesh_depth: np.ndarray, k: int = 4) -> np.ndarray:
    """The mesh's depth at ``face_units`` points: inverse-distance weights of the ``k`` nearest
    mesh points (all in face units).  A shape prior, never evidence: the mesh gives a flat
    photo a face-shaped depth too; what is tested is whether the texture moved like it."""
    if len(face_units) == 0:
        return np.zeros(0)
    d2 = ((face_units[:, None, :] - mesh_face[None, :, :]) ** 2).sum(-1)
    near = np.argsort(d2, axis=1)[:, :k]
    w = 1.0 / np.maximum(np.take_along_axis(d2, near, 1), 1e-6)
    return (mesh_depth[near] * w).sum(1) / w.sum(1)


def _polygon_mask(shape, pts: np.ndarray, index: list[int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(pts[index]).astype(np.int32)), 255)
    return mask


def face_regions(grey_ref: np.ndarray, mesh_xy: np.ndarray, max_points: int = 180,
                 nose_points: int = 40, tiles: int = 4, cheek_min: int = 0,
                 mesh_z: np.ndarray | None = None) -> FaceRegions:
    """Texture points of the face in ``grey_ref`` (analysis scale), given the mesh points
    ``mesh_xy`` (468, 2) at that scale and, optionally, the mesh's z (468,) on the same scale
    (MediaPipe's sign: smaller is nearer), which gives each point its ``relief``."""
    shape = grey_ref.shape[:2]
    right = mesh_xy[list(RIGHT_EYE_CORNERS)].mean(0)
    left = mesh_xy[list(LEFT_EYE_CORNERS)].mean(0)
    iod = float(np.linalg.norm(left - right))
    ex = (left - right) / max(iod, 1e-6)
    axes = np.array([ex, [-ex[1], ex[0]]])
    origin = mesh_xy[NOSE_TIP].astype(np.float64)
    face = _polygon_mask(shape, mesh_xy, FACE_OVAL)
    moving = np.zeros(shape, np.uint8)
    for part in (LIPS, RIGHT_EYE, LEFT_EYE):
        moving |= _polygon_mask(shape, mesh_xy, part)
    moving = cv2.dilate(moving, np.ones((5, 5), np.uint8))
    usable = cv2.bitwise_and(face, cv2.bitwise_not(moving))
    near_nose = np.zeros(shape, np.uint8)
    cv2.circle(near_nose, (int(round(origin[0])), int(round(origin[1]))), int(NOSE_RADIUS * iod), 255, -1)
    face_pts = flow.features(grey_ref, usable, max_points, 0.07 * iod)
    if cheek_min and tiles >= 2 and min(cheek_counts(_to_face(face_pts, origin, axes, iod))) < cheek_min:
        face_pts = flow.tiled_features(grey_ref, usable, max_points, 0.07 * iod, tiles)
    pts = np.vstack([face_pts,
                     flow.features(grey_ref, cv2.bitwise_and(usable, near_nose), nose_points, 0.03 * iod)])
    regions = FaceRegions(pts, np.zeros((len(pts), 2)), np.zeros(len(pts), bool), np.zeros(len(pts), bool),
                          origin, axes, iod)
    f = regions.to_face(pts)
    lip = regions.to_face(mesh_xy[[UPPER_LIP]])[0, 1]
    rigid = f[:, 1] < lip - MOUTH_MARGIN       # above the upper lip: no mouth, no jaw
    r = np.linalg.norm(f, axis=1)
    regions.face, regions.nose, regions.ring = f, rigid & (r < NOSE_RADIUS), rigid & (r > RING_INNER)
    if mesh_z is not None:
        regions.relief = relief_at(f, regions.to_face(mesh_xy), -np.asarray(mesh_z, np.float64) / iod)
    return regions
