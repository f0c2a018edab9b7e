"""The embedded scheduler: runs the ingestion jobs inside `carbon254 serve`.

One loop thread decides what is due; a small pool runs the jobs. Rules:

- ticks are aligned to the clock (every 5 minutes at :00, :05, …; daily jobs at local
  midnight plus the job's offset); every job runs once at start, with a catch-up of the
  last `catchup_days` of windows that have no complete run;
- at most one run per job at a time; ticks missed while a run is in progress (or while
  the process was asleep) collapse into one run;
- a run with failed windows is retried sooner than its next tick (1, 2, 4… minutes,
  never later than the tick), on top of the window retries of the runner;
- a job whose datasets are not registered or lack credentials is skipped with one log
  line at start, not retried in a loop;
- `stop()` stops ticking, cuts retry waits short, lets each running job finish the
  window it is on, skips the rest, and joins the threads.

`CARBON254_SCHEDULER=off` disables it (as does `carbon254 serve --no-scheduler`);
`CARBON254_SCHEDULER_JOBS=a,b` limits it to some jobs; `CARBON254_SCHEDULER_CATCHUP_DAYS`
sets the catch-up at start (default 2).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

from ..connectors.http import HttpFetcher
from ..store import PriceStore
from .jobs import Job, all_jobs, check_dataset, get_job, local_today, run_job
from .runner import STALE_AFTER, RunResult

__all__ = [
    "Clock",
    "JobRunner",
    "Scheduler",
    "SystemClock",
    "next_tick",
    "scheduler_enabled",
    "start_embedded",
]

log = logging.getLogger("carbon254.ingest.scheduler")
DEFAULT_CATCHUP_DAYS = 2
RETRY_BASE = timedelta(minutes=1)
_IDLE = 60.0  # the loop wakes at least this often (seconds)


class Clock(Protocol):
    """Time for the scheduler; tests inject one that jumps instead of sleeping."""

    def now(self) -> datetime: ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait up to `seconds` for `event`; True if it was set."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


class JobRunner(Protocol):
    def __call__(
        self,
        job: Job,
        *,
        datasets: Sequence[str],
        catchup_days: int,
        now: datetime,
        cancel: Callable[[], bool],
        sleep: Callable[[float], None],
    ) -> list[RunResult]: ...


def next_tick(job: Job, after: datetime) -> datetime:
    """The first tick of `job` strictly after `after`."""
    if job.every >= timedelta(days=1):  # daily: at the offset's local wall-clock time
        day = local_today(job.iso, after) - timedelta(days=1)
        while True:
            wall = datetime.combine(day, time(0)) + job.offset
            tick = wall.replace(tzinfo=job.iso.tz).astimezone(UTC)
            if tick > after:
                return tick
            day += timedelta(days=1)
    epoch = datetime(1970, 1, 1, tzinfo=UTC) + job.offset
    periods = (after - epoch) // job.every
    return epoch + (periods + 1) * job.every


@dataclass(slots=True)
class _State:
    job: Job
    datasets: tuple[str, ...]
    next_due: datetime
    running: bool = False
    pending: bool = False
    first: bool = True
    failures: int = 0
    runs: int = 0
    last_results: list[RunResult] = field(default_factory=list)


class Scheduler:
    """Runs `jobs` (default: all) against `store` until `stop()`."""

    def __init__(
        self,
        store: PriceStore,
        jobs: Sequence[Job] | None = None,
        *,
        http: HttpFetcher | None = None,
        clock: Clock | None = None,
        runner: JobRunner | None = None,
        max_workers: int = 2,
        catchup_days: int = DEFAULT_CATCHUP_DAYS,
        retry_base: timedelta = RETRY_BASE,
    ) -> None:
        self.store = store
        self.jobs = list(jobs) if jobs is not None else all_jobs()
        self.clock: Clock = clock or SystemClock()
        self.catchup_days = catchup_days
        self.retry_base = retry_base
        self._http = http
        self._owns_http = http is None
        self._runner = runner or self._run_job
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._states: dict[str, _State] = {}
        self.skipped: dict[str, str] = {}  # job -> why it does not run
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._futures: set[Future[None]] = set()
        self._prepared = False

    # -- setup ---------------------------------------------------------------------
    def prepare(self) -> None:
        """Check datasets and credentials (one log line per job that cannot run), close
        runs a dead process left 'running', and make every runnable job due now."""
        if self._prepared:
            return
        self._prepared = True
        now = self.clock.now()
        for job in self.jobs:
            usable, reasons = [], []
            for name in job.datasets:
                dataset, why = check_dataset(name)
                if dataset is None:
                    reasons.append(why or name)
                else:
                    usable.append(name)
            if not usable:
                self.skipped[job.name] = "; ".join(reasons)
                log.warning("scheduler: job %s skipped: %s", job.name, self.skipped[job.name])
                continue
            if reasons:
                log.warning(
                    "scheduler: job %s runs without %d dataset(s): %s",
                    job.name, len(reasons), "; ".join(reasons),
                )  # fmt: skip
            self._states[job.name] = _State(job, tuple(usable), next_due=now)
        # With DuckDB this process holds the file: a 'running' row is from a dead one.
        older = None if self.store.backend == "duckdb" else STALE_AFTER
        for name in self._states:
            abandoned = self.store.abandon_running_jobs(name, older_than=older)
            if abandoned:
                log.info("scheduler: %s: %d stale run(s) marked abandoned", name, abandoned)

    @property
    def active_jobs(self) -> list[str]:
        return list(self._states)

    def state(self, job: str) -> _State:
        return self._states[job]

    # -- ticking -------------------------------------------------------------------
    def tick(self) -> list[str]:
        """Start every due job that is not running; mark running ones pending. Returns
        the names started. Missed ticks collapse: the next one is after now."""
        self.prepare()
        now = self.clock.now()
        started = []
        with self._lock:
            for state in self._states.values():
                if self._stop.is_set() or now < state.next_due:
                    continue
                state.next_due = next_tick(state.job, now)
                if state.running:
                    state.pending = True
                    continue
                self._submit(state, now)
                started.append(state.job.name)
        return started

    def _submit(self, state: _State, now: datetime) -> None:
        """Call with the lock held."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="c254-job")
        state.running = True
        future = self._executor.submit(self._execute, state, now)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def _execute(self, state: _State, now: datetime) -> None:
        job = state.job
        catchup = self.catchup_days if state.first else 1
        failed = True
        try:
            results = self._runner(
                job,
                datasets=state.datasets,
                catchup_days=catchup,
                now=now,
                cancel=self._stop.is_set,
                sleep=self._sleep,
            )
            state.last_results = results
            failed = any(r.status == "failed" for r in results)
            done = sum(r.status == "succeeded" for r in results)
            log.info(
                "scheduler: %s: %d window(s) succeeded, %d failed, %d rows changed",
                job.name, done, sum(r.status == "failed" for r in results),
                sum(r.changed for r in results),
            )  # fmt: skip
        except Exception:
            log.exception("scheduler: job %s crashed", job.name)
        finally:
            with self._lock:
                state.running = False
                state.first = False
                state.runs += 1
                finished = self.clock.now()
                if failed:
                    state.failures += 1
                    wait = min(job.every, self.retry_base * 2 ** (state.failures - 1))
                    state.next_due = min(state.next_due, finished + wait)
                else:
                    state.failures = 0
                if state.pending and not self._stop.is_set():
                    state.pending = False
                    self._submit(state, finished)
                self._idle.notify_all()
            self._wake.set()

    def _sleep(self, seconds: float) -> None:
        """Retry waits inside jobs: cut short by `stop()`."""
        self._stop.wait(seconds)

    def _run_job(
        self,
        job: Job,
        *,
        datasets: Sequence[str],
        catchup_days: int,
        now: datetime,
        cancel: Callable[[], bool],
        sleep: Callable[[float], None],
    ) -> list[RunResult]:
        if self._http is None:
            # Retry-After waits inside a request end early on stop() too.
            self._http = HttpFetcher(sleep=self._sleep)
        return run_job(
            job,
            datasets=datasets,
            store=self.store,
            http=self._http,
            now=now,
            catchup_days=catchup_days,
            cancel=cancel,
            sleep=sleep,
        )

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> Scheduler:
        """Prepare and start the loop thread (returns self)."""
        self.prepare()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="c254-scheduler", daemon=True)
            self._thread.start()
            log.info("scheduler: started with %d job(s)", len(self._states))
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.tick()
            except Exception:  # a store hiccup must not kill the loop
                log.exception("scheduler: tick failed")
            now = self.clock.now()
            with self._lock:
                waiting = [s.next_due for s in self._states.values() if not s.running]
            wait = min([(t - now).total_seconds() for t in waiting] + [_IDLE])
            if self._stop.is_set():
                break
            self.clock.wait(self._wake, max(wait, 0.0))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no job is running; True if idle within `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(
                lambda: not any(s.running for s in self._states.values()), timeout
            )

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop ticking, let running jobs finish their current window, join. True when
        everything stopped within `timeout` seconds."""
        self._stop.set()
        self._wake.set()
        clean = True
        if self._thread is not None:
            self._thread.join(timeout)
            clean = not self._thread.is_alive()
        if self._executor is not None:
            clean = self.wait_idle(timeout) and clean
            self._executor.shutdown(wait=clean, cancel_futures=True)
        if self._owns_http and self._http is not None:
            self._http.close()
            self._http = None
        log.info("scheduler: stopped%s", "" if clean else " (a job was still running)")
        return clean

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def scheduler_enabled(flag: bool = True) -> bool:
    """False when disabled by flag or by CARBON254_SCHEDULER=off|0|false|no."""
    value = os.environ.get("CARBON254_SCHEDULER", "").strip().lower()
    return flag and value not in ("off", "0", "false", "no")


def _env_jobs() -> list[Job] | None:
    names = os.environ.get("CARBON254_SCHEDULER_JOBS", "").strip()
    if not names:
        return None
    return [get_job(name.strip()) for name in names.split(",") if name.strip()]


def start_embedded(
    store: PriceStore, *, enabled: bool = True, log_level: str = "info"
) -> Scheduler | None:
    """Start the scheduler for `carbon254 serve`, or None when disabled. Its log lines
    go to stderr at `log_level` unless logging is configured already."""
    package = logging.getLogger("carbon254")
    if not package.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        package.addHandler(handler)
        package.setLevel(log_level.upper())
    if not scheduler_enabled(enabled):
        log.info("scheduler: disabled")
        return None
    catchup = int(os.environ.get("CARBON254_SCHEDULER_CATCHUP_DAYS", DEFAULT_CATCHUP_DAYS))
    return Scheduler(store, _env_jobs(), catchup_days=catchup).start()
