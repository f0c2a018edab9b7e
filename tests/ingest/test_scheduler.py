"""The embedded scheduler on a clock that jumps instead of sleeping: aligned ticks,
coalescing, one run per job, retries, catch-up at start, skipped jobs, clean stops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from carbon254.core import Iso, market_day
from carbon254.ingest.jobs import Job, get_job
from carbon254.ingest.runner import RunResult
from carbon254.ingest.scheduler import Scheduler, next_tick, scheduler_enabled, start_embedded
from carbon254.store import PriceStore

from .conftest import RETRY
from .fakes import NODES, Upstream, day_payload

T0 = datetime(2025, 10, 15, 14, 2, 30, tzinfo=UTC)
pytestmark = pytest.mark.timeout(20)


class FakeClock:
    """Time moves only when told, or when the loop waits (it jumps to the deadline)."""

    def __init__(self, now: datetime) -> None:
        self.t = now
        self.lock = threading.Lock()

    def now(self) -> datetime:
        with self.lock:
            return self.t

    def advance(self, delta: timedelta) -> None:
        with self.lock:
            self.t += delta

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.wait(0.002):  # let job threads run a little, as real time would
            return True
        self.advance(timedelta(seconds=seconds))
        return False


class Recorder:
    """A job runner that records its calls; `gate` holds a run until released."""

    def __init__(self, fail: bool = False, gate: threading.Event | None = None) -> None:
        self.calls: list[tuple[str, tuple[str, ...], int, datetime]] = []
        self.fail = fail
        self.gate = gate
        self.started = threading.Event()

    def __call__(
        self,
        job: Job,
        *,
        datasets: Sequence[str],
        catchup_days: int,
        now: datetime,
        cancel: Callable[[], bool],
        sleep: Callable[[float], None],
    ) -> list[RunResult]:
        self.calls.append((job.name, tuple(datasets), catchup_days, now))
        self.started.set()
        if self.gate is not None:
            self.gate.wait(5)
        status = "failed" if self.fail else "succeeded"
        return [RunResult(job.name, datasets[0], now, now, status)]


def scheduler(store, names, runner, clock, **kw) -> Scheduler:
    return Scheduler(store, [get_job(n) for n in names], clock=clock, runner=runner, **kw)


def test_ticks_are_aligned_to_the_clock_and_daily_to_local_midnight() -> None:
    rt = get_job("pjm_rt_ingestion")
    assert next_tick(rt, T0) == datetime(2025, 10, 15, 14, 5, tzinfo=UTC)
    assert next_tick(rt, datetime(2025, 10, 15, 14, 5, tzinfo=UTC)) == datetime(
        2025, 10, 15, 14, 10, tzinfo=UTC
    )
    assert next_tick(get_job("pjm_da_ingestion"), T0) == datetime(2025, 10, 15, 15, tzinfo=UTC)
    pnode = get_job("pjm_pnode_ingestion")  # local midnight + 5 h
    assert next_tick(pnode, T0) == market_day(Iso.PJM, date(2025, 10, 16))[0] + timedelta(hours=5)
    # Across the fall-back night the tick stays at 05:00 local (10:00 UTC, not 09:00).
    after = datetime(2025, 11, 1, 12, tzinfo=UTC)
    assert next_tick(pnode, after) == datetime(2025, 11, 2, 10, tzinfo=UTC)
    assert next_tick(pnode, datetime(2025, 11, 2, 10, tzinfo=UTC)) == datetime(
        2025, 11, 3, 10, tzinfo=UTC
    )


def test_every_job_runs_at_start_with_catch_up_then_missed_ticks_coalesce(
    fakes, store: PriceStore
) -> None:
    clock, runner = FakeClock(T0), Recorder()
    s = scheduler(store, ["test_rt_ingestion", "test_da_ingestion"], runner, clock,
                  catchup_days=3)  # fmt: skip
    assert sorted(s.tick()) == ["test_da_ingestion", "test_rt_ingestion"]
    assert s.wait_idle(5)
    assert sorted((c[0], c[2]) for c in runner.calls) == [
        ("test_da_ingestion", 3),
        ("test_rt_ingestion", 3),
    ]
    assert s.tick() == []  # nothing due until the next aligned tick
    clock.advance(timedelta(hours=1))  # twelve five-minute ticks missed
    assert sorted(s.tick()) == ["test_da_ingestion", "test_rt_ingestion"]
    assert s.wait_idle(5)
    rt = [c for c in runner.calls if c[0] == "test_rt_ingestion"]
    assert len(rt) == 2 and rt[1][2] == 1  # one run for all the missed ticks, catch-up 1 day
    assert s.state("test_rt_ingestion").next_due == datetime(2025, 10, 15, 15, 5, tzinfo=UTC)
    s.stop()


def test_at_most_one_run_per_job_and_ticks_during_it_collapse(fakes, store: PriceStore):
    gate = threading.Event()
    clock, runner = FakeClock(T0), Recorder(gate=gate)
    s = scheduler(store, ["test_rt_ingestion"], runner, clock)
    assert s.tick() == ["test_rt_ingestion"]
    assert runner.started.wait(5)
    for _ in range(4):  # four ticks come and go while the run is still going
        clock.advance(timedelta(minutes=5))
        assert s.tick() == []
    assert s.state("test_rt_ingestion").pending
    assert len(runner.calls) == 1
    gate.set()
    assert s.wait_idle(5)
    assert len(runner.calls) == 2  # the pending run, once
    assert not s.state("test_rt_ingestion").pending
    s.stop()


def test_a_failed_run_is_retried_before_its_next_tick(fakes, store: PriceStore) -> None:
    clock, runner = FakeClock(T0), Recorder(fail=True)
    s = scheduler(store, ["test_da_ingestion"], runner, clock)
    s.tick()
    assert s.wait_idle(5)
    state = s.state("test_da_ingestion")
    assert state.failures == 1 and state.next_due == T0 + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1))
    assert s.tick() == ["test_da_ingestion"]
    assert s.wait_idle(5)
    assert state.failures == 2 and state.next_due == T0 + timedelta(minutes=3)
    runner.fail = False
    clock.advance(timedelta(minutes=2))
    s.tick()
    assert s.wait_idle(5)
    assert state.failures == 0 and state.next_due == datetime(2025, 10, 15, 15, tzinfo=UTC)
    s.stop()


def test_a_crashing_runner_does_not_stop_the_job(fakes, store: PriceStore) -> None:
    clock = FakeClock(T0)

    def crashes(job, **kw):
        raise RuntimeError("boom")

    s = scheduler(store, ["test_da_ingestion"], crashes, clock)
    s.tick()
    assert s.wait_idle(5)
    assert s.state("test_da_ingestion").failures == 1


def test_jobs_that_cannot_run_are_skipped_with_one_log_line(
    fakes, store: PriceStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="carbon254")
    clock, runner = FakeClock(T0), Recorder()
    s = scheduler(store, ["test_keyed_ingestion", "test_missing_ingestion"], runner, clock)
    for _ in range(3):
        s.tick()
        assert s.wait_idle(5)
        clock.advance(timedelta(hours=1))
    assert s.active_jobs == ["test_missing_ingestion"]
    assert "TEST_FAKE_KEY" in s.skipped["test_keyed_ingestion"]
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [
        "scheduler: job test_keyed_ingestion skipped: test.keyed_prices: set TEST_FAKE_KEY "
        "in the environment to fetch this dataset",
        "scheduler: job test_missing_ingestion runs without 1 dataset(s): dataset "
        "test.not_written_yet is not registered (its connector is not available)",
    ]
    assert {c[1] for c in runner.calls} == {("test.da_prices",)}
    assert len(runner.calls) == 3


def test_the_loop_ticks_on_time_and_stops_cleanly(fakes, store: PriceStore) -> None:
    clock, runner = FakeClock(T0), Recorder()
    s = scheduler(store, ["test_rt_ingestion"], runner, clock).start()
    deadline = threading.Event()
    for _ in range(2000):
        if len(runner.calls) >= 4:
            break
        deadline.wait(0.001)
    assert s.stop(5)
    times = [c[3] for c in runner.calls]
    assert times[0] == T0
    assert times[1:4] == [datetime(2025, 10, 15, 14, m, tzinfo=UTC) for m in (5, 10, 15)]
    count = len(runner.calls)
    clock.advance(timedelta(hours=1))
    assert s.tick() == [] and len(runner.calls) == count  # stopped means stopped


def test_stop_cuts_retry_waits_and_skips_the_remaining_windows(fakes, store: PriceStore):
    clock = FakeClock(T0)
    seen: dict[str, object] = {}
    inside = threading.Event()

    def long_job(job, *, datasets, catchup_days, now, cancel, sleep):
        inside.set()
        sleep(3600)  # a retry backoff: must return at once when stopping
        seen["cancelled"] = cancel()
        return []

    s = scheduler(store, ["test_da_ingestion"], long_job, clock)
    s.tick()
    assert inside.wait(5)
    assert s.stop(5)
    assert seen == {"cancelled": True}


def test_catch_up_at_start_fetches_missed_windows_and_abandons_dead_runs(
    fakes, store: PriceStore, upstream: Upstream
) -> None:
    """Real jobs on a real store: the process was down for two days."""
    days = [date(2025, 10, 13), date(2025, 10, 14), date(2025, 10, 15)]
    for day in days:
        upstream.put("test.rt_prices", day, day_payload(Iso.PJM, day, NODES[:1],
                                                        step=timedelta(minutes=5)))  # fmt: skip
    dead = store.start_job_run("test_rt_ingestion", "test.rt_prices", *market_day(Iso.PJM, days[0]))
    clock = FakeClock(T0)  # 10:02 EDT on the 15th
    http = upstream.fetcher()
    s = Scheduler(store, [get_job("test_rt_ingestion")], clock=clock, http=http, catchup_days=2)
    s._runner = _with_retry(s)
    s.tick()
    assert s.wait_idle(10)
    results = s.state("test_rt_ingestion").last_results
    assert [
        (r.window_start.astimezone(Iso.PJM.tz).date(), r.status, r.complete) for r in results
    ] == [
        (days[0], "succeeded", True),
        (days[1], "succeeded", True),
        (days[2], "succeeded", False),  # today: so far
    ]
    status = {r["run_id"]: r["status"] for r in store.job_runs().to_pylist()}
    if store.backend == "duckdb":  # this process holds the file: the row is from a dead one
        assert status[dead] == "failed"
    clock.advance(timedelta(minutes=5))
    s.tick()
    assert s.wait_idle(10)
    assert upstream.requests[-1:] == ["test.rt_prices 2025-10-15"]  # the past is done
    assert upstream.count("test.rt_prices") == 4
    s.stop()


def _with_retry(s: Scheduler):
    """The default runner, with the test's retry policy (no real backoff)."""
    from carbon254.ingest.jobs import run_job

    def run(job, *, datasets, catchup_days, now, cancel, sleep):
        return run_job(
            job, datasets=datasets, store=s.store, http=s._http, now=now,
            catchup_days=catchup_days, cancel=cancel, sleep=sleep, retry=RETRY,
        )  # fmt: skip

    return run


def test_environment_switches(monkeypatch: pytest.MonkeyPatch, fakes, store: PriceStore):
    assert scheduler_enabled()
    assert not scheduler_enabled(False)
    for value in ("off", "0", "false", "NO"):
        monkeypatch.setenv("CARBON254_SCHEDULER", value)
        assert not scheduler_enabled()
        assert start_embedded(store) is None
    monkeypatch.setenv("CARBON254_SCHEDULER", "on")
    monkeypatch.setenv("CARBON254_SCHEDULER_JOBS", "test_keyed_ingestion")
    embedded = start_embedded(store)
    assert embedded is not None
    try:
        assert [j.name for j in embedded.jobs] == ["test_keyed_ingestion"]
        assert embedded.active_jobs == []  # its credentials are missing
    finally:
        assert embedded.stop(5)
