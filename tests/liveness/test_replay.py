"""Seen-frame store, perceptual hash and near-duplicate index: no models needed."""
from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from liveness.replay import (MemorySeenFrames, SeenFrames, band_keys, hamming, phash,
                             record_and_find)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_memory_store_is_a_seen_frames():
    assert isinstance(MemorySeenFrames(), SeenFrames)


def test_add_if_absent_and_ttl():
    clock = Clock()
    seen = MemorySeenFrames(clock=clock)
    assert seen.add_if_absent("k", ttl=10) is True
    assert seen.add_if_absent("k", ttl=10) is False
    clock.now += 9.9
    assert seen.add_if_absent("k", ttl=10) is False
    clock.now += 0.2
    assert seen.add_if_absent("k", ttl=10) is True   # expired, stored again


def test_put_get_ttl():
    clock = Clock()
    seen = MemorySeenFrames(clock=clock)
    assert seen.get("a") is None
    seen.put("a", "x", ttl=5)
    seen.put("a", "y", ttl=5)
    assert seen.get("a") == "y"
    clock.now += 6
    assert seen.get("a") is None


def test_bounded():
    seen = MemorySeenFrames(max_entries=3)
    for i in range(10):
        seen.put(str(i), "v", ttl=100)
    assert len(seen) == 3 and seen.get("9") == "v" and seen.get("0") is None


def test_add_if_absent_is_atomic_across_threads():
    seen = MemorySeenFrames()
    wins = []
    barrier = threading.Barrier(16)

    def worker():
        barrier.wait()
        for i in range(200):
            if seen.add_if_absent(f"key{i}", ttl=60):
                wins.append(i)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == list(range(200))  # each key won exactly once


def _scene(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (640, 480),
                     interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(img, (0, 0), 3)


def test_phash_robust_to_reencoding_but_separates_scenes():
    a = _scene(1)
    h = phash(a)
    reencoded = cv2.imdecode(cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_QUALITY, 50])[1], 1)
    assert hamming(h, phash(reencoded)) <= 4
    assert hamming(h, phash(cv2.resize(a, (320, 240)))) <= 4
    assert hamming(h, phash(cv2.convertScaleAbs(a, alpha=1.0, beta=20))) <= 6
    assert min(hamming(h, phash(_scene(s))) for s in range(2, 12)) > 12
    assert 0 <= h < 2 ** 64


def test_band_keys_partition_the_hash():
    h = 0x0123456789ABCDEF
    keys = band_keys(h)
    assert len(keys) == 6 and len(set(keys)) == 6
    # flipping one bit changes exactly one band key
    for bit in (0, 13, 40, 63):
        changed = [a != b for a, b in zip(keys, band_keys(h ^ (1 << bit)))]
        assert sum(changed) == 1


def test_record_and_find_across_sessions():
    seen = MemorySeenFrames()
    h = 0x0F0F_F0F0_1234_5678
    assert record_and_find(seen, h, "s1", 8, ttl=60) == []
    assert record_and_find(seen, h ^ 0b101, "s1", 8, ttl=60) == []   # same session: not reported
    hits = record_and_find(seen, h ^ (1 << 63) ^ (1 << 20) ^ 1, "s2", 8, ttl=60)
    assert {x["session"] for x in hits} == {"s1"}
    assert min(x["distance"] for x in hits) == 3
    far = h ^ int("1" * 30, 2)
    assert all(x["distance"] <= 8 for x in record_and_find(seen, far, "s3", 8, ttl=60))


@pytest.mark.parametrize("bad", ["", "x:y", "zz:s;", ";;;"])
def test_record_and_find_ignores_garbage_values(bad):
    seen = MemorySeenFrames()
    for key in band_keys(42):
        seen.put(key, bad, ttl=60)
    assert record_and_find(seen, 42, "s", 8, ttl=60) == []


def test_one_session_does_not_evict_the_others():
    seen = MemorySeenFrames()
    h = 0x1234_5678_9ABC_DEF0
    record_and_find(seen, h, "victim", 8, ttl=60)
    for i in range(20):  # a long session of near-identical frames
        record_and_find(seen, h ^ (1 << (i % 3)), "busy", 8, ttl=60)
    hits = record_and_find(seen, h, "later", 8, ttl=60)
    assert {x["session"] for x in hits} == {"victim", "busy"}
