"""Ingest freshness metrics, read from the store at scrape time and kept for a few
seconds, so a burst of scrapes (several Prometheus replicas, a dashboard refresh) costs
the store one read.

- lag per dataset comes from the instrument catalogue's last stored interval
  (`store.last_interval`): one indexed lookup per series, and it measures the data
  itself, not what a job believes it fetched.
- last success and failed runs per job come from `job_runs`: one read of the last
  24 hours of runs per refresh (a few thousand rows), plus, once per process, the last
  success of each job that has none in that window.

A store that fails during a refresh gives `carbon254_store_up 0` and no ingest series;
`/metrics` itself keeps answering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyarrow.compute as pc
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from ...connectors.dataset import Dataset, Target
from ...connectors.registry import all_datasets
from ...core import Iso, Market, Product
from ...ingest.jobs import ADHOC_JOB, JOBS
from ...store import PriceStore

__all__ = ["IngestCollector"]

log = logging.getLogger("carbon254.service.metrics")

RUN_WINDOW = timedelta(hours=24)
MAX_RUNS = 20_000  # runs read per refresh; a day of every job is ~2,000


@dataclass(slots=True)
class _Snapshot:
    up: bool
    seconds: float  # how long the store read took
    data_end: dict[str, float] = field(default_factory=dict)  # dataset -> epoch s
    last_success: dict[str, float] = field(default_factory=dict)  # job -> epoch s
    failed_total: dict[str, int] = field(default_factory=dict)  # job -> runs


def _series(dataset: Dataset) -> list[tuple[Market, Product]]:
    """The per-interval price series of a dataset (capacity is priced per period)."""
    if dataset.target != Target.PRICES:
        return []
    return [(Market(m), Product(p)) for m, p in dataset.produces if not Product(p).is_period_priced]


class IngestCollector:
    """`carbon254_ingest_lag_seconds{dataset}`, `carbon254_ingest_last_success_timestamp_
    seconds{job}`, `carbon254_ingest_failed_runs_total{job}` and `carbon254_store_up`."""

    def __init__(
        self,
        store: Callable[[], PriceStore],
        *,
        ttl: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.ttl = ttl  # seconds a snapshot is served before the store is read again
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._taken = 0.0  # monotonic time of the snapshot
        self._datasets: list[tuple[str, Iso, list[tuple[Market, Product]]]] | None = None
        self._older_success: dict[str, float | None] | None = None  # before the run window
        self._failed_seen: set[int] = set()
        self._failed_total: dict[str, int] = dict.fromkeys(JOBS, 0)

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        up = GaugeMetricFamily(
            "carbon254_store_up", "1 if the last metrics read of the store succeeded."
        )
        up.add_metric([], 1.0 if snap.up else 0.0)
        yield up
        took = GaugeMetricFamily(
            "carbon254_metrics_store_read_seconds",
            "How long the last metrics read of the store took (refreshed every few seconds).",
        )
        took.add_metric([], snap.seconds)
        yield took
        if not snap.up:
            return
        now = self._clock()
        lag = GaugeMetricFamily(
            "carbon254_ingest_lag_seconds",
            "Now minus the end of the latest stored interval of the dataset (negative for "
            "day-ahead data, which is published for tomorrow).",
            labels=["dataset"],
        )
        for name, end in sorted(snap.data_end.items()):
            lag.add_metric([name], now - end)
        yield lag
        success = GaugeMetricFamily(
            "carbon254_ingest_last_success_timestamp_seconds",
            "When the job's latest succeeded run finished (Unix time).",
            labels=["job"],
        )
        for job, at in sorted(snap.last_success.items()):
            success.add_metric([job], at)
        yield success
        failed = CounterMetricFamily(
            "carbon254_ingest_failed_runs",
            "Job runs seen failing by this process (counted from job_runs; includes those "
            "that failed in the 24 hours before its first scrape).",
            labels=["job"],
        )
        for job, count in sorted(snap.failed_total.items()):
            failed.add_metric([job], count)
        yield failed

    def snapshot(self) -> _Snapshot:
        """The cached snapshot, refreshed when older than the TTL (one refresh at a time)."""
        with self._lock:
            if self._snapshot is None or time.monotonic() - self._taken >= self.ttl:
                self._snapshot = self._refresh()
                self._taken = time.monotonic()
            return self._snapshot

    def _refresh(self) -> _Snapshot:
        began = time.perf_counter()
        try:
            store = self._store()
            data_end = self._data_end(store)
            last_success = self._runs(store)
        except Exception as exc:  # the scrape must survive a store outage
            first = str(exc).strip().splitlines()[:1]
            log.warning("metrics: store read failed: %s %s", type(exc).__name__, first)
            return _Snapshot(False, time.perf_counter() - began)
        took = time.perf_counter() - began
        return _Snapshot(True, took, data_end, last_success, dict(self._failed_total))

    def _data_end(self, store: PriceStore) -> dict[str, float]:
        if self._datasets is None:
            self._datasets = [(d.name, Iso(d.iso), s) for d in all_datasets() if (s := _series(d))]
        ends: dict[str, float] = {}
        for name, iso, series in self._datasets:
            for market, product in series:
                last = store.last_interval(iso, market, product)
                if last is not None:
                    end = (last + market.interval).timestamp()
                    ends[name] = max(ends.get(name, end), end)
        return ends

    def _runs(self, store: PriceStore) -> dict[str, float]:
        """Last success per job; counts runs newly seen failed. Reads the last 24 h."""
        since = datetime.fromtimestamp(self._clock(), UTC) - RUN_WINDOW
        runs = store.job_runs(since=since, limit=MAX_RUNS)
        if runs.num_rows == MAX_RUNS:
            log.warning("metrics: over %d job runs in 24 h; older ones not counted", MAX_RUNS)
        if self._older_success is None:  # once: successes before the window
            older: dict[str, float | None] = {}
            for job in (*JOBS, ADHOC_JOB):
                done = store.job_runs(job=job, status="succeeded", limit=1)
                at = done.column("finished_at")[0].as_py() if done.num_rows else None
                older[job] = at.timestamp() if at is not None else None
            self._older_success = older
        last = {job: at for job, at in self._older_success.items() if at is not None}
        ok = runs.filter(pc.equal(runs.column("status"), "succeeded"))
        for job, at in zip(
            ok.column("job").to_pylist(), ok.column("finished_at").to_pylist(), strict=True
        ):
            if at is not None:
                last[job] = max(last.get(job, 0.0), at.timestamp())
        failed = runs.filter(pc.equal(runs.column("status"), "failed"))
        seen: set[int] = set()
        for run_id, job in zip(
            failed.column("run_id").to_pylist(), failed.column("job").to_pylist(), strict=True
        ):
            seen.add(run_id)
            if run_id not in self._failed_seen:
                self._failed_total[job] = self._failed_total.get(job, 0) + 1
        self._failed_seen = seen
        return last
