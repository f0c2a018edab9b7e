"""Backfill: fetch a range of days window by window, skipping windows already done.

Resumable by construction: every window is its own run (recorded when it starts) and its
own batch (committed whole or not at all), and a window counts as done only when a
succeeded run covers all of it. Killing a backfill halfway and starting it again fetches
the windows it had not finished, and only those; the run it was killed in is left
'running' and is marked abandoned by the next run once older than `stale_after`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ..connectors.http import HttpFetcher, RetryPolicy
from ..store import PriceStore
from .jobs import ADHOC_JOB, check_dataset, job_for_dataset, resources
from .runner import (
    STALE_AFTER,
    Progress,
    RunResult,
    complete_mask,
    ingest_windows,
)

__all__ = ["BackfillResult", "DatasetUnavailable", "backfill", "ingest_range"]


class DatasetUnavailable(RuntimeError):
    """The dataset cannot run here: not registered, or its credentials are missing."""

    def __init__(self, dataset: str, reason: str, *, registered: bool) -> None:
        super().__init__(reason)
        self.dataset = dataset
        self.registered = registered


@dataclass(slots=True)
class BackfillResult:
    """Windows in the range, how many were already done, and what the rest did."""

    dataset: str
    job: str
    windows: int
    already_done: int
    results: list[RunResult] = field(default_factory=list)

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


def ingest_range(
    dataset_name: str,
    start: date,
    end: date,
    *,
    store: PriceStore | None = None,
    http: HttpFetcher | None = None,
    skip_done: bool = True,
    progress: Progress | None = None,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BackfillResult:
    """Fetch local market days `start`..`end` of a dataset, recorded under the job that
    owns it (so the scheduler's catch-up sees what a backfill did). `skip_done=False`
    refetches every window (`carbon254 ingest`)."""
    if end < start:
        raise ValueError(f"end day {end} is before start day {start}")
    dataset, why = check_dataset(dataset_name)
    if dataset is None:
        from .jobs import resolve_dataset

        try:
            resolve_dataset(dataset_name)
            registered = True
        except KeyError:
            registered = False
        raise DatasetUnavailable(dataset_name, why or "", registered=registered)
    owner = job_for_dataset(dataset.name)
    job = owner if owner is not None else ADHOC_JOB
    job_name = owner.name if owner is not None else ADHOC_JOB
    windows = dataset.windows(start, end, now=now or datetime.now(UTC))
    with resources(store, http) as (store_, http_):
        store_.abandon_running_jobs(job_name, older_than=stale_after)
        done = complete_mask(store_, job_name, dataset.name, windows) if skip_done else []
        todo = [w for i, w in enumerate(windows) if not (done and done[i])]
        result = BackfillResult(dataset.name, job_name, len(windows), len(windows) - len(todo))
        result.results = ingest_windows(
            dataset,
            todo,
            store=store_,
            http=http_,
            job=job,
            now=now,
            retry=retry,
            sleep=sleep,
            progress=progress,
        )
    return result


def backfill(
    dataset_name: str,
    start: date,
    end: date,
    *,
    store: PriceStore | None = None,
    http: HttpFetcher | None = None,
    progress: Progress | None = None,
    **options: object,
) -> BackfillResult:
    """Fetch the windows of `start`..`end` that have no complete succeeded run yet.

    `progress(done, total, result)` is called after each window fetched. Options:
    `now`, `stale_after`, `retry`, `sleep` as in `ingest_range`.
    """
    return ingest_range(
        dataset_name, start, end, store=store, http=http, skip_done=True, progress=progress,
        **options,  # type: ignore[arg-type]
    )  # fmt: skip
