"""The two backends: the in-process LRU (byte budget, TTL) and Redis (real server)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from carbon254.service.cache import CachedResponse, MemoryBackend, RedisBackend
from carbon254.service.cache.backend import pack, unpack

HEADERS = (
    (b"content-type", b"application/json"),
    (b"vary", b"Accept"),
    (b"link", b"<x>; rel=next"),
)


def entry(body: bytes, status: int = 200) -> CachedResponse:
    return CachedResponse(status, HEADERS, body)


def test_an_entry_survives_packing_and_foreign_bytes_are_a_miss():
    original = entry(bytes(range(256)) * 100)
    assert unpack(pack(original)) == original
    assert unpack(b"") is None and unpack(b"not ours") is None
    assert unpack(pack(original)[:8]) is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_lru_keeps_its_byte_budget_and_drops_the_least_recently_used():
    async def scenario() -> None:
        size = entry(b"x" * 1000).size
        lru = MemoryBackend(3 * size)
        for key in "abc":
            await lru.set(key, entry(b"x" * 1000), 60)
        assert await lru.get("a") is not None  # a is now the most recently used
        await lru.set("d", entry(b"x" * 1000), 60)
        assert [k for k in "abcd" if await lru.get(k) is not None] == ["a", "c", "d"]
        assert lru.bytes == 3 * size and lru.evictions == 1
        await lru.set("huge", entry(b"x" * 4 * size), 60)  # larger than the budget: skipped
        assert await lru.get("huge") is None and len(lru) == 3
        await lru.set("a", entry(b"y" * 10), 60)  # replacing frees the old entry's bytes
        assert lru.bytes == 2 * size + entry(b"y" * 10).size

    asyncio.run(scenario())


def test_an_lru_entry_past_its_ttl_is_a_miss():
    async def scenario() -> None:
        clock = Clock()
        lru = MemoryBackend(10_000, clock=clock)
        await lru.set("k", entry(b"body"), 5)
        clock.now = 4.9
        assert (await lru.get("k")).body == b"body"
        clock.now = 5.0
        assert await lru.get("k") is None and lru.bytes == 0

    asyncio.run(scenario())


def test_redis_stores_entries_with_a_ttl_and_locks_one_holder(redis_url: str, namespace: str):
    import redis

    key = f"{namespace}:v1:resp:/api/v1/prices?x"

    async def scenario() -> None:
        backend = RedisBackend(redis_url)
        try:
            assert await backend.ping()
            assert await backend.get(key) is None
            await backend.set(key, entry(b"\x00body\xff"), 2.5)
            assert await backend.get(key) == entry(b"\x00body\xff")
            token = await backend.acquire(key, 5000)
            assert token and await backend.locked(key)
            assert await backend.acquire(key, 5000) is None  # one holder at a time
            await backend.release(key, "not-the-token")  # someone else's release is a no-op
            assert await backend.locked(key)
            await backend.release(key, token)
            assert not await backend.locked(key)
        finally:
            await backend.aclose()

    asyncio.run(scenario())
    with redis.Redis.from_url(redis_url) as r:
        assert 2000 < r.pttl(key) <= 2500
        assert r.exists(key.replace(":resp:", ":lock:")) == 0


def test_an_unreachable_redis_is_reported_not_hung_on():
    from carbon254.service.cache import CacheUnavailable

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def scenario() -> None:
        backend = RedisBackend(f"redis://127.0.0.1:{port}/0")
        assert await backend.ping() is False
        with pytest.raises(CacheUnavailable):
            await backend.get("k")
        await backend.aclose()

    asyncio.run(scenario())
