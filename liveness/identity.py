"""One person throughout a clip: embeddings at several frames that must all match.

The frames embedded (``key_frames``) are the most frontal frame (the one a relying party
would call "the" face), the frame where each action was seen, frames the 3-D check used, the
frame after the most abrupt change of the face's appearance (``abrupt_frame``: where a cut to
another face most likely is), and one frame drawn at random with ``secrets`` so that an
attacker cannot know which other frames of a spliced clip will be compared.  Whatever is
spliced in unsampled frames is never the face that is matched: the frames that performed
the actions and the 3-D movement are.  Every pair must be at least ``consistency`` apart in cosine
similarity; with a reference template, the *smallest* similarity to it is the match score: a
clip where someone else performs the actions and the victim's photo appears for one frontal
frame is refused as ``face_changed`` and cannot match the victim.
"""
from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field

import cv2
import numpy as np

from .detector import Face, YuNet
from .embedder import SFace, cosine_similarity
from .geometry import alignment_matrix


@dataclass
class Identity:
    frames: list[int]
    embeddings: list[np.ndarray] = field(repr=False)
    min_pair: float | None = None          # smallest pairwise similarity (None with one frame)
    pairs: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"frames": list(self.frames), "min_pairwise": self.min_pair,
                "pairwise": {f"{a}-{b}": round(v, 4) for (a, b), v in self.pairs.items()}}


def key_frames(tracked: list[int], required: list[int], limit: int, rng=secrets) -> list[int]:
    """``required`` (deduplicated, in order of priority, at most ``limit - 1``) plus one random
    tracked frame not already in it; ``rng`` has ``choice`` (``secrets``, or a seeded
    ``random.Random`` in tests)."""
    out = list(dict.fromkeys(i for i in required if i in tracked))[: max(1, limit - 1)]
    rest = [i for i in tracked if i not in out]
    if rest:
        out.append(rng.choice(rest))
    return sorted(out)


def _appearance(image: np.ndarray, face: Face) -> np.ndarray:
    """The face aligned on its 5 landmarks, 24x24 grey, zero mean and unit variance."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    crop = cv2.warpAffine(gray, alignment_matrix(face.landmarks, 112) / np.array([[112 / 24], [112 / 24]]),
                          (24, 24), flags=cv2.INTER_LINEAR).astype(np.float32).ravel()
    return (crop - crop.mean()) / (crop.std() + 1e-6)


def abrupt_frame(images, faces: list[Face | None], tracked: list[int]) -> int | None:
    """The tracked frame whose aligned face correlates least with the previous tracked one."""
    crops = {i: _appearance(images[i], faces[i]) for i in tracked}
    steps = [(float(crops[a] @ crops[b]) / crops[a].size, b) for a, b in zip(tracked, tracked[1:])]
    return min(steps)[1] if steps else None


def embed(detector: YuNet, embedder: SFace, images, faces: list[Face | None], indices: list[int],
          refine_px: int) -> Identity:
    """Embeddings at ``indices``; landmarks are refined first (alignment needs them precise,
    the low-resolution track's are not)."""
    embeddings = []
    for i in indices:
        face = faces[i]
        if refine_px:
            face = detector.refine(images[i], face, face_px=refine_px)
        embeddings.append(embedder.embed(images[i], face.landmarks))
    ident = Identity(list(indices), embeddings)
    for (a, ea), (b, eb) in itertools.combinations(zip(indices, embeddings), 2):
        ident.pairs[(a, b)] = cosine_similarity(ea, eb)
    ident.min_pair = min(ident.pairs.values()) if ident.pairs else None
    return ident


def match(reference: np.ndarray, ident: Identity, threshold: float) -> dict:
    """``{"similarity": smallest over the embedded frames, "same": bool, "frames": {...}}``."""
    per = {i: cosine_similarity(reference, e) for i, e in zip(ident.frames, ident.embeddings)}
    low = min(per.values())
    return {"similarity": low, "same": low >= threshold,
            "frames": {str(i): round(v, 4) for i, v in per.items()}}
