"""One window of one dataset, end to end: record the run, fetch, parse, check, store.

Each window is written by exactly one store call (one transaction), so a failure or a
kill anywhere before the commit leaves nothing of it behind; the run row, committed at
start, stays 'running' until the next run abandons it. A window is retried with backoff
on connector failures (network, bad payloads), never on its own bugs or bad data.

A run is recorded with the span it could fetch completely: the whole window when it
started at least `settle` after the window ended, else a shorter one (see
`covered_end`). Backfill and catch-up treat a window as done only when a succeeded run
covers all of it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc

from ..connectors.dataset import Dataset, Target, Window
from ..connectors.errors import ConnectorError, FetchError, MissingCredentials, NoData
from ..connectors.http import HttpFetcher, RawResponse, RetryPolicy
from ..core import SchemaError, validate_locations, validate_prices
from ..core.records import validate_constraints, validate_quantities, validate_telemetry
from ..store import PriceStore, StoreError
from .events import announce_prices
from .quality import batch_key, raise_on_duplicates

if TYPE_CHECKING:
    from .jobs import Job

__all__ = [
    "STALE_AFTER",
    "WINDOW_RETRY",
    "Progress",
    "RunResult",
    "complete_mask",
    "content_sha256",
    "covered_end",
    "ingest_window",
    "ingest_windows",
    "store_target",
]

log = logging.getLogger("carbon254.ingest")

# A run 'running' for longer than this has lost its process (no window takes hours).
STALE_AFTER = timedelta(hours=3)
# Window-level retries, on top of the per-request retries of `HttpFetcher`.
WINDOW_RETRY = RetryPolicy(attempts=3, base=10.0, cap=120.0)
_SECOND = timedelta(seconds=1)
_VALIDATORS = {
    Target.PRICES: validate_prices,
    Target.LOCATIONS: validate_locations,
    Target.CONSTRAINTS: validate_constraints,
    Target.TELEMETRY: validate_telemetry,
    Target.QUANTITIES: validate_quantities,
}


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one window's run did. `rows` were parsed; `changed` were inserted or revised.

    `status` is 'succeeded', 'failed' or 'skipped' (the upstream has nothing yet).
    `batch_id` is the batch holding the data (the earlier one when the same content was
    already stored: then `duplicate_of` is set too). `complete` says the window had
    settled, so the run counts for backfill and catch-up.
    """

    job: str
    dataset: str
    window_start: datetime
    window_end: datetime
    status: str
    attempts: int = 0
    rows: int = 0
    changed: int = 0
    batch_id: int | None = None
    duplicate_of: int | None = None
    run_id: int | None = None
    error: str | None = None
    complete: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["window_start"] = self.window_start.isoformat()
        data["window_end"] = self.window_end.isoformat()
        return data


# progress(done, total, result): called after each window.
Progress = Callable[[int, int, RunResult], None]


def content_sha256(raws: Sequence[RawResponse]) -> str:
    """sha256 over the per-response sha256s, in order: the identity of a window's bytes."""
    digest = hashlib.sha256()
    for raw in raws:
        digest.update(raw.sha256.encode("ascii"))
    return digest.hexdigest()


def covered_end(window: Window, started: datetime, settle: timedelta) -> datetime:
    """The end recorded for a run of `window` started at `started`.

    The window's end when the window had settled (ended at least `settle` earlier);
    otherwise the instant up to which data could have settled, kept strictly inside the
    window, so the recorded span shows how far the run got and never counts as complete.
    """
    if started >= window.end + settle:
        return window.end
    return min(max(started - settle, window.start + _SECOND), window.end - _SECOND)


def _data_covered_end(window: Window, end: datetime, data_end: datetime | None) -> datetime:
    """A price run covers its window only as far as the prices it stored reach: a day
    the upstream published only partly (PJM's verified 5-minute feed lags) must not
    count as complete, or catch-up and backfill would never fetch the rest."""
    if data_end is None or data_end >= end:
        return end
    return min(max(data_end, window.start + _SECOND), window.end - _SECOND)


def complete_mask(
    store: PriceStore, job: str, dataset: str, windows: Sequence[Window]
) -> list[bool]:
    """For each window: does a succeeded run of `job` on `dataset` cover all of it?"""
    if not windows:
        return []
    lo = min(w.start for w in windows)
    hi = max(w.end for w in windows)
    spans = store.succeeded_windows(job, lo, hi, dataset=dataset)
    return [any(s <= w.start and e >= w.end for s, e in spans) for w in windows]


