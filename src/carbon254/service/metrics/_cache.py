"""Cache metrics, read at scrape time from `app.state.cache.stats()`.

The cache keeps its own counters (hits, misses, errors); this collector only reports
them, so the cache's hot path pays nothing for metrics. No cache on the app: no series.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

__all__ = ["CacheCollector"]

log = logging.getLogger("carbon254.service.metrics")

_COUNTERS = (
    ("hits", "Response cache lookups that found a stored response."),
    ("misses", "Response cache lookups that found nothing (the store answered)."),
    ("errors", "Response cache operations that failed (the store answered instead)."),
)


class CacheCollector:
    """`carbon254_cache_{hits,misses,errors}_total` and `carbon254_cache_hit_ratio`."""

    def __init__(self, state: Any) -> None:
        self._state = state  # app.state: the cache may be attached after the app is built

    def describe(self) -> list[Metric]:
        return []  # series come and go with the cache; nothing to reserve

    def collect(self) -> Iterator[Metric]:
        cache = getattr(self._state, "cache", None)
        if cache is None:
            return
        try:
            stats = cache.stats()
            backend = str(stats.get("backend", "unknown"))
            values = {name: float(stats[name]) for name, _ in _COUNTERS}
        except Exception as exc:  # a broken stats() must not break the scrape
            log.warning("cache stats unavailable for metrics: %s", type(exc).__name__)
            return
        for name, text in _COUNTERS:
            family = CounterMetricFamily(f"carbon254_cache_{name}", text, labels=["backend"])
            family.add_metric([backend], values[name])
            yield family
        lookups = values["hits"] + values["misses"]
        if lookups:
            ratio = GaugeMetricFamily(
                "carbon254_cache_hit_ratio",
                "Hits / (hits + misses) since the process started; for a recent ratio use "
                "rate() of the counters.",
                labels=["backend"],
            )
            ratio.add_metric([backend], values["hits"] / lookups)
            yield ratio
