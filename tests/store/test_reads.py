"""Reads: ranges, as_of, DST days, resampling, latest. Runs on DuckDB and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from carbon254.core import market_day
from carbon254.store import InvalidArgument, ResultTooLarge, UnknownInstrument

from .helpers import day_prices, prices, utc

PJM_RT = ["PJM.RT5.LMP.51288", "PJM.RT5.LMP.33092"]
PJM_DA = ["PJM.DA.LMP.51288"]
MISO_RT = ["MISO.RT5.LMP.INDIANA.HUB"]
FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)


@pytest.mark.parametrize(
    ("iso", "instruments", "day", "rows"),
    [
        ("PJM", PJM_RT, FALL_BACK, 300),
        ("PJM", PJM_RT, SPRING_FORWARD, 276),
        ("PJM", PJM_RT, date(2024, 7, 10), 288),
        ("PJM", PJM_DA, FALL_BACK, 25),
        ("PJM", PJM_DA, SPRING_FORWARD, 23),
        ("MISO", MISO_RT, FALL_BACK, 288),
        ("MISO", MISO_RT, SPRING_FORWARD, 288),
    ],
)
def test_a_market_day_reads_back_with_its_exact_row_count(store, iso, instruments, day, rows):
    # neighbouring days are stored too, so the day's bounds must cut exactly
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        store.upsert_prices(day_prices(instruments, iso, d), source=f"{iso}:{d}")
    start, end = market_day(iso, day)
    table = store.read_prices(instruments[:1], start, end)
    assert table.num_rows == rows
    assert table["interval_start"][0].as_py() == start
    assert table["interval_end"][-1].as_py() == end
    daily = store.resample(instruments[:1], start, end, freq="daily")
    assert daily.to_pylist()[0]["count"] == rows
    assert (daily["interval_start"][0].as_py(), daily["interval_end"][0].as_py()) == (start, end)


def test_reads_are_ordered_and_filtered_by_instrument(store):
    store.upsert_prices(day_prices(PJM_RT, "PJM", date(2024, 7, 10)), source="t")
    both = store.read_prices(list(reversed(PJM_RT)), utc(2024, 7, 10), utc(2024, 7, 12))
    assert both.num_rows == 576
    assert both["instrument"].to_pylist() == [PJM_RT[1]] * 288 + [PJM_RT[0]] * 288
    starts = both["interval_start"].to_pylist()[:288]
    assert starts == sorted(starts)
    everything = store.read_prices(None, utc(2024, 7, 10), utc(2024, 7, 12))
    assert everything.num_rows == 576


def test_half_open_range(store):
    store.upsert_prices(prices(PJM_DA, [utc(2024, 7, 10, h) for h in range(4)]), source="t")
    table = store.read_prices(PJM_DA, utc(2024, 7, 10, 1), utc(2024, 7, 10, 3))
    assert [t.hour for t in table["interval_start"].to_pylist()] == [1, 2]


def test_as_of_returns_what_the_store_said_then(store):
    hours = [utc(2024, 7, 10, h) for h in range(3)]
    before_anything = datetime.now(UTC)
    time.sleep(0.002)
    store.upsert_prices(prices(PJM_DA, hours[:2], base=30.0), source="v1")
    after_v1 = datetime.now(UTC)
    time.sleep(0.002)
    store.upsert_prices(prices(PJM_DA, hours, base=45.0), source="v2")  # revises 2, adds 1
    after_v2 = datetime.now(UTC)
    time.sleep(0.002)
    store.upsert_prices(prices(PJM_DA, hours, base=60.0), source="v3")
    start, end = utc(2024, 7, 10), utc(2024, 7, 11)

    def values(as_of):
        return store.read_prices(PJM_DA, start, end, as_of=as_of)["value"].to_pylist()

    assert values(before_anything) == []
    assert values(after_v1) == [30.0, 30.01]
    assert values(after_v2) == [45.0, 45.01, 45.02]
    assert values(None) == [60.0, 60.01, 60.02]
    assert values(datetime.now(UTC)) == [60.0, 60.01, 60.02]
    mean_then = store.resample(PJM_DA, start, end, freq="daily", as_of=after_v1)
    assert mean_then["value"][0].as_py() == pytest.approx(30.005)


def test_resample_hourly_matches_an_independent_pandas_computation(store):
    table = day_prices(PJM_RT, "PJM", date(2024, 7, 10))
    store.upsert_prices(table, source="t")
    start, end = market_day("PJM", date(2024, 7, 10))
    frame = table.to_pandas()
    frame["hour"] = frame["interval_start"].dt.floor("h")
    for how in ("mean", "min", "max"):
        expected = frame.groupby(["instrument", "hour"])["value"].agg(how).reset_index()
        expected = expected.sort_values(["instrument", "hour"])
        got = store.resample(PJM_RT, start, end, freq="hourly", how=how).to_pandas()
        assert len(got) == 48
        assert got["value"].to_numpy() == pytest.approx(expected["value"].to_numpy())
        assert (got["interval_start"] == expected["hour"].to_numpy()).all()
        assert (got["count"] == 12).all()
    quarter = store.resample(PJM_RT[:1], start, end, freq="15min")
    assert quarter.num_rows == 96 and set(quarter["count"].to_pylist()) == {3}


def test_on_and_off_peak_follow_the_iso_calendar(store):
    # Wed 2024-07-03 (a weekday), Thu 2024-07-04 (NERC holiday), Sat 2024-07-06.
    days = [date(2024, 7, 3), date(2024, 7, 4), date(2024, 7, 6)]
    for d in days:
        store.upsert_prices(day_prices(PJM_RT[:1], "PJM", d), source=str(d))
        store.upsert_prices(
            day_prices(["CAISO.RT5.LMP.TH_SP15_GEN-APND"], "CAISO", d), source=f"c{d}"
        )
    start, end = utc(2024, 7, 3), utc(2024, 7, 8)
    on = store.resample(None, start, end, freq="daily", peak="on").to_pylist()
    off = store.resample(None, start, end, freq="daily", peak="off").to_pylist()
    on_counts = {(r["instrument"][:5], r["interval_start"].date()): r["count"] for r in on}
    # PJM 5x16: only the Wednesday; CAISO 6x16: Wednesday and Saturday; nobody on July 4th.
    assert on_counts == {
        ("PJM.R", date(2024, 7, 3)): 192,
        ("CAISO", date(2024, 7, 3)): 192,
        ("CAISO", date(2024, 7, 6)): 192,
    }
    off_pjm = {
        r["interval_start"].date(): r["count"] for r in off if r["instrument"].startswith("PJM")
    }
    assert off_pjm == {date(2024, 7, 3): 96, date(2024, 7, 4): 288, date(2024, 7, 6): 288}
    # PJM on-peak starts at 07:00 EDT (11:00Z); check the mean is over exactly those hours
    frame = day_prices(PJM_RT[:1], "PJM", days[0]).to_pandas()
    local = frame["interval_start"].dt.tz_convert("America/New_York")
    mask = (local.dt.hour >= 7) & (local.dt.hour <= 22)
    pjm_on = next(r for r in on if r["instrument"].startswith("PJM"))
    assert pjm_on["value"] == pytest.approx(frame.loc[mask, "value"].mean())


def test_monthly_buckets_are_local_months(store):
    for d in (date(2024, 10, 31), date(2024, 11, 1)):
        store.upsert_prices(day_prices(PJM_DA, "PJM", d), source=str(d))
    monthly = store.resample(PJM_DA, utc(2024, 10, 1), utc(2024, 12, 1), freq="monthly")
    rows = monthly.to_pylist()
    assert [r["count"] for r in rows] == [24, 24]
    assert rows[1]["interval_start"] == market_day("PJM", date(2024, 11, 1))[0]
    assert rows[1]["interval_end"] == market_day("PJM", date(2024, 12, 1))[0]


def test_latest_interval_per_instrument(store):
    store.upsert_prices(day_prices(PJM_RT, "PJM", date(2024, 7, 10)), source="a")
    store.upsert_prices(day_prices(PJM_RT[:1], "PJM", date(2024, 7, 11)), source="b")
    latest = {r["instrument"]: r for r in store.latest().to_pylist()}
    assert latest[PJM_RT[0]]["interval_start"] == market_day("PJM", date(2024, 7, 11))[
        1
    ] - timedelta(minutes=5)
    assert latest[PJM_RT[1]]["interval_start"] == market_day("PJM", date(2024, 7, 10))[
        1
    ] - timedelta(minutes=5)
    assert store.latest([PJM_RT[1]]).num_rows == 1


def test_bad_read_arguments_are_clear_errors(store):
    store.upsert_prices(day_prices(PJM_DA, "PJM", date(2024, 7, 10)), source="a")
    with pytest.raises(UnknownInstrument, match=r"PJM\.DA\.LMP\.404"):
        store.read_prices(["PJM.DA.LMP.404"], utc(2024, 7, 10), utc(2024, 7, 11))
    with pytest.raises(ValueError, match="market 'XX'"):
        store.read_prices(["PJM.XX.LMP.1"], utc(2024, 7, 10), utc(2024, 7, 11))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.read_prices(PJM_DA, datetime(2024, 7, 10), utc(2024, 7, 11))
    with pytest.raises(ValueError, match="before end"):
        store.read_prices(PJM_DA, utc(2024, 7, 11), utc(2024, 7, 10))
    with pytest.raises(ValueError, match="freq"):
        store.resample(PJM_DA, utc(2024, 7, 10), utc(2024, 7, 11), freq="weekly")


def test_empty_store_reads(store):
    assert store.read_prices(None, utc(2024, 1, 1), utc(2024, 2, 1)).num_rows == 0
    assert store.latest().num_rows == 0
    assert store.resample(None, utc(2024, 1, 1), utc(2024, 2, 1), freq="daily").num_rows == 0
    status = store.status()
    assert status.schema_version == status.latest_schema_version >= 2
    assert status.counts["prices"] == 0 and status.last_interval is None


def test_migrate_is_idempotent(store):
    assert store.migrate() == []
    assert store.status().schema_version == store.latest_schema_version() >= 2


def test_status_counts(store):
    store.upsert_prices(day_prices(PJM_DA, "PJM", date(2024, 7, 10)), source="a")
    status = store.status()
    assert status.counts["prices"] == 24 and status.counts["ingest_batches"] == 1
    assert status.first_interval == market_day("PJM", date(2024, 7, 10))[0]


def test_pandas_sees_utc(store):
    store.upsert_prices(day_prices(PJM_DA, "PJM", date(2024, 7, 10)), source="a")
    frame = store.read_prices(PJM_DA, utc(2024, 7, 10), utc(2024, 7, 11)).to_pandas()
    assert str(frame["interval_start"].dt.tz) == "UTC"
    assert frame["interval_start"].iloc[0] == pd.Timestamp("2024-07-10 04:00", tz="UTC")


def test_as_of_is_stable_while_a_batch_is_in_flight(store):
    store.upsert_prices(prices(PJM_DA, [utc(2024, 7, 10, 4)], base=30.0), source="v1")
    inside, release = threading.Event(), threading.Event()
    seen: list[list[float]] = []
    window = (utc(2024, 7, 10), utc(2024, 7, 11))

    def slow_stream():
        yield from prices(PJM_DA, [utc(2024, 7, 10, 4)], base=50.0).to_batches()
        inside.set()
        release.wait(10)

    def reader():
        inside.wait(10)
        time.sleep(0.002)
        seen.append(datetime.now(UTC))  # an instant after the batch began, before it commits
        seen.append(store.read_prices(PJM_DA, *window, as_of=seen[0])["value"].to_pylist())
        release.set()

    thread = threading.Thread(target=reader)
    thread.start()
    store.upsert_prices(slow_stream(), source="v2")
    thread.join(10)
    # asked again after the commit, the same as_of gives the same answer
    assert seen[1] == [30.0]
    assert store.read_prices(PJM_DA, *window, as_of=seen[0])["value"].to_pylist() == [30.0]
    assert store.read_prices(PJM_DA, *window)["value"].to_pylist() == [50.0]


def test_as_of_in_the_future_is_refused(store):
    store.upsert_prices(prices(PJM_DA, [utc(2024, 7, 10, 4)]), source="v1")
    with pytest.raises(InvalidArgument, match="in the future"):
        store.read_prices(PJM_DA, utc(2024, 7, 10), utc(2024, 7, 11), as_of=utc(2099, 1, 1))


def test_max_rows_guards_against_huge_results(store):
    store.upsert_prices(day_prices(PJM_RT, "PJM", date(2024, 7, 10)), source="a")
    window = (utc(2024, 7, 10), utc(2024, 7, 12))
    assert store.read_prices(PJM_RT, *window, max_rows=576).num_rows == 576
    with pytest.raises(ResultTooLarge):
        store.read_prices(PJM_RT, *window, max_rows=575)


def test_daily_buckets_across_a_dst_week(store):
    days = [date(2024, 10, 31) + timedelta(days=i) for i in range(7)]  # Thu .. Wed
    for day in days:
        store.upsert_prices(day_prices(PJM_DA, "PJM", day), source=str(day))
    start, end = market_day("PJM", days[0])[0], market_day("PJM", days[-1])[1]
    daily = store.resample(PJM_DA, start, end, freq="daily").to_pylist()
    assert [r["count"] for r in daily] == [24, 24, 24, 25, 24, 24, 24]
    assert [r["interval_start"] for r in daily] == [market_day("PJM", d)[0] for d in days]
    on = store.resample(PJM_DA, start, end, freq="daily", peak="on").to_pylist()
    # weekdays only (Thu, Fri, Mon 11-04, Tue, Wed), 16 hours each even around the switch
    assert [
        (r["interval_start"].astimezone(ZoneInfo("America/New_York")).date(), r["count"])
        for r in on
    ] == [(d, 16) for d in days if d.weekday() < 5]


def test_a_second_process_sees_instruments_the_first_did_not_create(store_url):
    from carbon254.store import open_store

    with open_store(store_url) as api, open_store(store_url) as ingest:
        ingest.upsert_prices(day_prices(PJM_DA, "PJM", date(2024, 7, 10)), source="a")
        ingest.upsert_prices(day_prices(MISO_RT, "MISO", date(2024, 7, 10)), source="b")
        window = (utc(2024, 7, 10), utc(2024, 7, 12))
        assert api.read_prices(None, *window).num_rows == 24 + 288
        daily = api.resample(None, *window, freq="daily").to_pylist()
        assert sorted({r["instrument"] for r in daily}) == sorted(PJM_DA + MISO_RT)
        assert api.read_prices(MISO_RT, *window).num_rows == 288
