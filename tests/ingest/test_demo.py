"""The demo market: deterministic, calendar-exact, schema-valid and plausible to a trader."""

from __future__ import annotations

import io
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from carbon254.core import InstrumentId, Iso, market_day, validate_locations, validate_prices
from carbon254.ingest.demo import DemoMarket, generate_demo_market, load_demo

# The market clocks, written out here rather than taken from core, so the expected row
# counts come from the calendar and not from the code under test.
CLOCKS = {
    Iso.PJM: ZoneInfo("America/New_York"),
    Iso.MISO: ZoneInfo("Etc/GMT+5"),  # fixed EST
    Iso.CAISO: ZoneInfo("America/Los_Angeles"),
}
START, DAYS = date(2025, 10, 20), 30
FALL_BACK = date(2025, 11, 2)


@pytest.fixture(scope="module")
def timed_market() -> tuple[DemoMarket, float]:
    began = time.perf_counter()
    market = generate_demo_market()
    return market, time.perf_counter() - began


@pytest.fixture(scope="module")
def market(timed_market: tuple[DemoMarket, float]) -> DemoMarket:
    return timed_market[0]


@pytest.fixture(scope="module")
def frames(market: DemoMarket) -> dict[tuple[Iso, str], pd.DataFrame]:
    """(iso, market) -> prices with parsed location and local wall time."""
    out = {}
    for table in market.price_tables():
        df = table.to_pandas()
        iso_text, market_text = df["instrument"].iat[0].split(".")[:2]
        iso = Iso(iso_text)
        df["location"] = df["instrument"].str.split(".", n=3).str[3]
        df["local"] = df["interval_start"].dt.tz_convert(CLOCKS[iso])
        out[iso, market_text] = df
    return out


def _midnight_utc(iso: Iso, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CLOCKS[iso]).astimezone(ZoneInfo("UTC"))


def _hours(iso: Iso, day: date) -> int:
    span = _midnight_utc(iso, day + timedelta(days=1)) - _midnight_utc(iso, day)
    return int(span / timedelta(hours=1))


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def test_default_size_generates_in_well_under_ten_seconds(timed_market) -> None:
    market, elapsed = timed_market
    assert market.row_count > 1_300_000
    assert elapsed < 10.0, f"generation took {elapsed:.1f} s"


def test_same_seed_is_byte_identical_and_another_seed_differs() -> None:
    kwargs = {"start": date(2025, 11, 1), "days": 3, "nodes_per_iso": 20}
    a, b = generate_demo_market(seed=7, **kwargs), generate_demo_market(seed=7, **kwargs)
    c = generate_demo_market(seed=8, **kwargs)
    assert _ipc(a.locations) == _ipc(b.locations)
    assert [_ipc(t) for t in a.prices] == [_ipc(t) for t in b.prices]
    assert a.row_count == c.row_count
    # Same grid (directory), different weather and markets.
    assert a.locations.equals(c.locations)
    for ta, tc in zip(a.prices, c.prices, strict=True):
        assert ta.column("instrument").equals(tc.column("instrument"))
        assert not ta.column("value").equals(tc.column("value"))


def test_the_default_window_spans_the_fall_back_day() -> None:
    assert START <= FALL_BACK < START + timedelta(days=DAYS)
    assert [_hours(iso, FALL_BACK) for iso in CLOCKS] == [25, 24, 25]


def test_row_counts_follow_the_local_calendar_and_the_directory(market, frames) -> None:
    directory = market.locations.to_pandas()
    for iso in CLOCKS:
        window = [START + timedelta(days=d) for d in range(DAYS)]
        hours = {day: _hours(iso, day) for day in window}
        assert sum(hours.values()) == (720 if iso is Iso.MISO else 721)
        expected = 0
        for row in directory[directory["iso"] == iso.value].itertuples():
            end = row.termination_date
            expected += sum(
                h
                for day, h in hours.items()
                if row.effective_date <= day and (pd.isna(end) or day < end)
            )
        assert len(frames[iso, "DA"]) == expected
        assert len(frames[iso, "RT5"]) == 12 * expected


