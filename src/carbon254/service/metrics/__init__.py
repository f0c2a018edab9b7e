"""Prometheus metrics of one application: `install_metrics(app)` and `GET /metrics`.

Every application gets its own `CollectorRegistry` (`app.state.metrics_registry`), never
prometheus_client's global one: two applications in one process (tests, `serve
--service` parts) must not share or clash over series. Series:

- `carbon254_http_request_duration_seconds{method,route,status}` (histogram, route
  templates only) and `carbon254_http_requests_in_flight`: the outermost middleware.
- `carbon254_cache_{hits,misses,errors}_total`, `carbon254_cache_hit_ratio`: read from
  `app.state.cache.stats()` at scrape time (absent cache, no series).
- `carbon254_ingest_lag_seconds{dataset}`, `carbon254_ingest_last_success_timestamp_
  seconds{job}`, `carbon254_ingest_failed_runs_total{job}`, `carbon254_store_up`: read
  from the store at scrape time, cached for `refresh_seconds`.

`/metrics` needs no credentials (probes and Prometheus scrape it); do not route it to
the public internet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Header
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.responses import Response

from ._cache import CacheCollector
from ._http import BUCKETS, UNMATCHED, HttpMetrics, RequestMetrics
from ._ingest import IngestCollector

__all__ = ["BUCKETS", "UNMATCHED", "AppMetrics", "IngestCollector", "install_metrics"]


@dataclass(frozen=True, slots=True)
class AppMetrics:
    """What `install_metrics` put on `app.state.metrics`."""

    registry: CollectorRegistry
    requests: RequestMetrics
    ingest: IngestCollector


def install_metrics(app: FastAPI, *, refresh_seconds: float = 10.0) -> AppMetrics:
    """Add the request-timing middleware (call it last: it must be the outermost), the
    cache and ingest collectors, and `GET /metrics`; kept on `app.state.metrics`."""
    registry = CollectorRegistry(auto_describe=False)
    requests = RequestMetrics(registry, routes=lambda: app.router.routes)
    ingest = IngestCollector(lambda: app.state.store, ttl=refresh_seconds)
    registry.register(CacheCollector(app.state))
    registry.register(ingest)
    app.state.metrics = metrics = AppMetrics(registry, requests, ingest)
    app.add_middleware(HttpMetrics, metrics=requests)

    def scrape(accept: Annotated[str | None, Header()] = None) -> Response:
        # Sync on purpose: the ingest collector may read the store (in the thread pool).
        encoder, content_type = choose_encoder(accept or "")
        return Response(encoder(registry), media_type=content_type)

    app.add_api_route("/metrics", scrape, methods=["GET"], include_in_schema=False)
    return metrics
