"""Quality queries: rows per local market day (DST, MISO's fixed clock), LMP component
consistency, last interval stored. Both backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from carbon254.core import market_day
from carbon254.store import InvalidArgument

from .helpers import day_prices, prices, utc

PJM_DA = ["PJM.DA.LMP.51288", "PJM.DA.LMP.33092"]
PJM_RT = ["PJM.RT5.LMP.51288"]
MISO_DA = ["MISO.DA.LMP.AMIL.BGS6"]
FALL_BACK = date(2025, 11, 2)
SPRING_FORWARD = date(2025, 3, 9)


def counts(table: pa.Table) -> dict[tuple[str, date], int]:
    return {(r["instrument"], r["day"]): r["rows"] for r in table.to_pylist()}


def test_dst_days_count_25_and_23_hours(store):
    for day in (date(2025, 11, 1), FALL_BACK, date(2025, 11, 3)):
        store.upsert_prices(day_prices(PJM_DA, "PJM", day), source=str(day))
    table = store.daily_counts("PJM", "DA", "LMP", date(2025, 11, 1), date(2025, 11, 3))
    assert table.schema.names == ["instrument", "day", "rows"]
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("rows").type == pa.int64()
    assert counts(table) == {
        (name, date(2025, 11, d)): n for name in PJM_DA for d, n in ((1, 24), (2, 25), (3, 24))
    }
    assert table["instrument"].to_pylist() == sorted(table["instrument"].to_pylist())

    store.upsert_prices(day_prices(PJM_DA, "PJM", SPRING_FORWARD), source="spring")
    spring = store.daily_counts("PJM", "DA", "LMP", SPRING_FORWARD, SPRING_FORWARD)
    assert set(counts(spring).values()) == {23}


def test_five_minute_fall_back_day_counts_300(store):
    store.upsert_prices(day_prices(PJM_RT, "PJM", FALL_BACK), source="rt")
    table = store.daily_counts("PJM", "RT5", "LMP", FALL_BACK, FALL_BACK)
    assert counts(table) == {(PJM_RT[0], FALL_BACK): 300}
    # other markets and products of the ISO are not counted
    assert store.daily_counts("PJM", "DA", "LMP", FALL_BACK, FALL_BACK).num_rows == 0


def test_missing_days_are_zero_rows_not_absent(store):
    store.upsert_prices(day_prices(PJM_DA, "PJM", date(2025, 7, 1)), source="a")
    store.upsert_prices(day_prices(PJM_DA[:1], "PJM", date(2025, 7, 3)), source="b")
    partial = day_prices(PJM_DA[1:], "PJM", date(2025, 7, 3)).slice(0, 20)
    store.upsert_prices(partial, source="c")
    table = store.daily_counts("PJM", "DA", "LMP", date(2025, 6, 30), date(2025, 7, 3))
    got = counts(table)
    assert len(got) == 2 * 4
    assert [got[(PJM_DA[0], date(2025, 7, d))] for d in (1, 2, 3)] == [24, 0, 24]
    assert [got[(PJM_DA[1], date(2025, 7, d))] for d in (1, 2, 3)] == [24, 0, 20]
    assert got[(PJM_DA[0], date(2025, 6, 30))] == 0


def test_miso_days_are_fixed_est_even_on_us_dst_days(store):
    # 04:00Z on 2025-11-02 is 23:00 EST on 11-01 for MISO, but 00:00 EDT on 11-02 for PJM
    hour = utc(2025, 11, 2, 4)
    store.upsert_prices(prices(MISO_DA, [hour]), source="miso")
    store.upsert_prices(prices(PJM_DA[:1], [hour]), source="pjm")
    miso = store.daily_counts("MISO", "DA", "LMP", date(2025, 11, 1), date(2025, 11, 2))
    assert counts(miso) == {(MISO_DA[0], date(2025, 11, 1)): 1, (MISO_DA[0], date(2025, 11, 2)): 0}
    pjm = store.daily_counts("PJM", "DA", "LMP", date(2025, 11, 1), date(2025, 11, 2))
    assert counts(pjm) == {(PJM_DA[0], date(2025, 11, 1)): 0, (PJM_DA[0], date(2025, 11, 2)): 1}
    # a full MISO market day is 24 hours, 05:00Z to 05:00Z, DST or not
    store.upsert_prices(day_prices(MISO_DA, "MISO", FALL_BACK), source="day")
    assert market_day("MISO", FALL_BACK)[0] == utc(2025, 11, 2, 5)
    day = store.daily_counts("MISO", "DA", "LMP", FALL_BACK, FALL_BACK)
    assert counts(day) == {(MISO_DA[0], FALL_BACK): 24}


def test_daily_counts_arguments(store):
    with pytest.raises(InvalidArgument, match="after end_day"):
        store.daily_counts("PJM", "DA", "LMP", date(2025, 1, 2), date(2025, 1, 1))
    with pytest.raises(InvalidArgument, match="must be a date"):
        store.daily_counts("PJM", "DA", "LMP", datetime(2025, 1, 1), date(2025, 1, 2))
    with pytest.raises(InvalidArgument, match="unknown market"):
        store.daily_counts("PJM", "RT", "LMP", date(2025, 1, 1), date(2025, 1, 2))
    with pytest.raises(InvalidArgument, match="unknown iso"):
        store.daily_counts("XX", "DA", "LMP", date(2025, 1, 1), date(2025, 1, 2))


def _lmp(instrument: str, start: datetime, value: float, parts: tuple, ghg=None) -> pa.Table:
    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "instrument": [instrument],
            "interval_start": pa.array([start], ts),
            "interval_end": pa.array([start + timedelta(hours=1)], ts),
            "value": [value],
            "energy": [parts[0]],
            "congestion": [parts[1]],
            "loss": [parts[2]],
            "ghg": pa.array([ghg], pa.float64()),
        }
    )


def test_component_violations_count_rows_off_by_more_than_the_tolerance(store):
    t = utc(2025, 7, 1, 10)
    store.upsert_prices(_lmp("PJM.DA.LMP.1", t, 30.0, (29.0, 0.5, 0.495)), source="a")  # 0.005 off
    store.upsert_prices(_lmp("PJM.DA.LMP.2", t, 30.0, (29.0, 0.5, 0.5)), source="b")  # exact
    store.upsert_prices(prices(["PJM.DA.LMP.3"], [t], components=False), source="c")  # none
    caiso = _lmp("CAISO.DA.LMP.TH_NP15_GEN-APND", t, 40.0, (35.0, 2.0, 1.0), ghg=1.996)
    store.upsert_prices(caiso, source="d")  # 0.004 off with GHG, 2 off without
    window = (utc(2025, 7, 1), utc(2025, 7, 2))
    assert store.component_violations("PJM", *window) == 0
    assert store.component_violations("PJM", *window, tolerance=0.001) == 1
    assert store.component_violations("PJM", *window, tolerance=0.0) == 1
    assert store.component_violations("CAISO", *window) == 0  # ghg is part of the sum
    assert store.component_violations("CAISO", *window, tolerance=0.001) == 1
    assert store.component_violations("PJM", utc(2025, 7, 2), utc(2025, 7, 3), 0.0) == 0
    with pytest.raises(InvalidArgument, match="tolerance"):
        store.component_violations("PJM", *window, tolerance=float("nan"))


def test_last_interval_per_iso_market_product(store):
    assert store.last_interval("PJM", "RT5", "LMP") is None
    store.upsert_prices(day_prices(PJM_RT, "PJM", FALL_BACK), source="rt")
    store.upsert_prices(day_prices(PJM_DA, "PJM", date(2025, 11, 3)), source="da")
    assert store.last_interval("PJM", "RT5", "LMP") == market_day("PJM", FALL_BACK)[1] - timedelta(
        minutes=5
    )
    assert store.last_interval("PJM", "DA", "LMP") == market_day("PJM", date(2025, 11, 3))[
        1
    ] - timedelta(hours=1)
    assert store.last_interval("MISO", "DA", "LMP") is None
    assert store.last_interval("PJM", "RT5", "LMP").tzinfo is not None
