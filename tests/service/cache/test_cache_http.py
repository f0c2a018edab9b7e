"""The response cache on a live server: hit/miss/bypass, keys, invalidation, TTLs,
single-flight. Every test runs with the in-process LRU and with Redis where it matters."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from carbon254.service.formats import ARROW_STREAM
from carbon254.service.settings import Settings

from .conftest import END, NODE, OTHER, START, Reads, ingest_day, prices_url


def test_a_repeated_request_is_a_hit_served_without_the_store(serve, day_store, reads, settings):
    http = serve(day_store, settings)
    first = http.get(prices_url())
    second = http.get(prices_url())
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert second.content == first.content and orjson.loads(second.content)["row_count"] == 288
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["vary"] == "Accept"
    assert int(second.headers["content-length"]) == len(first.content)
    assert reads.count == 1
    stats = http.app.state.cache.stats()
    assert stats == {
        "hits": 1,
        "misses": 1,
        "bypasses": 0,
        "errors": 0,
        "coalesced": 0,
        "backend": "redis" if settings.redis_url else "memory",
    }


def test_the_key_differs_by_accept_format_and_query_but_not_by_spelling(serve, day_store, reads):
    http = serve(day_store, Settings(auth=False))
    assert http.get(prices_url()).headers["x-cache"] == "miss"
    arrow = http.get(prices_url(), headers={"Accept": ARROW_STREAM})
    assert arrow.headers["x-cache"] == "miss" and arrow.headers["content-type"] == ARROW_STREAM
    again = http.get(prices_url(), headers={"Accept": ARROW_STREAM})
    assert again.headers["x-cache"] == "hit" and again.content == arrow.content
    assert http.get(prices_url(format="json")).headers["x-cache"] == "miss"
    assert http.get(prices_url(end="2025-10-15T12:00:00Z")).headers["x-cache"] == "miss"
    # the same request spelled differently: parameters reordered, ids in lower case,
    # the instrument list split over repeated parameters
    reordered = f"/api/v1/prices?end={END}&start={START}&instruments={NODE.lower()}"
    assert http.get(reordered).headers["x-cache"] == "hit"
    both = http.get(prices_url(f"{NODE},{OTHER}"))
    split = http.get(prices_url(NODE) + f"&instruments={OTHER}")
    assert (both.headers["x-cache"], split.headers["x-cache"]) == ("miss", "hit")
    assert split.content == both.content
    assert reads.count == 5


def test_a_malformed_id_bypasses_the_cache_and_gets_the_routes_422(serve, day_store, reads):
    http = serve(day_store, Settings(auth=False))
    for _ in range(2):
        bad = http.get(prices_url("PJM.NOPE.LMP.1"))
        assert bad.status_code == 422 and bad.headers["x-cache"] == "bypass"
        assert bad.headers["content-type"] == "application/problem+json"
    assert http.app.state.cache.stats()["bypasses"] == 2
    # an error of the route is never stored: a 404 for an unknown instrument stays a miss
    for _ in range(2):
        unknown = http.get(prices_url("PJM.RT5.LMP.99999"))
        assert unknown.status_code == 404 and unknown.headers["x-cache"] == "miss"
    # other paths are not the cache's business
    assert "x-cache" not in http.get("/api/v1/instruments").headers


def test_an_ingest_invalidates_exactly_the_instruments_it_changed(
    serve, day_store, reads, settings
):
    http = serve(day_store, settings)
    node, other = http.get(prices_url(NODE)), http.get(prices_url(OTHER))
    assert http.get(prices_url(NODE)).headers["x-cache"] == "hit"
    ingest_day(day_store, NODE, price=99.0)  # the real runner path publishes the batch
    after = http.get(prices_url(NODE))
    assert after.headers["x-cache"] == "miss"
    old, new = orjson.loads(node.content), orjson.loads(after.content)
    assert new["columns"]["value"] != old["columns"]["value"]
    assert new["columns"]["value"][0] == pytest.approx(99.0 + 1.25 + 0.5)
    assert http.get(prices_url(NODE)).headers["x-cache"] == "hit"
    untouched = http.get(prices_url(OTHER))
    assert untouched.headers["x-cache"] == "hit" and untouched.content == other.content
    assert reads.count == 3


def _live_url() -> str:
    now = datetime.now(UTC)
    return prices_url(start=(now - timedelta(hours=1)).isoformat(), end=now.isoformat()).replace(
        "+00:00", "Z"
    )


def test_the_live_tail_expires_quickly_and_history_does_not(serve, day_store, reads):
    http = serve(day_store, Settings(auth=False, cache_live_ttl_seconds=1, cache_ttl_seconds=60))
    live, history = _live_url(), prices_url()
    assert [http.get(u).headers["x-cache"] for u in (live, history, live, history)] == [
        "miss",
        "miss",
        "hit",
        "hit",
    ]
    time.sleep(1.25)  # past the live TTL (1 s + 10 % jitter at most)
    assert http.get(live).headers["x-cache"] == "miss"
    assert http.get(history).headers["x-cache"] == "hit"


def test_redis_entries_carry_the_live_or_history_ttl(serve, day_store, reads, redis_url, namespace):
    import redis

    settings = Settings(
        auth=False,
        redis_url=redis_url,
        redis_namespace=namespace,
        cache_live_ttl_seconds=30,
        cache_ttl_seconds=3600,
    )
    http = serve(day_store, settings)
    http.get(_live_url())
    http.get(prices_url())
    with redis.Redis.from_url(redis_url) as r:
        ttls = sorted(r.pttl(k) for k in r.scan_iter(match=f"{namespace}:v1:resp:*"))
        assert not list(r.scan_iter(match=f"{namespace}:v1:lock:*"))  # locks released
    assert len(ttls) == 2
    assert 27_000 * 0.99 <= ttls[0] <= 33_000  # 30 s ± 10 %
    assert 3_590_000 <= ttls[1] <= 3_600_000


def _concurrently(http, url: str, n: int) -> list[str]:
    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(lambda _: http.get(url), range(n)))
    assert all(r.status_code == 200 for r in responses)
    assert len({r.content for r in responses}) == 1
    return sorted(r.headers["x-cache"] for r in responses)


def test_concurrent_misses_share_one_store_read(serve, day_store, reads: Reads):
    http = serve(day_store, Settings(auth=False))
    reads.delay = 0.3  # every request arrives while the first one is still reading
    assert _concurrently(http, prices_url(), 8) == ["hit"] * 7 + ["miss"]
    assert reads.count == 1
    assert http.app.state.cache.stats()["coalesced"] == 7


def test_processes_sharing_redis_wait_for_one_computation(
    serve, day_store, reads: Reads, redis_url, namespace
):
    settings = Settings(auth=False, redis_url=redis_url, redis_namespace=namespace)
    # two apps with caches of their own stand for two API processes on one Redis
    one, two = serve(day_store, settings), serve(day_store, settings)
    reads.delay = 0.3
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(one.get, prices_url())
        time.sleep(0.05)  # the first holds the lock when the second misses
        second = pool.submit(two.get, prices_url())
        a, b = first.result(), second.result()
    assert (a.headers["x-cache"], b.headers["x-cache"]) == ("miss", "hit")
    assert a.content == b.content
    assert reads.count == 1


def test_a_repeated_single_valued_parameter_is_not_taken_for_a_list(serve, day_store, reads):
    """`hub` is one id: repeated, the route reads the last; as a list it is a 422. A
    cached answer to the one must not be served for the other."""
    http = serve(day_store, Settings(auth=False))
    spreads = f"/api/v1/spreads?nodes={OTHER}&start={START}&end={END}"
    repeated = http.get(f"{spreads}&hub={OTHER}&hub={NODE}")
    assert repeated.status_code == 200 and orjson.loads(repeated.content)["hub"] == NODE
    assert http.get(f"{spreads}&hub={OTHER}&hub={NODE}").headers["x-cache"] == "hit"
    listed = http.get(f"{spreads}&hub={OTHER},{NODE}")
    assert listed.status_code == 422, listed.headers.get("x-cache")
