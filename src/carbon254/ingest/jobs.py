"""Named ingestion jobs and `run_job`, the one entry point the CLI, the embedded
scheduler and the Airflow DAGs all call.

A job is a set of datasets fetched on one schedule. Each run fetches the job's *hot*
days (the last `lookback_days` local days up to today, plus `ahead_days` for day-ahead
markets that publish tomorrow's prices today) and, for days just before them, any
window that has no *complete* run yet: a window counts as complete only when a run
succeeded that started at least `settle` after the window ended (see
`runner.covered_end`). That is how the tail of yesterday's real-time prices is fetched
once after midnight without refetching yesterday every five minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..connectors.dataset import Dataset, TimeRule, Window
from ..connectors.errors import MissingCredentials
from ..connectors.http import HttpFetcher, RetryPolicy
from ..core import Iso, market_day
from ..store import PriceStore
from .runner import (
    STALE_AFTER,
    Progress,
    RunResult,
    complete_mask,
    ingest_windows,
    store_target,
)

__all__ = [
    "JOBS",
    "Job",
    "JobFailed",
    "UnknownJob",
    "all_jobs",
    "default_days",
    "get_job",
    "job_for_dataset",
    "live_tail",
    "local_today",
    "resolve_dataset",
    "run_job",
]

log = logging.getLogger("carbon254.ingest")

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Runs of a dataset that belongs to no job (an ad-hoc `carbon254 ingest`) use this name.
ADHOC_JOB = "adhoc_ingestion"


class UnknownJob(KeyError):
    """No job has this name."""

    def __str__(self) -> str:
        return self.args[0]


class JobFailed(RuntimeError):
    """`run_job(..., raise_on_failure=True)` had failed windows (Airflow marks the task failed)."""

    def __init__(self, job: str, failed: list[RunResult]) -> None:
        self.job = job
        self.failed = failed
        first = failed[0]
        super().__init__(
            f"{job}: {len(failed)} window(s) failed; first: {first.dataset} "
            f"{first.window_start:%Y-%m-%d %H:%M}Z: {first.error}"
        )


@dataclass(frozen=True, slots=True)
class Job:
    """A named set of datasets fetched on one schedule.

    `every` is the tick period (ticks are aligned to the clock: :00, :05, … for five
    minutes; local midnight plus `offset` for daily jobs). `lookback_days` local days up
    to today (minus `lag_days`) are refetched on every tick, plus `ahead_days` after
    today. `settle` is how long after a window ends its data is taken to be final.
    """

    name: str
    iso: Iso
    datasets: tuple[str, ...]
    every: timedelta
    lookback_days: int
    description: str
    ahead_days: int = 0
    lag_days: int = 0
    settle: timedelta = timedelta(0)
    offset: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.every <= timedelta(0) or self.lookback_days < 1:
            raise ValueError(f"job {self.name}: every must be > 0 and lookback_days >= 1")


_JOB_LIST = (
    Job(
        "pjm_rt_ingestion",
        Iso.PJM,
        ("pjm.rt_fivemin_hrl_lmps",),
        every=5 * MINUTE,
        lookback_days=1,
        settle=30 * MINUTE,  # the verified five-minute feed lags by about 25 minutes
        description="PJM real-time five-minute LMPs (verified feed), today",
    ),
    Job(
        "pjm_da_ingestion",
        Iso.PJM,
        ("pjm.da_hrl_lmps", "pjm.rt_hrl_lmps"),
        every=HOUR,
        lookback_days=2,
        ahead_days=1,
        settle=HOUR,
        description="PJM hourly LMPs: day-ahead (tomorrow's once published, about "
        "13:30 EPT) and verified real-time hourly, which PJM posts after the fact",
    ),
    Job(
        "pjm_capacity_ingestion",
        Iso.PJM,
        ("pjm.rpm_bra",),
        every=DAY,
        lookback_days=1,
        offset=6 * HOUR,
        description="PJM RPM base residual auction clearing prices per LDA",
    ),
    Job(
        "pjm_as_ingestion",
        Iso.PJM,
        ("pjm.reg_prices", "pjm.reserve_market_results", "pjm.da_reserve_market_results"),
        every=HOUR,
        lookback_days=1,
        ahead_days=1,
        settle=HOUR,
        description="PJM ancillary services: regulation prices, real-time and day-ahead "
        "reserve market results",
    ),
    Job(
        "pjm_constraints_ingestion",
        Iso.PJM,
        ("pjm.rt_marginal_value", "pjm.da_marginal_value", "pjm.da_transconstraints"),
        every=HOUR,
        lookback_days=1,
        ahead_days=1,
        settle=HOUR,
        description="PJM binding constraints: real-time and day-ahead shadow prices, "
        "day-ahead transmission constraints",
    ),
    Job(
        "pjm_pnode_ingestion",
        Iso.PJM,
        ("pjm.pnode",),
        every=DAY,
        lookback_days=1,
        offset=5 * HOUR,
        description="PJM pricing-node directory (effective and termination dates)",
    ),
    Job(
        "ercot_rt_ingestion",
        Iso.ERCOT,
        ("ercot.np6-905-cd", "ercot.np6-788-cd"),
        every=5 * MINUTE,
        lookback_days=1,
        settle=15 * MINUTE,
        description="ERCOT real-time: 15-minute settlement point prices and SCED LMPs",
    ),
    Job(
        "ercot_da_ingestion",
        Iso.ERCOT,
        ("ercot.np4-190-cd",),
        every=HOUR,
        lookback_days=1,
        ahead_days=1,
        settle=HOUR,
        description="ERCOT day-ahead settlement point prices (tomorrow's once published)",
    ),
    Job(
        "ercot_as_ingestion",
        Iso.ERCOT,
        ("ercot.np4-188-cd", "ercot.np3-911-er"),
        every=HOUR,
        lookback_days=3,
        ahead_days=1,
        settle=HOUR,
        description="ERCOT ancillary services: DAM clearing prices (MCPC) and the 2-day "
        "AS reports (published two days after the operating day)",
    ),
    Job(
        "ercot_ordc_ingestion",
        Iso.ERCOT,
        ("ercot.np6-323-cd",),
        every=5 * MINUTE,
        lookback_days=1,
        settle=15 * MINUTE,
        description="ERCOT real-time ORDC and reliability deployment price adders",
    ),
    Job(
        "ercot_sced_disclosure_ingestion",
        Iso.ERCOT,
        ("ercot.np3-965-er",),
        every=DAY,
        lookback_days=3,
        lag_days=60,
        offset=6 * HOUR,
        description="ERCOT 60-day SCED disclosure (resource telemetry), published 60 "
        "days after the operating day",
    ),
)

JOBS: dict[str, Job] = {job.name: job for job in _JOB_LIST}


def get_job(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(f"unknown job {name!r}; jobs: {', '.join(sorted(JOBS))}") from None


def all_jobs() -> list[Job]:
    return [JOBS[name] for name in sorted(JOBS)]


def job_for_dataset(dataset: str) -> Job | None:
    """The job that owns `dataset` (its runs are recorded under that job's name)."""
    return next((job for job in JOBS.values() if dataset in job.datasets), None)


def resolve_dataset(name: str) -> Dataset:
    """The registered dataset `name`; `KeyError` with the known names if none."""
    from ..connectors.registry import get_dataset

    return get_dataset(name)


def local_today(iso: Iso, now: datetime | None = None) -> date:
    """Today's date on the ISO's market clock."""
    return (now or datetime.now(UTC)).astimezone(Iso(iso).tz).date()


def default_days(job: Job, now: datetime | None = None) -> tuple[date, date]:
    """The hot days of a tick: `lookback_days` up to today (less `lag_days`), plus ahead."""
    today = local_today(job.iso, now) - timedelta(days=job.lag_days)
    return today - timedelta(days=job.lookback_days - 1), today + timedelta(days=job.ahead_days)


def _range_utc(iso: Iso, start: date, end: date) -> tuple[datetime, datetime]:
    return market_day(iso, start)[0], market_day(iso, end)[1]


def _unavailable(
    job: str, dataset: str, iso: Iso, days: tuple[date, date], error: str
) -> RunResult:
    start, end = _range_utc(iso, *days)
    return RunResult(job, dataset, start, end, status="failed", error=error)


def check_dataset(name: str) -> tuple[Dataset | None, str | None]:
    """The dataset, or None and why it cannot run (not registered, nowhere to store its
    rows, credentials missing)."""
    try:
        dataset = resolve_dataset(name)
    except KeyError:
        return None, f"dataset {name} is not registered (its connector is not available)"
    if store_target(dataset) is None:
        return None, f"dataset {name} has no store table for its rows yet (target {dataset.target})"
    try:
        dataset.auth.values(dataset.name)
    except MissingCredentials as exc:
        return None, str(exc)
    return dataset, None


@contextmanager
def resources(
    store: PriceStore | None, http: HttpFetcher | None
) -> Iterator[tuple[PriceStore, HttpFetcher]]:
    """The given store and fetcher, or ones opened here (and closed after)."""
    with ExitStack() as stack:
        if store is None:
            from ..store import open_store

            store = stack.enter_context(open_store())
        if http is None:
            http = stack.enter_context(HttpFetcher())
        yield store, http


def tick_windows(
    job: Job,
    dataset: Dataset,
    store: PriceStore,
    *,
    now: datetime,
    catchup_days: int,
) -> list[Window]:
    """What a scheduled tick fetches: every hot window, then the settled windows of the
    `catchup_days` before them that have no complete run."""
    first, last = default_days(job, now)
    hot = dataset.windows(first, last, now=now)
    if job.every < HOUR:
        hot = [live_tail(w, dataset, store, now) for w in hot]
    if catchup_days <= 0 or dataset.time_rule == TimeRule.PERIOD:
        return hot  # a directory or a capacity table answers whole, whatever the window
    older = dataset.windows(first - timedelta(days=catchup_days), first - DAY, now=now)
    older = [w for w in older if w.end + job.settle <= now and w.end <= hot[0].start]
    done = complete_mask(store, job.name, dataset.name, older)
    return [w for w, ok in zip(older, done, strict=True) if not ok] + hot


# How far before the latest stored interval a live-tail request starts: late rows and
# restated intervals of the last hour are fetched again (identical rows write nothing).
TAIL_OVERLAP = HOUR


def live_tail(window: Window, dataset: Dataset, store: PriceStore, now: datetime) -> Window:
    """Today's window of a sub-hourly job, cut to start an hour before the latest stored
    interval (floored to the hour).

    A 5-minute job must not refetch the whole day on every tick: a PJM RT 5-minute day
    is ~75 pages of 50,000 rows, over 12 minutes at the non-member budget of 6 requests
    a minute. Runs of a cut window never count as complete, so the whole day is still
    fetched once after it settles (the catch-up), which also picks up any node that
    lagged behind the latest interval.
    """
    if not (window.start <= now < window.end) or not dataset.produces:
        return window
    latest = [store.last_interval(dataset.iso, m, p) for m, p in dataset.produces]
    known = [t for t in latest if t is not None]
    if not known:
        return window
    start = (max(known) - TAIL_OVERLAP).replace(minute=0, second=0, microsecond=0)
    if start <= window.start or start >= window.end:
        return window
    return Window(start, window.end, window.archived)


def run_job(
    name: str | Job,
    *,
    start: date | None = None,
    end: date | None = None,
    store: PriceStore | None = None,
    http: HttpFetcher | None = None,
    datasets: Sequence[str] | None = None,
    now: datetime | None = None,
    catchup_days: int = 1,
    stale_after: timedelta = STALE_AFTER,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    raise_on_failure: bool = False,
) -> list[RunResult]:
    """Run job `name` once and return one result per window (and per dataset that cannot
    run: not registered, or credentials missing — those fail without touching the store).

    With `start`/`end` (local market days, inclusive; either defaults from the other or
    from today) every window in the range is fetched. Without them: the job's hot days
    (lookback ending today in the ISO's clock, plus `ahead_days`) and, before them,
    `catchup_days` of settled windows still lacking a complete run. Stale 'running' rows
    of the job (older than `stale_after`: their process died) are marked abandoned first.
    `datasets` restricts the run to some of the job's datasets; `cancel()` returning True
    stops before the next window; `raise_on_failure` raises `JobFailed` after every
    window was tried. `now` fixes the clock (tests); by default each window records the
    time it started.
    """
    job = name if isinstance(name, Job) else get_job(name)
    clock = now
    now = now or datetime.now(UTC)
    explicit = start is not None or end is not None
    if explicit:
        if end is None:
            end = max(start, local_today(job.iso, now))  # type: ignore[type-var]
        if start is None:
            start = end - timedelta(days=job.lookback_days - 1)
        if end < start:
            raise ValueError(f"end day {end} is before start day {start}")
        days = (start, end)
    else:
        days = default_days(job, now)
    results: list[RunResult] = []
    with resources(store, http) as (store_, http_):
        store_.abandon_running_jobs(job.name, older_than=stale_after)
        for dataset_name in job.datasets if datasets is None else datasets:
            if cancel is not None and cancel():
                break
            dataset, why = check_dataset(dataset_name)
            if dataset is None:
                log.warning("%s: %s", job.name, why)
                results.append(_unavailable(job.name, dataset_name, job.iso, days, why or ""))
                continue
            if explicit:
                windows = dataset.windows(*days, now=now)
            else:
                windows = tick_windows(job, dataset, store_, now=now, catchup_days=catchup_days)
            results += ingest_windows(
                dataset,
                windows,
                store=store_,
                http=http_,
                job=job,
                now=clock,
                retry=retry,
                sleep=sleep,
                progress=progress,
                cancel=cancel,
            )
    failed = [r for r in results if r.status == "failed"]
    if raise_on_failure and failed:
        raise JobFailed(job.name, failed)
    return results
