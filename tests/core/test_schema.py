"""Canonical price and location tables: `validate_prices` and `validate_locations`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from carbon254.core import (
    LOCATION_SCHEMA,
    PRICE_SCHEMA,
    SchemaError,
    validate_locations,
    validate_prices,
)

RT5 = "PJM.RT5.LMP.51288"
SPP = "ERCOT.DA.SPP.HB_NORTH"
T0 = datetime(2024, 1, 10, 17, tzinfo=UTC)
M5 = timedelta(minutes=5)
H = timedelta(hours=1)
NAN = float("nan")


def rows(**override: list) -> dict[str, list]:
    """Three good rows: two 5-minute LMPs with components, one hourly SPP without."""
    data: dict[str, list] = {
        "instrument": [RT5, RT5, SPP],
        "interval_start": [T0, T0 + M5, T0],
        "interval_end": [T0 + M5, T0 + 2 * M5, T0 + H],
        "value": [30.0, 31.5, 25.0],
        "energy": [28.0, 29.0, None],
        "congestion": [1.5, 2.25, None],
        "loss": [0.5, 0.25, None],
    }
    data.update(override)
    return data


def table(**override: list) -> pa.Table:
    return pa.table(rows(**override))


def rejects(tbl: pa.Table, *fragments: str) -> str:
    with pytest.raises(SchemaError) as info:
        validate_prices(tbl)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    return message


def one(instrument: str, length: timedelta) -> pa.Table:
    return pa.table(
        {
            "instrument": [instrument],
            "interval_start": [T0],
            "interval_end": [T0 + length],
            "value": [1.0],
        }
    )


# ---------------------------------------------------------------- accepted tables
def test_accepts_a_good_table() -> None:
    out = validate_prices(table())
    assert out.schema.equals(PRICE_SCHEMA)
    assert out.num_rows == 3
    assert out.column("ghg").null_count == 3  # absent optional column added as nulls
    assert out.column("value").to_pylist() == [30.0, 31.5, 25.0]
    assert out.column("interval_start").to_pylist()[1] == T0 + M5


def test_accepts_dictionary_encoded_instruments() -> None:
    tbl = table()
    tbl = tbl.set_column(0, "instrument", tbl.column("instrument").dictionary_encode())
    assert pa.types.is_dictionary(tbl.schema.field("instrument").type)
    out = validate_prices(tbl)
    kind = out.schema.field("instrument").type
    assert kind == pa.string() or kind.value_type == pa.string()
    assert out.column("instrument").to_pylist() == [RT5, RT5, SPP]
    assert out.num_rows == 3


def test_dictionary_encoded_instruments_are_still_checked() -> None:
    tbl = table(instrument=pa.array(["pjm.rt5.lmp.1", "pjm.rt5.lmp.1", SPP]).dictionary_encode())
    rejects(tbl, "not in canonical form")
    start = [T0, T0, T0]  # duplicate RT5 start, in dictionary form
    tbl = table(interval_start=start, interval_end=[T0 + M5, T0 + M5, T0 + H])
    tbl = tbl.set_column(0, "instrument", tbl.column("instrument").dictionary_encode())
    rejects(tbl, "duplicate (instrument, interval_start)", RT5, "appears 2 times")


def test_accepts_nanosecond_timestamps() -> None:
    start = pa.array([T0, T0 + M5, T0], type=pa.timestamp("ns", tz="UTC"))
    end = pa.array([T0 + M5, T0 + 2 * M5, T0 + H], type=pa.timestamp("ns", tz="UTC"))
    out = validate_prices(table(interval_start=start, interval_end=end))
    assert out.schema.field("interval_start").type == pa.timestamp("us", tz="UTC")
    assert out.column("interval_end").to_pylist()[2] == T0 + H


def test_rejects_sub_microsecond_timestamps() -> None:
    start = pd.Series(pd.DatetimeIndex([T0, T0 + M5, T0]).as_unit("ns") + pd.Timedelta(1, "ns"))
    rejects(table(interval_start=pa.array(start)), "interval_start")


def test_converts_non_utc_timestamps_to_utc() -> None:
    eastern = pd.DatetimeIndex(["2024-01-10 12:00", "2024-01-10 12:05", "2024-01-10 12:00"])
    eastern = eastern.tz_localize("America/New_York")  # 12:00 EST = 17:00Z
    tbl = table(
        interval_start=pa.array(pd.Series(eastern)),
        interval_end=pa.array(pd.Series(eastern + pd.to_timedelta([5, 5, 60], unit="min"))),
    )
    assert tbl.schema.field("interval_start").type.tz == "America/New_York"
    out = validate_prices(tbl)
    assert out.schema.field("interval_start").type.tz == "UTC"
    assert out.column("interval_start").to_pylist() == [T0, T0 + M5, T0]


def test_casts_integer_values_and_allows_missing_components() -> None:
    data = rows(value=[30, 31, 25])
    for name in ("energy", "congestion", "loss"):
        del data[name]
    out = validate_prices(pa.table(data))
    assert out.schema.field("value").type == pa.float64()
    assert out.column("value").to_pylist() == [30.0, 31.0, 25.0]
    assert out.column("energy").null_count == 3


def test_empty_table() -> None:
    out = validate_prices(PRICE_SCHEMA.empty_table())
    assert out.num_rows == 0
    assert out.schema.equals(PRICE_SCHEMA)


def test_capacity_is_exempt_from_interval_length() -> None:
    assert validate_prices(one("PJM.DA.CAPACITY.RTO", timedelta(days=365))).num_rows == 1
    rejects(one("PJM.DA.LMP.RTO", timedelta(days=365)), "does not match its market")


def test_same_start_for_different_instruments_is_not_a_duplicate() -> None:
    assert validate_prices(table()).num_rows == 3  # RT5 and SPP both start at T0


# ---------------------------------------------------------------- rejected tables
def test_missing_column() -> None:
    data = rows()
    del data["value"]
    rejects(pa.table(data), "missing required column(s): value")


def test_unknown_column() -> None:
    rejects(table(price=[1.0, 2.0, 3.0]), "unknown column(s): price")


def test_naive_timestamps() -> None:
    naive = [T0.replace(tzinfo=None), (T0 + M5).replace(tzinfo=None), T0.replace(tzinfo=None)]
    rejects(table(interval_start=naive), "interval_start", "naive")


def test_string_timestamps() -> None:
    rejects(table(interval_end=["2024-01-10T17:05Z"] * 3), "interval_end", "must be a timestamp")


def test_unconvertible_value() -> None:
    rejects(table(value=["30", "x", "25"]), "'value'", "expected double")


@pytest.mark.parametrize("column", ["instrument", "interval_start", "interval_end", "value"])
def test_null_in_required_column(column: str) -> None:
    data = rows()
    data[column] = [data[column][0], None, data[column][2]]
    rejects(pa.table(data), f"column {column!r} has 1 null value(s)")


def test_nan_value() -> None:
    rejects(table(value=[30.0, NAN, 25.0]), "value is NaN", f"row 1 ({RT5} at 2024-01-10T17:05")


@pytest.mark.parametrize("end", [T0 + M5, T0])  # equal to, and before, its start
def test_end_not_after_start(end: datetime) -> None:
    rejects(
        table(interval_end=[T0 + M5, end, T0 + H]),
        "interval_end must be after interval_start",
        "row 1",
    )


def test_rt5_with_hourly_interval() -> None:
    rejects(
        table(interval_end=[T0 + H, T0 + M5 + H, T0 + H]),
        RT5,
        "interval length 1:00:00 does not match its market (0:05:00)",
    )


def test_da_with_five_minute_interval() -> None:
    rejects(table(interval_end=[T0 + M5, T0 + 2 * M5, T0 + M5]), SPP, "interval length")


def test_rt15_and_rth_lengths() -> None:
    assert validate_prices(one("ERCOT.RT15.SPP.HB_WEST", 3 * M5)).num_rows == 1
    assert validate_prices(one("NYISO.RTH.LMP.N.Y.C.", H)).num_rows == 1
    rejects(one("ERCOT.RT15.SPP.HB_WEST", M5), "does not match its market (0:15:00)")
    rejects(one("NYISO.RTH.LMP.N.Y.C.", 3 * M5), "NYISO.RTH.LMP.N.Y.C.", "(1:00:00)")


def test_duplicate_instrument_and_start() -> None:
    rejects(
        table(interval_start=[T0, T0, T0], interval_end=[T0 + M5, T0 + M5, T0 + H]),
        "duplicate (instrument, interval_start)",
        RT5,
        "appears 2 times",
    )


# ---------------------------------------------------------------- components
@pytest.mark.parametrize(
    ("loss", "ok"),
    [(0.5, True), (0.509, True), (0.491, True), (0.511, False), (0.489, False), (0.6, False)],
)
def test_components_sum_within_a_cent(loss: float, ok: bool) -> None:
    tbl = table(loss=[loss, 0.25, None])  # value 30.0 = 28.0 + 1.5 + 0.5
    if ok:
        assert validate_prices(tbl).num_rows == 3
    else:
        rejects(tbl, "energy + congestion + loss (+ ghg) within $0.01", "row 0", "value 30.0")


def test_ghg_is_part_of_the_sum() -> None:
    caiso = "CAISO.DA.LMP.TH_NP15_GEN-APND"
    base = {
        "instrument": [caiso],
        "interval_start": [T0],
        "interval_end": [T0 + H],
        "value": [40.0],
        "energy": [35.0],
        "congestion": [2.0],
        "loss": [1.0],
    }
    assert validate_prices(pa.table({**base, "ghg": [2.0]})).num_rows == 1
    rejects(pa.table(base), "components sum to 38")  # ghg missing: off by $2
    rejects(pa.table({**base, "ghg": [2.011]}), "within $0.01")


def test_partial_components() -> None:
    rejects(table(loss=[None, 0.25, None]), "given together", "row 0")
    rejects(table(energy=[28.0, 29.0, 25.0]), "given together", "row 2")


def test_nan_component() -> None:
    rejects(table(congestion=[1.5, NAN, None]), "within $0.01", "row 1")


def test_bad_instrument_id() -> None:
    message = rejects(table(instrument=[RT5, RT5, "ERCOT.RT1.SPP.HB_NORTH"]), "market", "RT1")
    assert "ERCOT.RT1.SPP.HB_NORTH" in message


def test_non_canonical_instrument_id() -> None:
    tbl = table(instrument=["pjm.rt5.lmp.1", "pjm.rt5.lmp.1", SPP])
    rejects(tbl, "'pjm.rt5.lmp.1' is not in canonical form", "'PJM.RT5.LMP.1'")
    rejects(table(instrument=[" " + RT5, " " + RT5, SPP]), "canonical form")


# ---------------------------------------------------------------- locations
def locations(**override: list) -> pa.Table:
    data: dict[str, list] = {
        "iso": ["PJM", "PJM", "MISO", "ERCOT"],
        "location": ["51288", "51288", "AMIL.BGS6", "HB_NORTH"],
        "name": ["WESTERN HUB", "WESTERN HUB", None, "North Hub"],
        "location_type": ["HUB", "HUB", "GENERATOR", "HUB"],
        "effective_date": [date(2020, 1, 1), date(2023, 6, 1), date(2019, 1, 1), date(2010, 12, 1)],
        "termination_date": [date(2023, 6, 1), None, None, None],
    }
    data.update(override)
    return pa.table(data)


def test_locations_good_table() -> None:
    out = validate_locations(locations())
    assert out.schema.equals(LOCATION_SCHEMA)
    assert out.num_rows == 4
    assert out.column("zone").null_count == 4


def test_locations_unknown_iso() -> None:
    with pytest.raises(SchemaError, match="unknown iso 'ISONE'"):
        validate_locations(locations(iso=["PJM", "PJM", "ISONE", "ERCOT"]))
    with pytest.raises(SchemaError, match="unknown iso 'pjm'"):
        validate_locations(locations(iso=["pjm", "PJM", "MISO", "ERCOT"]))


def test_locations_unknown_type() -> None:
    with pytest.raises(SchemaError, match="unknown location_type 'TRADING_HUB'"):
        validate_locations(locations(location_type=["HUB", "HUB", "GENERATOR", "TRADING_HUB"]))


@pytest.mark.parametrize("end", [date(2010, 12, 1), date(2010, 11, 30)])
def test_locations_termination_not_after_effective(end: date) -> None:
    with pytest.raises(SchemaError, match=r"ERCOT\.HB_NORTH: termination_date") as info:
        validate_locations(locations(termination_date=[date(2023, 6, 1), None, None, end]))
    assert "is not after effective_date 2010-12-01" in str(info.value)


def test_locations_duplicate_key() -> None:
    dup = [date(2020, 1, 1), date(2020, 1, 1), date(2019, 1, 1), date(2010, 12, 1)]
    with pytest.raises(SchemaError, match=r"duplicate \(iso, location, effective_date\)"):
        validate_locations(locations(effective_date=dup, termination_date=[None] * 4))


def test_locations_missing_and_null_required() -> None:
    with pytest.raises(SchemaError, match="missing required column"):
        validate_locations(locations().drop_columns(["effective_date"]))
    with pytest.raises(SchemaError, match="'location' has 1 null"):
        validate_locations(locations(location=["51288", "51288", None, "HB_NORTH"]))


def test_infinite_value_is_rejected():
    rejects(table(value=[30.0, float("inf"), 25.0]), "value is infinite")


def test_components_on_a_product_without_them_are_rejected():
    reg = "PJM.RT5.REG.PJM_RTO"
    rejects(
        table(instrument=[reg, reg, SPP]),
        "REG prices have no energy/congestion/loss components",
    )


def test_ghg_without_the_other_components_is_rejected():
    rejects(
        table(energy=[None] * 3, congestion=[None] * 3, loss=[None] * 3, ghg=[0.1, None, None]),
        "ghg is a component of the LMP",
    )
