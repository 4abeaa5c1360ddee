"""``liveness.SeenFrames`` for the OP.

Exact replays are a security decision: ``add_if_absent`` (the sha256 of every frame) goes to
the short-lived store shared by every process and node (Redis ``SET NX EX`` or its SQL
twin), so a frame submitted anywhere is refused everywhere.  Keys hold hashes, never image
bytes.

Near duplicates (the perceptual-hash index behind ``get``/``put``) are only *reported* (in
the audit trail), never a reason to refuse; their index costs a dozen reads and writes per
session, which through the shared store would cost more than the face models themselves.
They are therefore kept in a bounded per-process memory index: a near duplicate submitted
through another process goes unreported, nothing more.
"""
from __future__ import annotations

import threading


class StoreSeenFrames:
    PREFIX = "seen:"

    def __init__(self, store, *, near_duplicates=None):
        self.store = store
        self._near = near_duplicates
        self._lock = threading.Lock()

    @property
    def _local(self):
        if self._near is None:
            with self._lock:
                if self._near is None:  # lazily: liveness imports OpenCV
                    from liveness.replay import MemorySeenFrames
                    self._near = MemorySeenFrames(max_entries=50_000)
        return self._near

    def add_if_absent(self, key: str, ttl: int) -> bool:
        return self.store.add(self.PREFIX + key, "1", ttl)

    def get(self, key: str) -> str | None:
        return self._local.get(key)

    def put(self, key: str, value: str, ttl: int) -> None:
        self._local.put(key, value, ttl)
