"""The whole gateway at once, as production runs it: a real uvicorn server over the store
(DuckDB and PostgreSQL), the Redis cache and change feed, authentication on with an API
key, REST and GraphQL side by side, data arriving through the real ingest path.

Each part has its own suite; this one checks that they hold together: an ingest
invalidates the cached answer both REST and GraphQL see, refusals are not served from
the cache, and the probes and metrics report the parts that are configured.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import redis
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from carbon254.connectors.http import RawResponse
from carbon254.core import Iso
from carbon254.ingest import events
from carbon254.ingest.runner import parse_and_store
from carbon254.service import create_app
from carbon254.service.auth.apikeys import create_key
from carbon254.service.settings import Settings
from carbon254.store import open_store
from carbon254.store.base import PriceStore

from ..ingest.fakes import FakeRtPrices, day_payload

NODE = "PJM.RT5.LMP.51288"
DAY = date(2025, 10, 15)
PRICES = {"instruments": NODE, "start": "2025-10-15T04:00:00Z", "end": "2025-10-16T04:00:00Z"}
GRAPHQL = {
    "query": "query($ids: [ID!]!, $s: DateTime!, $e: DateTime!) "
    "{ prices(instruments: $ids, start: $s, end: $e) { instrument { id } series { value } } }",
    "variables": {"ids": [NODE], "s": PRICES["start"], "e": PRICES["end"]},
}


def _ingest(store: PriceStore, price: float) -> None:
    """A market day of 5-minute prices for NODE through parse, store and announce."""
    content = day_payload(Iso.PJM, DAY, ("51288",), step=timedelta(minutes=5), price=price)
    raw = RawResponse("test.rt_prices", "https://upstream.test/rt", datetime.now(UTC), content)
    assert parse_and_store(FakeRtPrices(), [raw], store).changed == 288


@pytest.fixture
def store(store_url: str) -> Iterator[PriceStore]:
    """DuckDB and PostgreSQL (the root conftest's `store_url`), not this folder's DuckDB."""
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def stack(
    store: PriceStore, redis_url: str, live_server: Callable[[FastAPI], str]
) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of a production-shaped server; its Redis keys removed after."""
    namespace = f"c254stack{uuid.uuid4().hex[:8]}"
    settings = Settings(auth=True, redis_url=redis_url, redis_namespace=namespace)
    _, key = create_key(store, "stack", ["read"])
    try:
        yield live_server(create_app(store, settings=settings)), key
    finally:
        events.set_default_change_feed(None)
        with redis.Redis.from_url(redis_url) as r:
            for name in r.scan_iter(f"{namespace}*"):
                r.delete(name)


def test_the_gateway_holds_together(store: PriceStore, stack: tuple[str, str]) -> None:
    base, key = stack
    _ingest(store, 30.0)
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10) as http:
        first = http.get("/api/v1/prices", params=PRICES)
        again = http.get("/api/v1/prices", params=PRICES)
        assert (first.status_code, first.headers["x-cache"]) == (200, "miss")
        assert (again.headers["x-cache"], again.content) == ("hit", first.content)
        values = first.json()["columns"]["value"]
        assert len(values) == 288

        # A cached answer is still refused to a caller without a valid key.
        assert httpx.get(f"{base}/api/v1/prices", params=PRICES).status_code == 401
        bad = httpx.get(f"{base}/api/v1/prices", params=PRICES, headers={"X-API-Key": "c254_x"})
        assert bad.status_code == 401 and "c254_x" not in bad.text

        # New data through the ingest path: REST and GraphQL both see it at once.
        _ingest(store, 31.5)
        fresh = http.get("/api/v1/prices", params=PRICES)
        assert fresh.headers["x-cache"] == "miss"
        shifted = [v + 1.5 for v in values]  # the payload's shape, 1.5 $/MWh higher
        assert fresh.json()["columns"]["value"] == pytest.approx(shifted)
        graphql = http.post("/graphql", json=GRAPHQL).json()
        assert "errors" not in graphql
        assert graphql["data"]["prices"][0]["series"]["value"] == pytest.approx(shifted)

        ready = http.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["cache"] == "ok" and ready.json()["backends"]["cache"] == "redis"
        families = {f.name: f for f in text_string_to_metric_families(http.get("/metrics").text)}
    hits = [s.value for s in families["carbon254_cache_hits"].samples if s.name.endswith("_total")]
    assert hits == [1.0]
    routes = {
        s.labels.get("route") for s in families["carbon254_http_request_duration_seconds"].samples
    }
    assert {"/api/v1/prices", "/graphql"} <= routes
