"""Replay detection: exact frame bytes seen before, and near-duplicate frames.

The store is behind ``SeenFrames``: three calls that map one-to-one onto the server's
short-lived store (Redis ``SET NX EX`` / ``GET`` / ``SET EX``, or its SQL twin).

- Exact replays: the sha256 of each frame's bytes is added with ``add_if_absent``; a key
  already present means the frame was submitted before (in any session, or earlier in this
  one) and the session is rejected.
- Near duplicates (re-encoded, resized, slightly cropped or brightened copies) are found by
  a 64-bit perceptual hash (DCT pHash) of the frame.  On the shared photos re-encodings and
  small edits are 0-8 bits apart, different photos at least 20 (two photos of one person:
  27-38).  The hash is split into 6 bands of 10-11 bits; each band value is a store key
  holding the most recent hashes (and sessions) that had it, so any hash within 5 bits shares
  a band with the query (more distant ones usually do).  The list update is a get-then-put,
  not atomic: under concurrency an entry can be lost.  Near duplicates are reported, never
  rejected: a user retrying in the same room legitimately produces them.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

FRAME_PREFIX = "liveness:frame:"
PHASH_PREFIX = "liveness:phash:"
_BANDS = ((0, 11), (11, 11), (22, 11), (33, 11), (44, 10), (54, 10))  # (shift, bits)
_KEEP = 8


@runtime_checkable
class SeenFrames(Protocol):
    def add_if_absent(self, key: str, ttl: int) -> bool:
        """Store ``key`` for ``ttl`` seconds; True if it was absent, False if present."""

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, None if absent or expired."""

    def put(self, key: str, value: str, ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, replacing any value."""


class MemorySeenFrames:
    """In-process ``SeenFrames`` with TTL, thread-safe, bounded (oldest entries evicted)."""

    def __init__(self, max_entries: int = 200_000, clock=time.monotonic):
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock

    def _live(self, key: str, now: float):
        item = self._data.get(key)
        if item is not None and item[0] <= now:
            del self._data[key]
            return None
        return item

    def _store(self, key: str, value: str, ttl: int, now: float) -> None:
        self._data[key] = (now + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def add_if_absent(self, key: str, ttl: int) -> bool:
        with self._lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._store(key, "1", ttl, now)
            return True

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key, self._clock())
            return None if item is None else item[1]

    def put(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._store(key, value, ttl, self._clock())

    def __len__(self) -> int:
        return len(self._data)


def phash(image: np.ndarray) -> int:
    """64-bit DCT perceptual hash of a BGR or gray image."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def band_keys(h: int) -> list[str]:
    return [f"{PHASH_PREFIX}{i}:{(h >> shift) & ((1 << bits) - 1):x}"
            for i, (shift, bits) in enumerate(_BANDS)]


def record_and_find(seen: SeenFrames, h: int, session_id: str, max_distance: int,
                    ttl: int) -> list[dict]:
    """Earlier sessions' frames within ``max_distance`` bits of ``h``; records ``h``."""
    mine = f"{h:016x}:{session_id}"
    found: dict[tuple[str, str], int] = {}
    for key in band_keys(h):
        entries = [e for e in (seen.get(key) or "").split(";") if e.count(":") == 1]
        for entry in entries:
            other_hash, other_session = entry.split(":")
            if other_session == session_id:
                continue
            try:
                distance = hamming(h, int(other_hash, 16))
            except ValueError:
                continue
            if distance <= max_distance:
                found[(other_session, other_hash)] = distance
        # one entry per session and band: a session's many frames must not evict the others
        kept = [mine] + [e for e in entries if not e.endswith(f":{session_id}")][: _KEEP - 1]
        seen.put(key, ";".join(kept), ttl)
    return [{"session": s, "phash": ph, "distance": d} for (s, ph), d in sorted(found.items())]
