"""Replayed clips: the same capture sent again, exactly or re-encoded, edited, rescaled.

A clip's *signature* is the perceptual hash (64-bit DCT pHash, ``replay.phash``) of the face
crop of one frame every ``every_ms``, with the frame's time.  The face crop, not the whole
frame, so that a replay reframed, padded or shown on a screen in another room is still
found.  A clip is a replay of an earlier session's when a run of at least ``min_run``
frames matches that session's signature frame for frame *in the same order* (each within
``max_bits``): one look-alike frame is not enough, so a citizen retrying in the same room,
who moves differently the second time, is not refused, while a copy of a capture, however
re-encoded, matches frame after frame.

Storage is the ``SeenFrames`` protocol (the server's short-lived store):
- ``liveness:clip:<sha256>``: the exact bytes of an upload (``add_if_absent``);
- ``liveness:clipsig:<session>``: that session's signature, ``t:hash;...``;
- ``liveness:face:<band>:<value>``: the sessions (most recent first, at most ``_KEEP``)
  having a frame whose hash has that 16-bit band value; a copy within 3 bits of a frame
  shares at least one band with it, and since a run of frames must match, a copy is found
  as soon as one of its frames shares a band.  The updates are get-then-put, not atomic:
  under concurrency an entry can be lost (the exact-bytes key is atomic).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .detector import Face
from .replay import SeenFrames, hamming, phash

CLIP_PREFIX = "liveness:clip:"
SIG_PREFIX = "liveness:clipsig:"
FACE_PREFIX = "liveness:face:"
_BANDS = 4
_KEEP = 8
_CANDIDATES = 6
_SLOPES = (0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0)


@dataclass(frozen=True)
class Entry:
    t: float
    hash: int
    shape: np.ndarray       # uint8[10]

    def encode(self) -> str:
        return f"{self.t:.0f}:{self.hash:016x}:{self.shape.tobytes().hex()}"


def _decode(item: str) -> Entry | None:
    parts = item.split(":")
    try:
        shape = np.frombuffer(bytes.fromhex(parts[2]), np.uint8)
        if len(parts) != 3 or shape.size != 10:
            return None
        return Entry(float(parts[0]), int(parts[1], 16), shape)
    except (ValueError, IndexError):
        return None


def face_hash(image: np.ndarray, face: Face, margin: float = 1.2) -> int:
    """pHash of a square crop ``margin`` times the face box, about its centre."""
    x, y, w, h = face.box
    side = margin * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    m = np.float32([[32 / side, 0, 16 - 32 * cx / side], [0, 32 / side, 16 - 32 * cy / side]])
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # the affine warp with INTER_AREA-like prefiltering: blur to the target scale first
    k = max(1, int(side / 32) | 1)
    crop = cv2.warpAffine(cv2.blur(gray, (k, k)), m, (32, 32), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    return phash(crop)


def _shape(face: Face) -> np.ndarray:
    """The 5 landmarks relative to the box, quantised to 1/100 of its size."""
    x, y, w, h = face.box
    rel = (face.landmarks - np.array([x, y])) / np.array([max(w, 1.0), max(h, 1.0)])
    return np.clip(np.round(rel * 100), 0, 255).astype(np.uint8).ravel()


def signature(images, faces: list[Face | None], times: list[float], every_ms: float = 150.0,
              max_entries: int = 24) -> list[Entry]:
    """One entry every ``every_ms`` (spaced further on long clips: at most ``max_entries``)."""
    span = (times[-1] - times[0]) if times else 0.0
    every_ms = max(every_ms, span / max_entries)
    out: list[Entry] = []
    for image, face, t in zip(images, faces, times):
        if face is None or (out and t - out[-1].t < every_ms):
            continue
        out.append(Entry(float(t), face_hash(image, face), _shape(face)))
    return out


def _bands(h: int) -> list[str]:
    return [f"{FACE_PREFIX}{i}:{(h >> (16 * i)) & 0xFFFF:04x}" for i in range(_BANDS)]


def _parse(value: str | None) -> list[Entry]:
    return [e for e in map(_decode, (value or "").split(";")) if e is not None]


def longest_run(a: list[Entry], b: list[Entry], max_bits: int, max_shape: float,
                tolerance_ms: float = 120.0) -> int:
    """How many frames of ``a`` match a frame of ``b`` (hash within ``max_bits``, landmark
    layout within ``max_shape`` hundredths of the box) at times ``t_a = s * t_b + o`` for one
    time stretch ``s`` (a replay may be slowed down or sped up) and one offset ``o``."""
    if not a or not b:
        return 0
    ha = np.array([e.hash for e in a], np.uint64)
    hb = np.array([e.hash for e in b], np.uint64)
    bits = np.unpackbits((ha[:, None] ^ hb[None, :]).view(np.uint8).reshape(len(a), len(b), 8),
                         axis=2).sum(axis=2)
    sa = np.array([e.shape for e in a], np.int16)
    sb = np.array([e.shape for e in b], np.int16)
    shape = np.abs(sa[:, None, :] - sb[None, :, :]).max(axis=2)
    ia, ib = np.nonzero((bits <= max_bits) & (shape <= max_shape))
    if ia.size == 0:
        return 0
    ta = np.array([e.t for e in a])[ia]
    tb = np.array([e.t for e in b])[ib]
    owner = np.zeros((ia.size, len(a)), np.float32)
    owner[np.arange(ia.size), ia] = 1.0
    best = 0
    for s in _SLOPES:
        offsets = ta - s * tb
        agree = np.abs(offsets[None, :] - offsets[:, None]) <= tolerance_ms
        best = max(best, int(((agree.astype(np.float32) @ owner) > 0).sum(axis=1).max()))
    return best


def check_and_record(seen: SeenFrames, sig: list[Entry], session_id: str, max_bits: int,
                     max_shape: float, min_run: int, ttl: int) -> dict | None:
    """The earlier session this clip replays (``{"session", "run", "of"}``) or None; then
    records this clip's signature under ``session_id``."""
    indexed = sig[::2]
    votes: dict[str, int] = {}
    band_values: dict[str, list[str]] = {}
    for entry in indexed:
        for key in _bands(entry.hash):
            if key not in band_values:
                band_values[key] = [s for s in (seen.get(key) or "").split(";") if s]
            for other in band_values[key]:
                if other != session_id:
                    votes[other] = votes.get(other, 0) + 1
    found = None
    for other in sorted(votes, key=votes.get, reverse=True)[:_CANDIDATES]:
        run = longest_run(sig, _parse(seen.get(SIG_PREFIX + other)), max_bits, max_shape)
        if run >= min_run and (found is None or run > found["run"]):
            found = {"session": other, "run": run, "of": len(sig)}
    seen.put(SIG_PREFIX + session_id, ";".join(e.encode() for e in sig), ttl)
    for key, sessions in band_values.items():
        kept = [session_id] + [s for s in sessions if s != session_id][: _KEEP - 1]
        seen.put(key, ";".join(kept), ttl)
    return found
