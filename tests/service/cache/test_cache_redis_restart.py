"""The API survives its Redis going away and uses it again when it returns.

The test runs a redis-server of its own on a free port (never the shared one)."""

from __future__ import annotations

import asyncio
import logging
import time

from carbon254.service.settings import Settings

from .conftest import prices_url


def test_requests_survive_a_redis_restart(serve, day_store, reads, own_redis, caplog):
    http = serve(day_store, Settings(auth=False, redis_url=own_redis.url))
    cache = http.app.state.cache
    assert [http.get(prices_url()).headers["x-cache"] for _ in range(2)] == ["miss", "hit"]

    own_redis.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="carbon254.service.cache"):
        down = [http.get(prices_url()) for _ in range(5)]
        time.sleep(1.1)  # past the retry pause: the cache is tried (and fails) again
        down += [http.get(prices_url()) for _ in range(3)]
    assert all(r.status_code == 200 for r in down)
    assert {r.headers["x-cache"] for r in down} == {"bypass"}
    assert len({r.content for r in down}) == 1
    assert cache.stats()["errors"] >= 2 and cache.stats()["bypasses"] == 8
    warnings = [r for r in caplog.records if r.name == "carbon254.service.cache"]
    assert len(warnings) == 1  # one warning, not one per request
    assert "answering from the store" in warnings[0].getMessage()
    assert asyncio.run(_ping(cache)) is False

    own_redis.start()  # same port, empty: the generations' epoch is new
    deadline = time.monotonic() + 5
    seen = []
    while time.monotonic() < deadline and seen[-2:] != ["miss", "hit"]:
        response = http.get(prices_url())
        assert response.status_code == 200
        seen.append(response.headers["x-cache"])
        time.sleep(0.1)
    assert seen[-2:] == ["miss", "hit"], seen
    assert reads.count == 1 + 8 + seen.count("bypass") + 1


async def _ping(cache) -> bool:
    try:
        return await cache.ping()
    finally:
        await cache.backend.aclose()  # this loop's client; the server's loop has its own
