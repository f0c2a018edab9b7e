"""`Client.prices` and `iter_pages` against a real server: both wires, pages, DST, tz."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pytest

import carbon254
from carbon254.core import InstrumentId, Iso, market_day
from carbon254.store.base import PriceStore

from ..service.service_helpers import (
    CAISO_DA,
    ERCOT_RT15,
    FALL_BACK,
    PJM_DA,
    SPRING_FORWARD,
    price_table,
    utc,
)
from .sdk_helpers import PJM_RT5, RT5_DAYS

ALL = [PJM_DA, CAISO_DA, ERCOT_RT15]


def _store_frame(store: PriceStore, ids: list[str], start: datetime, end: datetime) -> pd.DataFrame:
    return store.read_prices(ids, start, end).to_pandas()


def test_arrow_and_json_give_the_stored_rows(client: carbon254.Client, sdk_store) -> None:
    arrow = client.prices(ALL, "2024-11-02", "2024-11-06")
    json = client.prices(ALL, "2024-11-02", "2024-11-06", wire="json")
    expected = _store_frame(sdk_store, ALL, utc(2024, 11, 2), utc(2024, 11, 6))
    assert len(expected) > 100
    pdt.assert_frame_equal(arrow.to_pandas(), expected)
    pdt.assert_frame_equal(json.to_pandas(), expected)
    assert arrow.to_arrow().schema.field("interval_start").type == pa.timestamp("us", tz="UTC")
    assert json.to_arrow().equals(arrow.to_arrow())
    assert arrow.pages == json.pages == 1
    assert json.meta["instruments"] == ALL
    assert arrow.request == {
        "instruments": ",".join(ALL),
        "start": "2024-11-02",
        "end": "2024-11-06",
    }


def test_timestamps_are_tz_aware_utc(client: carbon254.Client) -> None:
    for wire in ("arrow", "json"):
        frame = client.prices(PJM_DA, "2024-11-03", "2024-11-04", wire=wire).to_pandas()
        assert str(frame["interval_start"].dtype) == "datetime64[us, UTC]"
        assert str(frame["interval_end"].dtype) == "datetime64[us, UTC]"
        assert frame["interval_start"].iloc[0] == pd.Timestamp("2024-11-03T00:00:00Z")


@pytest.mark.parametrize(("day", "hours"), [(FALL_BACK, 25), (SPRING_FORWARD, 23)])
def test_dst_days_have_every_hour(client: carbon254.Client, day, hours: int) -> None:
    start, end = market_day(Iso.PJM, day)
    for wire in ("arrow", "json"):
        frame = client.prices(PJM_DA, start, end, wire=wire).to_pandas()
        assert len(frame) == hours
        assert frame["interval_start"].is_monotonic_increasing
        assert frame["interval_start"].diff().dropna().eq(pd.Timedelta(hours=1)).all()


def test_every_page_is_fetched(client: carbon254.Client, sdk_store) -> None:
    start, end = utc(2024, 11, 2), utc(2024, 11, 6)
    whole = client.prices(PJM_RT5, start, end)
    expected_rows = 288 * len(RT5_DAYS) + 12  # the fall-back day has 25 hours
    assert (len(whole), whole.pages) == (expected_rows, 1)
    for wire in ("arrow", "json"):
        paged = client.prices(PJM_RT5, start, end, page_size=100, wire=wire)
        assert paged.pages == -(-expected_rows // 100)
        pdt.assert_frame_equal(paged.to_pandas(), whole.to_pandas())
    pdt.assert_frame_equal(whole.to_pandas(), _store_frame(sdk_store, [PJM_RT5], start, end))


def test_iter_pages_streams_one_page_at_a_time(client: carbon254.Client) -> None:
    start, end = utc(2024, 11, 2), utc(2024, 11, 6)
    pages = client.iter_pages(PJM_RT5, start, end, page_size=250)
    first = next(pages)
    assert isinstance(first, carbon254.client.PriceFrame) and len(first) == 250
    rest = list(pages)
    rows = 288 * len(RT5_DAYS) + 12
    assert [len(p) for p in rest] == [250, 250, rows - 750]
    joined = pd.concat([p.to_pandas() for p in (first, *rest)], ignore_index=True)
    pdt.assert_frame_equal(joined, client.prices(PJM_RT5, start, end).to_pandas())


def test_instruments_and_times_in_any_form(client: carbon254.Client) -> None:
    expected = client.prices([PJM_DA, ERCOT_RT15], "2024-11-03T04:00:00Z", "2024-11-04")
    eastern = ZoneInfo("America/New_York")
    forms = [
        (f"{PJM_DA}, {ERCOT_RT15}", datetime(2024, 11, 3, 0, tzinfo=eastern), "2024-11-04"),
        (
            (InstrumentId.parse(PJM_DA), InstrumentId.parse(ERCOT_RT15)),
            pd.Timestamp("2024-11-03 04:00", tz="UTC"),
            datetime(2024, 11, 4),  # naive: UTC, as the API reads it
        ),
    ]
    for ids, start, end in forms:
        got = client.prices(ids, start, end)
        pdt.assert_frame_equal(got.to_pandas(), expected.to_pandas())


def test_local_time_columns(client: carbon254.Client) -> None:
    start, end = market_day(Iso.PJM, FALL_BACK)
    arrow = client.prices(PJM_DA, start, end, tz="America/New_York")
    json = client.prices(PJM_DA, start, end, tz="America/New_York", wire="json")
    for frame in (arrow, json):
        df = frame.to_pandas()
        assert str(df["interval_start_local"].dtype) == "datetime64[us, America/New_York]"
        assert df["interval_start_local"].iloc[0].hour == 0
        assert df["interval_start_local"].dt.hour.tolist().count(1) == 2  # 01:00 twice
        assert (df["interval_start_local"] == df["interval_start"]).all()
    pdt.assert_frame_equal(json.to_pandas(), arrow.to_pandas())
    # Two market clocks: no single zone, so each row is a string with its own offset.
    mixed = [PJM_DA, ERCOT_RT15]
    by_market = [client.prices(mixed, start, end, tz="market", wire=w) for w in ("arrow", "json")]
    for frame in by_market:
        local = frame.to_pandas().set_index("instrument")["interval_start_local"]
        assert local.loc[PJM_DA].iloc[0] == "2024-11-03T00:00:00-04:00"
        assert local.loc[ERCOT_RT15].iloc[0] == "2024-11-03T00:00:00-05:00"  # CDT
    pdt.assert_frame_equal(by_market[0].to_pandas(), by_market[1].to_pandas())


def test_resample(client: carbon254.Client) -> None:
    start, end = utc(2024, 11, 2, 4), utc(2024, 11, 2, 8)
    raw = client.prices(PJM_RT5, start, end).to_pandas()
    for wire in ("arrow", "json"):
        hourly = client.prices(PJM_RT5, start, end, resample="hourly", agg="max", wire=wire)
        df = hourly.to_pandas()
        assert df["count"].tolist() == [12, 12, 12, 12]
        expected = raw.groupby(raw["interval_start"].dt.floor("h"))["value"].max()
        assert df["value"].tolist() == pytest.approx(expected.tolist())


def test_as_of_reads_what_was_stored_then(client: carbon254.Client, sdk_store) -> None:
    node = "PJM.DA.LMP.1234567"
    starts = [utc(2024, 6, 1) + timedelta(hours=h) for h in range(3)]
    sdk_store.upsert_prices(price_table(node, starts, [10.0, 11.0, 12.0]), source="v1")
    between = datetime.now(UTC)
    sdk_store.upsert_prices(price_table(node, starts, [10.0, 99.0, 12.0]), source="v2")
    now = client.prices(node, "2024-06-01", "2024-06-02").to_pandas()["value"].tolist()
    then = client.prices(node, "2024-06-01", "2024-06-02", as_of=between)
    assert now == pytest.approx([10.0, 99.0, 12.0])
    assert then.to_pandas()["value"].tolist() == pytest.approx([10.0, 11.0, 12.0])
    assert then.request["as_of"].endswith("Z")


def test_pivot_and_index(client: carbon254.Client) -> None:
    frame = client.prices([PJM_DA, CAISO_DA], "2024-11-03T08:00:00Z", "2024-11-03T12:00:00Z")
    wide = frame.pivot()
    assert list(wide.columns) == [CAISO_DA, PJM_DA] and len(wide) == 4
    indexed = frame.to_pandas(index=True)
    assert indexed.index.names == ["instrument", "interval_start"]
