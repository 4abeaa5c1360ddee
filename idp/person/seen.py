"""``liveness.SeenFrames`` for the OP: the replay index lives in the short-lived store.

Replays are a security decision (issue 16, item 4): a frame or clip perceptually close to one
seen in an earlier session, on any node, is refused.  So both halves of the index go to the
store shared by every process and node (Redis or its SQL twin):

- ``add_if_absent``: exact hashes (Redis ``SET NX EX``): of two concurrent uploads of the same
  bytes exactly one wins;
- ``get``/``put``: the perceptual-hash buckets the engine keeps (a few keys per clip: it hashes
  key frames, not every frame).

Keys and values hold hashes and session ids, never image bytes.
"""
from __future__ import annotations


class StoreSeenFrames:
    PREFIX = "seen:"

    def __init__(self, store):
        self.store = store

    def add_if_absent(self, key: str, ttl: int) -> bool:
        return self.store.add(self.PREFIX + key, "1", ttl)

    def get(self, key: str) -> str | None:
        value = self.store.get(self.PREFIX + key)
        return None if value is None else str(value)

    def put(self, key: str, value: str, ttl: int) -> None:
        self.store.put(self.PREFIX + key, value, ttl)
