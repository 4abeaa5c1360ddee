"""``liveness.SeenFrames`` on the OP's short-lived store, so replay detection holds across
every process and node (Redis ``SET NX EX`` or the SQL twin).  Keys hold frame hashes
(sha256, perceptual hashes), never image bytes."""
from __future__ import annotations


class StoreSeenFrames:
    PREFIX = "seen:"

    def __init__(self, store):
        self.store = store

    def add_if_absent(self, key: str, ttl: int) -> bool:
        return self.store.add(self.PREFIX + key, "1", ttl)

    def get(self, key: str) -> str | None:
        value = self.store.get(self.PREFIX + key)
        return value if isinstance(value, str) else None

    def put(self, key: str, value: str, ttl: int) -> None:
        self.store.put(self.PREFIX + key, value, ttl)