@pytest.mark.parametrize(
    ("iso", "da", "rt"), [(Iso.PJM, 25, 300), (Iso.MISO, 24, 288), (Iso.CAISO, 25, 300)]
)
def test_every_location_has_every_interval_of_the_fall_back_day(frames, iso, da, rt) -> None:
    for market_text, want in (("DA", da), ("RT5", rt)):
        df = frames[iso, market_text]
        start, end = _midnight_utc(iso, FALL_BACK), _midnight_utc(iso, FALL_BACK + timedelta(1))
        day = df[(df["interval_start"] >= start) & (df["interval_start"] < end)]
        counts = day.groupby("instrument").size()
        assert (counts == want).all(), counts[counts != want]
        assert day.groupby("instrument")["interval_start"].nunique().eq(want).all()


def test_spring_forward_day_has_23_hours_except_in_miso() -> None:
    day = date(2026, 3, 8)
    m = generate_demo_market(start=day, days=1, nodes_per_iso=15)
    seen = set()
    for table in m.price_tables():
        counts = table.group_by("instrument").aggregate([("interval_start", "count_distinct")])
        iid = InstrumentId.parse(counts.column("instrument")[0].as_py())
        per_hour = 12 if iid.market.value == "RT5" else 1
        assert set(counts.column(1).to_pylist()) == {per_hour * _hours(iid.iso, day)}
        seen.add((iid.iso, _hours(iid.iso, day)))
    assert seen == {(Iso.PJM, 23), (Iso.MISO, 24), (Iso.CAISO, 23)}


def test_tables_are_canonical_and_components_add_up_to_the_cent(market) -> None:
    assert validate_locations(market.locations).equals(market.locations)
    for table in market.price_tables():
        assert validate_prices(table).equals(table)
        df = table.to_pandas()
        parts = df["energy"] + df["congestion"] + df["loss"]
        assert np.abs(df["value"] - parts).max() < 0.005
        for col in ("value", "energy", "congestion", "loss"):
            cents = df[col].to_numpy() * 100
            assert np.abs(cents - np.round(cents)).max() < 1e-6


def test_every_instrument_is_located_in_the_directory(market) -> None:
    directory = {(r["iso"], r["location"]) for r in market.locations.to_pylist()}
    for table in market.price_tables():
        for text in set(table.column("instrument").to_pylist()):
            iid = InstrumentId.parse(text)
            assert (iid.iso.value, iid.location) in directory


def test_hubs_are_real_names_and_track_their_members(market, frames) -> None:
    directory = market.locations.to_pandas()
    hubs = directory[directory["location_type"] == "HUB"]
    names = set(hubs["name"]) | set(hubs["location"])
    for expected in (
        "WESTERN HUB",
        "AEP-DAYTON HUB",
        "N ILLINOIS HUB",
        "EASTERN HUB",
        "INDIANA.HUB",
        "MINN.HUB",
        "LOUISIANA.HUB",
        "TH_NP15_GEN-APND",
        "TH_SP15_GEN-APND",
        "TH_ZP26_GEN-APND",
    ):
        assert expected in names
    assert hubs.loc[hubs["name"] == "WESTERN HUB", "location"].item() == "51288"
    assert {(iso, loc) for iso, loc in zip(hubs["iso"], hubs["location"], strict=True)} <= {
        (iso.value, loc) for iso, loc in market.aggregates
    }
    for (iso, hub), members in market.aggregates.items():
        assert len(members) >= 1 and abs(sum(members.values()) - 1.0) < 1e-9
        for market_text in ("DA", "RT5"):
            df = frames[iso, market_text]
            wide = df.pivot(index="interval_start", columns="location", values="value")
            basket = sum(w * wide[loc] for loc, w in members.items())
            gap = (wide[hub] - basket).abs().max()
            assert gap <= 0.02, f"{iso} {market_text} {hub} off its members by {gap}"