def store_target(dataset: Dataset) -> Target | None:
    """The store table `dataset` writes to, or None when there is none for it yet."""
    try:
        return Target(dataset.target)
    except ValueError:
        return None


def _source_url(raws: Sequence[RawResponse]) -> str | None:
    if not raws:
        return None
    more = len(raws) - 1
    return raws[0].url if more == 0 else f"{raws[0].url} (+{more} more)"


@dataclass(frozen=True, slots=True)
class StoredData:
    """What `parse_and_store` wrote: rows parsed, rows changed, the batch holding them."""

    rows: int
    changed: int
    batch_id: int | None
    duplicate_of: int | None
    data_end: datetime | None = None  # prices: the latest interval_end stored
    provisional: bool = False  # a response said its data will be restated (meta)


def _fetch_and_store(
    dataset: Dataset, window: Window, store: PriceStore, http: HttpFetcher
) -> StoredData:
    raws = dataset.fetch(http, window)
    if not raws:
        raise NoData(dataset.name, "the upstream returned no documents for the window")
    return parse_and_store(dataset, raws, store)


def parse_and_store(dataset: Dataset, raws: Sequence[RawResponse], store: PriceStore) -> StoredData:
    """Parse `raws` and write the rows in one store call (one transaction).

    The batch's identity is the hash of its pages' hashes, which each `RawResponse`
    computed when it arrived. Prices are not validated here: `upsert_prices` validates
    and checks duplicates itself, before anything is committed (doing it twice cost half
    a second a PJM 5-minute day). Other targets are checked here, then stored.
    """
    table = dataset.parse(raws)
    if table.num_rows == 0:
        raise NoData(dataset.name, "the upstream published no rows for the window yet")
    target = store_target(dataset)
    if target is None:
        raise SchemaError(f"{dataset.name}: the store has no table for its rows yet")
    if target is not Target.PRICES:
        raise_on_duplicates(dataset.name, table, batch_key(target))
        table = _VALIDATORS[target](table)
    if target is Target.LOCATIONS:
        result = store.upsert_locations(table)
        return StoredData(table.num_rows, result.inserted + result.updated, None, None)
    sha = content_sha256(raws)
    lineage: dict[str, Any] = {
        "source": dataset.name,
        "fetched_at": min(raw.fetched_at for raw in raws),
        "content_sha256": sha,
        "source_url": _source_url(raws),
    }
    if target is Target.PRICES:
        locations = dataset.locations(raws)
        if locations is not None and locations.num_rows:
            # The directory is idempotent and outlives a failed price batch harmlessly.
            store.upsert_locations(validate_locations(locations))
        batch = store.upsert_prices(table, **lineage)
        changed = batch.rows_inserted + batch.rows_revised
        if changed:  # committed: caches over these instruments are now stale
            announce_prices(table, dataset=dataset.name, batch_id=batch.batch_id)
        holder = batch.batch_id or batch.duplicate_of  # the batch that holds these rows
        data_end = pc.max(table.column("interval_end")).as_py()
        provisional = any(raw.meta.get("provisional") for raw in raws)
        return StoredData(
            table.num_rows, changed, holder, batch.duplicate_of, data_end, provisional
        )
    upsert = {
        Target.CONSTRAINTS: store.upsert_constraints,
        Target.TELEMETRY: store.upsert_telemetry,
        Target.QUANTITIES: store.upsert_quantities,
    }[target]
    records = upsert(table, **lineage)
    return StoredData(table.num_rows, records.inserted + records.updated, records.batch_id, None)


def _permanent(exc: ConnectorError) -> bool:
    """A failure that a retry cannot fix: refused credentials, a missing document."""
    status = getattr(exc, "status", None)
    return (
        isinstance(exc, FetchError)
        and status is not None
        and 400 <= status < 500
        and (status not in (408, 425, 429))
    )


def _message(exc: BaseException) -> str:
    """Our own errors say what and where; anything else is named by its type."""
    text = str(exc).strip()
    if isinstance(exc, ConnectorError | SchemaError | StoreError):
        return text
    return f"{type(exc).__name__}: {text}"


