"""One contract for every short-lived store: SQL on SQLite, SQL on PostgreSQL, Redis."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from idp.store.ephemeral import EphemeralStore

VALUES = [{"a": 1, "nested": {"list": [1, "two", None]}}, ["x", 2], "text", 42, "中文"]


def test_is_an_ephemeral_store(backend):
    assert isinstance(backend.store, EphemeralStore)


@pytest.mark.parametrize("value", VALUES)
def test_put_get_round_trips_json_values(backend, value):
    backend.store.put("code:a", value, 60)
    assert backend.store.get("code:a") == value


def test_get_many_reads_each_key_in_order(backend):
    s = backend.store
    s.put("a", {"n": 1}, 60)
    s.put("c", [3], 1)
    backend.advance(2)  # "c" expires
    assert s.get_many(["a", "b", "c"]) == [{"n": 1}, None, None]


def test_take_marking_takes_once_and_leaves_the_marker(backend):
    s = backend.store
    s.put("code:x", {"grant_id": "g1", "claims": "secret"}, 60)
    assert s.take_marking("code:x", "code-used:x", "grant_id", 600) == {
        "grant_id": "g1", "claims": "secret"}
    assert s.get("code:x") is None
    assert s.get("code-used:x") == {"grant_id": "g1"}  # only the field, nothing else
    assert 590 <= s.ttl("code-used:x") <= 600
    assert s.take_marking("code:x", "code-used:x", "grant_id", 600) is None
    assert s.take_marking("code:none", "code-used:none", "grant_id", 600) is None
    assert s.get("code-used:none") is None


def test_get_missing_is_none(backend):
    assert backend.store.get("code:missing") is None


def test_put_replaces_value_and_ttl(backend):
    s = backend.store
    s.put("k", "old", 1)
    s.put("k", "new", 60)
    backend.advance(1.2)
    assert s.get("k") == "new"


def test_put_expires(backend):
    s = backend.store
    s.put("k", {"v": 1}, 1)
    assert s.get("k") == {"v": 1}
    backend.advance(1.2)
    assert s.get("k") is None
    assert s.ttl("k") is None
    assert s.take("k") is None


def test_take_returns_once(backend):
    s = backend.store
    s.put("code:x", {"sub": "s1"}, 60)
    assert s.take("code:x") == {"sub": "s1"}
    assert s.take("code:x") is None
    assert s.get("code:x") is None


def test_delete(backend):
    s = backend.store
    s.put("k", 1, 60)
    s.delete("k")
    s.delete("k")  # deleting an absent key is fine
    assert s.get("k") is None


def test_add_if_absent(backend):
    s = backend.store
    assert s.add("jti:1", "first", 60) is True
    assert s.add("jti:1", "second", 60) is False
    assert s.get("jti:1") == "first"


def test_add_after_expiry_succeeds(backend):
    s = backend.store
    assert s.add("jti:2", "first", 1) is True
    backend.advance(1.2)
    assert s.add("jti:2", "second", 60) is True
    assert s.get("jti:2") == "second"
    assert s.ttl("jti:2") > 1


def test_incr_counts_and_keeps_first_ttl(backend):
    s = backend.store
    assert s.incr("attempts:u", 2) == 1
    assert s.ttl("attempts:u") == 2
    backend.advance(1.1)
    assert s.incr("attempts:u", 2) == 2  # the TTL passed again must not extend it
    assert s.ttl("attempts:u") == 1
    backend.advance(1.0)
    assert s.get("attempts:u") is None
    assert s.incr("attempts:u", 5) == 1  # expired: starts again, with the new TTL
    assert 4 <= s.ttl("attempts:u") <= 5


def test_incr_value_readable_with_get(backend):
    s = backend.store
    for expected in (1, 2, 3):
        assert s.incr("n", 60) == expected
    assert s.get("n") == 3


def test_ttl(backend):
    s = backend.store
    assert s.ttl("absent") is None
    s.put("k", "v", 30)
    assert 29 <= s.ttl("k") <= 30
    backend.advance(2.2)
    assert 26 <= s.ttl("k") <= 28


@pytest.mark.parametrize("ttl", [0, -1, 1.5, None, True])
def test_bad_ttl_rejected(backend, ttl):
    with pytest.raises(ValueError):
        backend.store.put("k", "v", ttl)


def test_keys_are_prefixed(backend):
    """Two stores with different prefixes do not see each other's keys."""
    assert backend.store.prefix
    backend.store.put("k", "v", 60)
    other = backend.store.__class__.__new__(backend.store.__class__)
    other.__dict__.update(backend.store.__dict__, prefix=backend.store.prefix + "other:")
    assert other.get("k") is None


def _race(pool: ThreadPoolExecutor, threads: int, action) -> list:
    barrier = threading.Barrier(threads)

    def run(i):
        barrier.wait()
        return action(i)

    return list(pool.map(run, range(threads)))


def test_take_once_under_concurrency(backend):
    s, threads = backend.store, 16
    with ThreadPoolExecutor(threads) as pool:
        for round_ in range(200):
            key = f"code:race{round_}"
            s.put(key, {"round": round_}, 60)
            results = _race(pool, threads, lambda _i: s.take(key))
            winners = [r for r in results if r is not None]
            assert winners == [{"round": round_}], f"round {round_}: {results}"


def test_add_if_absent_has_one_winner_under_concurrency(backend):
    s, threads = backend.store, 16
    with ThreadPoolExecutor(threads) as pool:
        for round_ in range(200):
            key = f"nonce:race{round_}"
            results = _race(pool, threads, lambda i: s.add(key, i, 60))
            assert results.count(True) == 1, f"round {round_}: {results}"
            assert s.get(key) == results.index(True)


def test_incr_under_concurrency_counts_every_call(backend):
    s, threads = backend.store, 16
    with ThreadPoolExecutor(threads) as pool:
        results = _race(pool, threads, lambda _i: s.incr("attempts:race", 60))
    assert sorted(results) == list(range(1, threads + 1))