def test_negative_prices_and_spikes_occur(frames) -> None:
    for iso in CLOCKS:
        rt = frames[iso, "RT5"]
        assert (rt["value"] < 0).any(), iso
        assert rt["energy"].max() > 300, iso  # a system-wide scarcity spike
        assert (rt["energy"] > 200).mean() < 0.01, iso  # ... for a few intervals only
        assert rt["value"].median() > 15
    caiso = frames[Iso.CAISO, "RT5"]
    negative_hours = caiso.loc[caiso["value"] < 0, "local"].dt.hour
    assert negative_hours.between(9, 15).mean() > 0.5  # midday solar oversupply


def test_congestion_is_mostly_zero_but_binds_in_episodes(frames) -> None:
    for key, df in frames.items():
        share = (df["congestion"] != 0).mean()
        assert 0.01 < share < 0.5, (key, share)
        # When a constraint binds it moves many nodes at once, not one.
        congested = (df["congestion"] != 0).groupby(df["interval_start"]).mean()
        assert congested[congested > 0].mean() > 0.15, key


def test_rt_tracks_da_but_is_not_a_copy(frames) -> None:
    for iso in CLOCKS:
        da = frames[iso, "DA"]
        rt = frames[iso, "RT5"]
        hub = da["location"].iat[0]
        da_hub = da[da["location"] == hub].set_index("interval_start")["value"]
        rt_hub = rt[rt["location"] == hub].set_index("interval_start")["value"]
        rt_hourly = rt_hub.groupby(rt_hub.index.floor("h")).mean()
        corr = np.corrcoef(da_hub.to_numpy(), rt_hourly.reindex(da_hub.index).to_numpy())[0, 1]
        assert 0.3 < corr < 0.99, (iso, corr)


def test_daily_and_weekly_shape(frames) -> None:
    for iso in CLOCKS:
        da = frames[iso, "DA"]
        hub = da[da["location"] == da["location"].iat[0]]
        by_hour = hub.groupby(hub["local"].dt.hour)["value"].mean()
        assert by_hour[17:20].mean() > by_hour[1:5].mean() + 5, iso
        weekend = hub["local"].dt.day_of_week >= 5
        assert hub.loc[weekend, "value"].mean() < hub.loc[~weekend, "value"].mean(), iso


def test_loss_is_a_small_factor_of_energy(frames) -> None:
    for df in frames.values():
        assert (df["loss"].abs() <= 0.07 * df["energy"].abs() + 0.01).all()
        assert (df["loss"] != 0).mean() > 0.5


def test_retired_and_new_nodes_are_priced_only_while_in_effect(market, frames) -> None:
    directory = market.locations.to_pandas()
    for iso in CLOCKS:
        rows = directory[directory["iso"] == iso.value]
        retired = rows[rows["termination_date"].notna()]
        new = rows[rows["effective_date"] > START]
        assert len(retired) >= 1 and len(new) >= 1, iso
        for df in (frames[iso, "DA"], frames[iso, "RT5"]):
            for row in retired.itertuples():
                times = df.loc[df["location"] == row.location, "interval_start"]
                assert len(times) > 0
                assert times.max() < _midnight_utc(iso, row.termination_date)
                assert times.max() >= _midnight_utc(iso, row.termination_date - timedelta(1))
            for row in new.itertuples():
                times = df.loc[df["location"] == row.location, "interval_start"]
                assert times.min() == _midnight_utc(iso, row.effective_date)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="no demo profile"):
        generate_demo_market(isos=(Iso.ERCOT,), days=1)
    with pytest.raises(ValueError, match="days"):
        generate_demo_market(days=0)
    with pytest.raises(ValueError, match="nodes_per_iso"):
        generate_demo_market(days=1, nodes_per_iso=5)


def test_load_demo_into_each_backend_is_idempotent(store) -> None:
    kwargs = {"days": 2, "nodes_per_iso": 12, "start": date(2025, 11, 2)}
    first = load_demo(store, **kwargs)
    assert first.rows_inserted == first.price_rows > 0
    assert store.status().counts["prices"] == first.price_rows
    again = load_demo(store, **kwargs)
    assert again.rows_inserted == again.rows_revised == 0
    assert {b.status for b in again.batches} == {"duplicate"}
    hub = store.read_prices(["PJM.RT5.LMP.51288"], *market_day(Iso.PJM, date(2025, 11, 2)))
    assert hub.num_rows == 300