def ingest_window(
    dataset: Dataset,
    window: Window,
    *,
    store: PriceStore,
    http: HttpFetcher,
    job: Job | str,
    now: Callable[[], datetime] | datetime | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Fetch, parse, check and store one window as one batch, recording the run.

    Connector failures (network, rate limits, bad payloads) are retried with backoff,
    `retry.attempts` tries in all (default `WINDOW_RETRY`), except HTTP 4xx answers
    that a retry cannot change (401/403/404…). Bad data (`SchemaError`, duplicate keys),
    store refusals and missing credentials fail at once; `NoData` is 'skipped'.
    Unexpected exceptions are recorded as failed (and logged with their traceback).
    KeyboardInterrupt, SystemExit and other BaseExceptions (Airflow's task timeout) mark
    the run failed ('interrupted') and propagate; a process killed outright leaves the
    run 'running' for the next run to abandon.
    """
    from .jobs import Job

    job_name = job.name if isinstance(job, Job) else job
    settle = job.settle if isinstance(job, Job) else timedelta(0)
    clock = now if callable(now) else (lambda: now) if now is not None else _utcnow
    started = clock()
    began = time.perf_counter()
    end = covered_end(window, started, settle)
    run_id = store.start_job_run(job_name, dataset.name, window.start, end)

    def finish(
        status: str, attempts: int, stored: StoredData | None = None, error: str | None = None
    ) -> RunResult:
        nonlocal end
        done = stored or StoredData(0, 0, None, None)
        narrowed = _data_covered_end(window, end, done.data_end)
        if done.provisional:  # e.g. PJM unverified LMPs: fetch again until verified
            narrowed = min(narrowed, window.end - _SECOND)
        store.finish_job_run(
            run_id,
            status=status,  # type: ignore[arg-type]
            attempts=attempts,
            rows=done.rows if stored else None,
            batch_id=done.batch_id,
            error=error,
            window_end=narrowed if narrowed != end else None,
        )
        end = narrowed
        return RunResult(
            job=job_name,
            dataset=dataset.name,
            window_start=window.start,
            window_end=end,
            status=status,
            attempts=attempts,
            rows=done.rows,
            changed=done.changed,
            batch_id=done.batch_id,
            duplicate_of=done.duplicate_of,
            run_id=run_id,
            error=error,
            complete=status == "succeeded" and end == window.end,
            seconds=time.perf_counter() - began,
        )

    policy = retry or WINDOW_RETRY
    attempt = 0
    rng = random.Random()
    while True:
        attempt += 1
        try:
            stored = _fetch_and_store(dataset, window, store, http)
        except NoData as exc:
            return finish("skipped", attempt, error=_message(exc))
        except MissingCredentials as exc:
            return finish("failed", attempt, error=_message(exc))
        except ConnectorError as exc:
            if attempt >= policy.attempts or _permanent(exc):
                return finish("failed", attempt, error=_message(exc))
            wait = policy.delay(attempt, getattr(exc, "retry_after", None), rng=rng)
            when = window.start.isoformat()
            log.info("%s %s: attempt %d failed (%s); retry in %.0fs", dataset.name, when,
                     attempt, exc, wait)  # fmt: skip
        except (SchemaError, StoreError) as exc:
            return finish("failed", attempt, error=_message(exc))
        except Exception as exc:
            log.exception("%s %s: unexpected failure", dataset.name, window.start.isoformat())
            return finish("failed", attempt, error=_message(exc))
        except BaseException as exc:
            # Ctrl-C, SystemExit, Airflow's task timeout: the batch has rolled back; say
            # so now rather than leaving the run 'running' until it is abandoned.
            finish("failed", attempt, error=_interrupted(exc))
            raise
        else:
            return finish("succeeded", attempt, stored)
        try:
            sleep(wait)
        except BaseException as exc:
            finish("failed", attempt, error=_interrupted(exc))
            raise


def _interrupted(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"interrupted ({type(exc).__name__})"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def ingest_windows(
    dataset: Dataset,
    windows: Sequence[Window],
    *,
    store: PriceStore,
    http: HttpFetcher,
    job: Job | str,
    now: Callable[[], datetime] | datetime | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> list[RunResult]:
    """`ingest_window` for each window in order, reporting progress after each;
    `cancel()` returning True stops before the next window."""
    results: list[RunResult] = []
    for window in windows:
        if cancel is not None and cancel():
            break
        result = ingest_window(
            dataset, window, store=store, http=http, job=job, now=now, retry=retry, sleep=sleep
        )
        results.append(result)
        log.log(
            logging.WARNING if result.status == "failed" else logging.DEBUG,
            "%s %s..%s: %s, %d rows (%d changed)%s",
            dataset.name,
            window.start.isoformat(),
            window.end.isoformat(),
            result.status,
            result.rows,
            result.changed,
            f": {result.error}" if result.error else "",
        )
        if progress is not None:
            progress(len(results), len(windows), result)
    return results
