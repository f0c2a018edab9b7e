"""`GET /metrics` on a real server, parsed with prometheus_client's own parser: request
histograms by route template (also for answers given before routing: cache hits, auth
refusals), the real cache's counters, ingest lag and job-run series from the store on
both backends, a store outage during a scrape, and the middleware's cost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from carbon254.core import Iso, market_day
from carbon254.service.metrics import UNMATCHED
from carbon254.service.metrics._http import HttpMetrics, RequestMetrics
from carbon254.service.settings import Settings
from carbon254.store import PriceStore

from ..service_helpers import FALL_BACK, PJM_DA, day_prices, price_table

Serve = Callable[..., tuple[FastAPI, httpx.Client]]
DURATION = "carbon254_http_request_duration_seconds"
RT5 = "PJM.RT5.LMP.51288"


def scrape(client: httpx.Client) -> dict[tuple[str, frozenset], float]:
    """Every sample of `/metrics`: (name, labels) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def count(samples: dict, route: str, status: str, method: str = "GET") -> float:
    labels = frozenset({"method": method, "route": route, "status": status}.items())
    return samples.get((f"{DURATION}_count", labels), 0.0)


def named(samples: dict, name: str) -> dict[frozenset, float]:
    return {labels: value for (n, labels), value in samples.items() if n == name}


def _thing_routes(app: FastAPI) -> None:
    app.add_api_route("/api/v1/things/{thing}", lambda thing: {"thing": thing})
    inner = APIRouter(prefix="/inner")
    inner.add_api_route("/parts/{part}", lambda part: {"part": part})
    app.include_router(inner, prefix="/outer")  # the route's own path lacks /outer


def test_latency_by_route_template_never_the_raw_path(store: PriceStore, serve: Serve) -> None:
    _, client = serve(store, _thing_routes)
    for thing in ("a", "b", "c"):
        assert client.get(f"/api/v1/things/{thing}").status_code == 200
    assert client.get("/outer/inner/parts/p1").status_code == 200
    assert client.get("/no/such/path/42").status_code == 404
    assert client.get("/api/v1/jobs", params={"limit": 0}).status_code == 422
    samples = scrape(client)
    assert count(samples, "/api/v1/things/{thing}", "200") == 3
    assert count(samples, UNMATCHED, "404") == 1
    assert count(samples, "/api/v1/jobs", "422") == 1
    assert count(samples, "/outer/inner/parts/{part}", "200") == 1
    routes = {dict(labels)["route"] for labels in named(samples, f"{DURATION}_count")}
    assert not any("/things/a" in r or "/42" in r for r in routes)
    bucket = frozenset(
        {"method": "GET", "route": "/api/v1/things/{thing}", "status": "200", "le": "10.0"}.items()
    )
    assert samples[(f"{DURATION}_bucket", bucket)] == 3
    # The scrape itself is in flight while it is served.
    assert samples[("carbon254_http_requests_in_flight", frozenset())] == 1
    assert count(scrape(client), "/api/v1/things/{thing}", "200") == 3  # counts stay put
    client.get("/api/v1/things/d")
    assert count(scrape(client), "/api/v1/things/{thing}", "200") == 4


def test_answers_given_before_routing_get_their_template(seeded: PriceStore, serve: Serve) -> None:
    """The cache answers a hit, and auth a refusal, before the router runs."""
    _, client = serve(seeded)
    query = {"instruments": PJM_DA, "start": "2024-11-03", "end": "2024-11-04"}
    assert [client.get("/api/v1/prices", params=query).headers["x-cache"] for _ in range(2)] == [
        "miss", "hit",
    ]  # fmt: skip
    samples = scrape(client)
    assert count(samples, "/api/v1/prices", "200") == 2
    cache = {
        name: named(samples, f"carbon254_cache_{name}")
        for name in ("hits_total", "misses_total", "errors_total", "hit_ratio")
    }
    memory = frozenset({"backend": "memory"}.items())
    assert {name: series[memory] for name, series in cache.items()} == {
        "hits_total": 1, "misses_total": 1, "errors_total": 0, "hit_ratio": 0.5,
    }  # fmt: skip

    _, guarded = serve(seeded, settings=Settings(auth=True))
    assert guarded.get("/api/v1/jobs").status_code == 401
    assert count(scrape(guarded), "/api/v1/jobs", "401") == 1  # /metrics needs no credentials


def test_no_cache_no_cache_series_and_apps_do_not_share(store: PriceStore, serve: Serve) -> None:
    def no_cache(app: FastAPI) -> None:
        del app.state.cache

    _, first = serve(store, no_cache)
    _, second = serve(store)
    first.get("/ready")
    samples = scrape(first)
    assert not any(name.startswith("carbon254_cache_") for name, _ in samples)
    assert count(samples, "/ready", "200") == 1
    assert count(scrape(second), "/ready", "200") == 0  # its own registry


def _five_minute_prices(store: PriceStore, end: datetime) -> None:
    starts = [end - timedelta(minutes=5 * k) for k in (3, 2, 1)]
    store.upsert_prices(
        price_table(RT5, starts, [30.0, 31.0, 32.0]), source="pjm.rt_fivemin_hrl_lmps"
    )


