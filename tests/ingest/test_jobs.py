"""Named jobs and `run_job`: the table, default windows in the ISO's clock, idempotent
re-runs, unregistered datasets and missing credentials, stale runs, catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from carbon254.core import Iso, market_day
from carbon254.ingest.jobs import (
    JOBS,
    Job,
    JobFailed,
    UnknownJob,
    all_jobs,
    default_days,
    get_job,
    job_for_dataset,
    local_today,
    run_job,
)
from carbon254.store import PriceStore

from .conftest import RETRY
from .fakes import NODES, Killed, Upstream, day_payload

REQUIRED = {
    "pjm_rt_ingestion": ({"pjm.rt_fivemin_hrl_lmps"}, timedelta(minutes=5)),
    "pjm_da_ingestion": ({"pjm.da_hrl_lmps", "pjm.rt_hrl_lmps"}, timedelta(hours=1)),
    "pjm_capacity_ingestion": ({"pjm.rpm_bra"}, timedelta(days=1)),
    "pjm_as_ingestion": (
        {"pjm.reg_prices", "pjm.reserve_market_results", "pjm.da_reserve_market_results"},
        None,
    ),
    "pjm_constraints_ingestion": (
        {"pjm.rt_marginal_value", "pjm.da_marginal_value", "pjm.da_transconstraints"},
        None,
    ),
    "pjm_pnode_ingestion": ({"pjm.pnode"}, timedelta(days=1)),
    "ercot_rt_ingestion": ({"ercot.np6-905-cd", "ercot.np6-788-cd"}, None),
    "ercot_da_ingestion": ({"ercot.np4-190-cd"}, None),
    "ercot_as_ingestion": ({"ercot.np4-188-cd", "ercot.np3-911-er"}, None),
    "ercot_ordc_ingestion": ({"ercot.np6-323-cd"}, None),
    "ercot_sced_disclosure_ingestion": ({"ercot.np3-965-er"}, timedelta(days=1)),
}
DAY = date(2025, 10, 15)
LATER = datetime(2027, 1, 1, tzinfo=UTC)


def test_every_job_of_the_issue_exists_with_its_datasets_and_schedule() -> None:
    names = {job.name for job in all_jobs()}
    assert set(REQUIRED) <= names
    for name, (datasets, every) in REQUIRED.items():
        job = get_job(name)
        assert set(job.datasets) == datasets, name
        assert every is None or job.every == every, name
        assert job.iso is (Iso.PJM if name.startswith("pjm") else Iso.ERCOT)
        assert job.description
    assert job_for_dataset("pjm.rt_hrl_lmps").name == "pjm_da_ingestion"
    assert job_for_dataset("nobody.owns_this") is None
    owners = [d for job in JOBS.values() for d in job.datasets]
    assert len(owners) == len(set(owners)), "a dataset belongs to one job"


def test_unknown_job_says_which_exist() -> None:
    with pytest.raises(UnknownJob, match="unknown job 'nope'; jobs: ercot_as_ingestion"):
        run_job("nope")


def test_default_days_are_local_days_ending_today() -> None:
    # 03:30 UTC on 2 Nov is still 1 Nov in New York (EDT) and in Chicago (CDT).
    now = datetime(2025, 11, 2, 3, 30, tzinfo=UTC)
    assert local_today(Iso.PJM, now) == date(2025, 11, 1)
    assert default_days(get_job("pjm_rt_ingestion"), now) == (date(2025, 11, 1),) * 2
    da = default_days(get_job("pjm_da_ingestion"), now)
    assert da == (date(2025, 10, 31), date(2025, 11, 2))  # yesterday .. tomorrow
    sced = default_days(get_job("ercot_sced_disclosure_ingestion"), now)
    assert sced[1] == date(2025, 11, 1) - timedelta(days=60)


def test_run_job_twice_stores_rows_once(fakes, store: PriceStore, upstream: Upstream) -> None:
    for name in ("test.da_prices", "test.constraints"):
        upstream.put(name, DAY, day_payload(Iso.PJM, DAY))
    kw = {"start": DAY, "end": DAY, "store": store, "http": upstream.fetcher(), "retry": RETRY}
    first = run_job("test_da_ingestion", **kw)
    assert [(r.dataset, r.status, r.rows, r.changed) for r in first] == [
        ("test.da_prices", "succeeded", 72, 72),
        ("test.constraints", "succeeded", 72, 72),
    ]
    second = run_job("test_da_ingestion", **kw)
    assert [(r.status, r.changed) for r in second] == [("succeeded", 0), ("succeeded", 0)]
    start, end = market_day(Iso.PJM, DAY)
    assert store.read_prices(None, start, end).num_rows == 72
    assert store.read_constraints(start=start, end=end).num_rows == 72
    assert store.job_runs(job="test_da_ingestion", status="succeeded").num_rows == 4


def test_default_window_ends_today_in_the_iso_clock(
    fakes, store: PriceStore, upstream: Upstream
) -> None:
    now = datetime(2025, 11, 2, 3, 30, tzinfo=UTC)  # 1 Nov, 23:30 EDT
    results = run_job(
        "test_rt_ingestion",
        store=store,
        http=upstream.fetcher(),
        now=now,
        catchup_days=0,
        retry=RETRY,
    )
    assert [(r.window_start, r.status) for r in results] == [
        (market_day(Iso.PJM, date(2025, 11, 1))[0], "skipped")  # nothing published
    ]
    assert upstream.requests == ["test.rt_prices 2025-11-01"]


def test_unregistered_datasets_fail_clearly_and_the_rest_runs(
    fakes, store: PriceStore, upstream: Upstream
) -> None:
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))
    results = run_job(
        "test_missing_ingestion",
        start=DAY,
        end=DAY,
        store=store,
        http=upstream.fetcher(),
        retry=RETRY,
    )
    missing, ran = results
    assert missing.status == "failed" and missing.run_id is None
    assert missing.error == (
        "dataset test.not_written_yet is not registered (its connector is not available)"
    )
    assert ran.status == "succeeded"
    with pytest.raises(JobFailed, match=r"test_missing_ingestion: 1 window\(s\) failed"):
        run_job("test_missing_ingestion", start=DAY, end=DAY, store=store,
                http=upstream.fetcher(), retry=RETRY, raise_on_failure=True)  # fmt: skip


def test_missing_credentials_name_the_variable_and_touch_nothing(
    fakes, store: PriceStore, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.put("test.keyed_prices", DAY, day_payload(Iso.PJM, DAY))
    [result] = run_job("test_keyed_ingestion", start=DAY, end=DAY, store=store,
                       http=upstream.fetcher(), retry=RETRY)  # fmt: skip
    assert result.status == "failed" and "set TEST_FAKE_KEY in the environment" in result.error
    assert upstream.requests == [] and store.job_runs().num_rows == 0
    monkeypatch.setenv("TEST_FAKE_KEY", "secret")
    [result] = run_job("test_keyed_ingestion", start=DAY, end=DAY, store=store,
                       http=upstream.fetcher(), retry=RETRY)  # fmt: skip
    assert result.status == "succeeded"


def test_bad_ranges_are_refused(fakes, store: PriceStore, upstream: Upstream) -> None:
    with pytest.raises(ValueError, match="before start day"):
        run_job("test_da_ingestion", start=DAY, end=DAY - timedelta(days=1), store=store,
                http=upstream.fetcher())  # fmt: skip


def test_a_killed_run_is_abandoned_and_its_window_completed_next_time(
    fakes, store: PriceStore, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.put("test.rt_prices", DAY, day_payload(Iso.PJM, DAY, step=timedelta(minutes=5)))
    dataset = fakes["test.rt_prices"]
    real_parse = type(dataset).parse

    def dies(self, raws):
        raise Killed

    monkeypatch.setattr(type(dataset), "parse", dies)
    kw = {"start": DAY, "end": DAY, "store": store, "retry": RETRY}
    with pytest.raises(Killed):
        run_job("test_rt_ingestion", http=upstream.fetcher(), **kw)
    [stale] = store.job_runs().to_pylist()
    assert stale["status"] == "running"
    monkeypatch.setattr(type(dataset), "parse", real_parse)
    # A fresh run far from the kill would abandon it after STALE_AFTER; say "now" here.
    [result] = run_job("test_rt_ingestion", http=upstream.fetcher(), stale_after=timedelta(0), **kw)
    assert result.status == "succeeded" and result.rows == 288 * len(NODES)
    runs = {r["run_id"]: r for r in store.job_runs().to_pylist()}
    assert runs[stale["run_id"]]["status"] == "failed"
    assert runs[stale["run_id"]]["error"] == "abandoned (process ended mid-run)"
    assert runs[result.run_id]["status"] == "succeeded"
    start, end = market_day(Iso.PJM, DAY)
    assert store.read_prices(None, start, end).num_rows == 288 * len(NODES)


def test_a_recent_running_row_is_not_abandoned_by_default(
    fakes, store: PriceStore, upstream: Upstream
) -> None:
    start, end = market_day(Iso.PJM, DAY)
    live = store.start_job_run("test_da_ingestion", "test.da_prices", start, end)
    run_job("test_da_ingestion", start=DAY, end=DAY, store=store, http=upstream.fetcher(),
            retry=RETRY)  # fmt: skip
    assert {r["run_id"]: r["status"] for r in store.job_runs().to_pylist()}[live] == "running"


def test_ticks_fetch_the_settled_tail_of_yesterday_once(
    fakes, store: PriceStore, upstream: Upstream
) -> None:
    """Five-minute job: today every tick; yesterday once more after it settled."""
    day = date(2025, 10, 15)
    before = day - timedelta(days=1)
    for d in (before, day, day + timedelta(days=1)):
        upstream.put("test.rt_prices", d, day_payload(Iso.PJM, d, NODES[:1],
                                                      step=timedelta(minutes=5)))  # fmt: skip
    start, end = market_day(Iso.PJM, day)

    def tick(now: datetime) -> list[tuple[date, bool]]:
        results = run_job("test_rt_ingestion", store=store, http=upstream.fetcher(), now=now,
                          retry=RETRY)  # fmt: skip
        return [(r.window_start.astimezone(Iso.PJM.tz).date(), r.complete) for r in results]

    # 23:55: yesterday has no complete run (settled: fetched once), and today.
    assert tick(end - timedelta(minutes=5)) == [(before, True), (day, False)]
    assert tick(end - timedelta(minutes=4)) == [(day, False)]
    assert tick(end + timedelta(minutes=5)) == [(day + timedelta(days=1), False)]  # not settled
    assert tick(end + timedelta(minutes=30)) == [(day, True), (day + timedelta(days=1), False)]
    assert tick(end + timedelta(minutes=35)) == [(day + timedelta(days=1), False)]
    assert store.read_prices(None, start, end).num_rows == 288


def test_ahead_days_fetch_tomorrow(fakes, store: PriceStore, upstream: Upstream) -> None:
    now = datetime(2025, 10, 15, 18, 0, tzinfo=UTC)  # 14:00 EDT: tomorrow's DA is out
    tomorrow = date(2025, 10, 16)
    upstream.put("test.da_prices", tomorrow, day_payload(Iso.PJM, tomorrow))
    results = run_job("test_da_ingestion", store=store, http=upstream.fetcher(), now=now,
                      datasets=["test.da_prices"], catchup_days=0, retry=RETRY)  # fmt: skip
    assert [(r.window_start, r.status) for r in results] == [
        (market_day(Iso.PJM, date(2025, 10, 15))[0], "skipped"),
        (market_day(Iso.PJM, tomorrow)[0], "succeeded"),
    ]
    assert not results[1].complete  # refetched once after the day settles


def test_a_dataset_with_no_store_table_is_refused_clearly(
    fakes, store: PriceStore, upstream: Upstream
) -> None:
    job = Job("test_no_table", Iso.PJM, ("test.no_table",), every=timedelta(hours=1),
              lookback_days=1, description="rows with nowhere to go")  # fmt: skip
    upstream.put("test.no_table", DAY, day_payload(Iso.PJM, DAY))
    [result] = run_job(job, start=DAY, end=DAY, store=store, http=upstream.fetcher())
    assert result.status == "failed" and result.run_id is None
    assert result.error == "dataset test.no_table has no store table for its rows yet (target None)"
    assert upstream.requests == [] and store.job_runs().num_rows == 0


def test_period_datasets_are_not_caught_up(fakes, store: PriceStore, upstream: Upstream) -> None:
    """A directory answers whole whatever the window: only the hot window is fetched."""
    from carbon254.connectors.dataset import TimeRule

    from .fakes import FakePrices

    class Directory(FakePrices):
        name = "test.directory"
        time_rule = TimeRule.PERIOD

    fakes["test.directory"] = Directory()
    job = Job("test_directory", Iso.PJM, ("test.directory",), every=timedelta(days=1),
              lookback_days=1, description="a directory")  # fmt: skip
    now = datetime(2025, 10, 15, 9, 0, tzinfo=UTC)
    run_job(job, store=store, http=upstream.fetcher(), now=now, catchup_days=5)
    assert upstream.requests == ["test.directory 2025-10-15"]


def test_a_five_minute_tick_fetches_only_the_live_tail_of_today(
    fakes, store: PriceStore, upstream: Upstream
) -> None:
    """Once today has data, a tick asks from an hour before the latest stored interval
    (floored to the hour), not from midnight; an empty store asks for the whole day."""
    day = date(2025, 10, 15)
    start, end = market_day(Iso.PJM, day)
    so_far = [(NODES[0], i) for i in range(144, 288)]  # published up to 11:55 local
    payload = day_payload(Iso.PJM, day, NODES[:1], step=timedelta(minutes=5), drop=so_far)
    upstream.put("test.rt_prices", day, payload)
    now = start + timedelta(hours=12, minutes=7)

    def tick():
        *_, today = run_job("test_rt_ingestion", store=store, http=upstream.fetcher(), now=now,
                            retry=RETRY, catchup_days=0)  # fmt: skip
        return today

    first = tick()
    assert first.window_start == start and first.rows == 144
    second = tick()
    assert second.window_start == start + timedelta(hours=10)  # 11:55 - 1 h, floored
    assert second.window_end < end and not second.complete
    assert second.changed == 0  # the overlap re-reads stored rows: nothing changes