def test_ingest_lag_and_job_runs_from_the_store(backend_store: PriceStore, serve: Serve) -> None:
    now = datetime.now(UTC)
    end = now.replace(second=0, microsecond=0) - timedelta(minutes=10 + now.minute % 5)
    _five_minute_prices(backend_store, end)
    backend_store.upsert_prices(day_prices(PJM_DA, FALL_BACK), source="pjm.da_hrl_lmps")
    window = market_day(Iso.PJM, FALL_BACK)
    ok = backend_store.start_job_run("pjm_rt_ingestion", "pjm.rt_fivemin_hrl_lmps", *window)
    backend_store.finish_job_run(ok, status="succeeded", attempts=1, rows=3)
    finished = time.time()
    bad = backend_store.start_job_run("pjm_da_ingestion", "pjm.da_hrl_lmps", *window)
    backend_store.finish_job_run(bad, status="failed", attempts=3, error="HTTP 503")
    app, client = serve(backend_store)

    before = time.time()
    samples = scrape(client)
    after = time.time()
    assert samples[("carbon254_store_up", frozenset())] == 1
    lag = named(samples, "carbon254_ingest_lag_seconds")
    rt = lag[frozenset({"dataset": "pjm.rt_fivemin_hrl_lmps"}.items())]
    assert before - end.timestamp() - 1 <= rt <= after - end.timestamp() + 1
    da_end = datetime(2024, 11, 4, 5, tzinfo=UTC).timestamp()  # end of the 25-hour day
    da = lag[frozenset({"dataset": "pjm.da_hrl_lmps"}.items())]
    assert before - da_end - 1 <= da <= after - da_end + 1
    assert len(lag) == 2  # datasets with nothing stored have no lag
    success = named(samples, "carbon254_ingest_last_success_timestamp_seconds")
    assert success == {
        frozenset({"job": "pjm_rt_ingestion"}.items()): pytest.approx(finished, abs=5)
    }
    failed = named(samples, "carbon254_ingest_failed_runs_total")
    assert failed[frozenset({"job": "pjm_da_ingestion"}.items())] == 1
    assert failed[frozenset({"job": "pjm_rt_ingestion"}.items())] == 0

    again = backend_store.start_job_run("pjm_da_ingestion", "pjm.da_hrl_lmps", *window)
    backend_store.finish_job_run(again, status="failed", attempts=3, error="HTTP 503")
    cached = named(scrape(client), "carbon254_ingest_failed_runs_total")
    assert cached[frozenset({"job": "pjm_da_ingestion"}.items())] == 1  # read seconds ago
    app.state.metrics.ingest.ttl = 0
    fresh = named(scrape(client), "carbon254_ingest_failed_runs_total")
    assert fresh[frozenset({"job": "pjm_da_ingestion"}.items())] == 2
    fresh = named(scrape(client), "carbon254_ingest_failed_runs_total")
    assert fresh[frozenset({"job": "pjm_da_ingestion"}.items())] == 2  # each run counted once


def test_a_store_outage_does_not_break_the_scrape(
    backend_store: PriceStore, serve: Serve, store_outage
) -> None:
    _five_minute_prices(backend_store, datetime(2025, 1, 1, tzinfo=UTC))
    app, client = serve(backend_store)
    assert named(scrape(client), "carbon254_ingest_lag_seconds")
    app.state.metrics.ingest.ttl = 0
    with store_outage():
        samples = scrape(client)
        assert samples[("carbon254_store_up", frozenset())] == 0
        assert not named(samples, "carbon254_ingest_lag_seconds")
        assert count(samples, "/metrics", "200") >= 1
    if backend_store.backend == "postgres":  # the server is back: so are the series
        samples = scrape(client)
        assert samples[("carbon254_store_up", frozenset())] == 1
        assert named(samples, "carbon254_ingest_lag_seconds")


async def _bare(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class _Route:
    path_format = "/api/v1/curves/{instrument}"


def _per_call(app, scope: dict, calls: int) -> float:
    async def run() -> float:
        async def receive() -> dict:
            return {"type": "http.request"}

        async def send(message: dict) -> None:
            return None

        began = time.perf_counter()
        for _ in range(calls):
            await app(dict(scope), receive, send)
        return (time.perf_counter() - began) / calls

    return asyncio.run(run())


def test_the_middleware_costs_well_under_a_tenth_of_a_millisecond() -> None:
    metrics = RequestMetrics(CollectorRegistry(), routes=lambda: [])
    wrapped = HttpMetrics(_bare, metrics=metrics)
    routed = {"type": "http", "method": "GET", "path": "/api/v1/curves/X", "route": _Route()}
    unrouted = {"type": "http", "method": "GET", "path": "/api/v1/prices"}  # memoized
    overheads = []
    for scope in (routed, unrouted):
        bare = min(_per_call(_bare, scope, 2000) for _ in range(5))
        timed = min(_per_call(wrapped, scope, 2000) for _ in range(5))
        overheads.append(timed - bare)
    print(f"metrics middleware overhead per request: {[f'{o * 1e6:.1f} us' for o in overheads]}")
    assert max(overheads) < 100e-6
    assert metrics.duration.labels("GET", "/api/v1/curves/{instrument}", "200")._sum.get() > 0
