"""NP4-190-CD day-ahead hourly SPP: DST days, the "24:00" label, posting-day selection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from carbon254.connectors import registry
from carbon254.connectors.dataset import Window
from carbon254.connectors.ercot.settlement_points import NODAL_MARKET_START
from carbon254.connectors.ercot.spp_da import SPEC, Np4190DaSpp
from carbon254.connectors.ercot.transport import select_documents
from carbon254.connectors.errors import PayloadError
from carbon254.core.directory import validate_locations
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso
from carbon254.core.schema import validate_prices

from ._prices import FALL, NORMAL, SPRING, doc_of, raw_of, raws, zip_csv

NAME = "ercot.np4-190-cd"
DATASET = registry._DATASETS[NAME]  # registered on import of the module
HEADER = '"DeliveryDate","HourEnding","SettlementPoint","SettlementPointPrice","DSTFlag"\r\n'


def frame(table) -> pd.DataFrame:
    df = table.to_pandas()
    df["instrument"] = df["instrument"].astype(str)
    return df


def day_doc(rows: str, *, posted: str = "20240309.123003", n: int = 1):
    name = f"cdr.00012331.0000000000000000.{posted}.DAMSPNP4190_csv.zip"
    content = zip_csv(name.removesuffix("_csv.zip") + ".csv", HEADER + rows)
    return raw_of(NAME, "NP4-190-CD", doc_of(name, n), content)


@pytest.mark.parametrize(("day", "hours"), [(SPRING, 23), (FALL, 25), (NORMAL, 24)])
def test_dst_days_have_exact_hour_counts(day, hours):
    table = DATASET.parse(raws(NAME, "np4190", day))
    validate_prices(table)
    df = frame(table)
    per_point = df.groupby("instrument").size()
    assert sorted(per_point.index) == [
        f"ERCOT.DA.SPP.{p}" for p in ("AMISTAD_ALL", "HB_HOUSTON", "HB_NORTH", "LZ_NORTH")
    ]
    assert (per_point == hours).all()
    start, end = market_day(Iso.ERCOT, day)
    north = df[df.instrument == "ERCOT.DA.SPP.HB_NORTH"].sort_values("interval_start")
    assert north.interval_start.iloc[0] == start
    assert north.interval_end.iloc[-1] == end  # "24:00" ends at local midnight
    assert north.interval_start.diff().dropna().eq(pd.Timedelta(hours=1)).all()


def test_hour_ending_24_is_the_last_hour_of_the_delivery_date():
    raw = day_doc('"07/15/2024","24:00","HB_NORTH","41.07","N"\r\n', posted="20240714.123003")
    row = DATASET.parse([raw]).to_pylist()[0]
    assert row["interval_start"] == datetime(2024, 7, 16, 4, tzinfo=UTC)  # 23:00 CDT
    assert row["interval_end"] == datetime(2024, 7, 16, 5, tzinfo=UTC)  # 24:00 CDT
    assert row["value"] == 41.07


def test_fall_back_repeated_hour():
    df = frame(DATASET.parse(raws(NAME, "np4190", FALL)))
    north = df[df.instrument == "ERCOT.DA.SPP.HB_NORTH"].sort_values("interval_start")
    local = north.interval_start.dt.tz_convert("America/Chicago").dt.strftime("%H%z").tolist()
    assert local[:4] == ["00-0500", "01-0500", "01-0600", "02-0600"]


def test_spring_forward_with_both_02_and_03_raises():
    rows = "".join(
        f'"03/10/2024","{h:02d}:00","HB_NORTH","{20 + h}.5","N"\r\n' for h in range(1, 25)
    )
    with pytest.raises(PayloadError, match="in one document"):
        DATASET.parse([day_doc(rows)])


def test_spring_forward_labelled_01_03_04_is_the_same_day():
    # The 2015/2016 labelling (hour 01:00 CST-03:00 CDT called "03:00") gives the same
    # 23 hours as today's 01, 02, 04 labelling (timing.hour_ending_starts).
    old = "".join(
        f'"03/10/2024","{h:02d}:00","HB_NORTH","{h}.5","N"\r\n' for h in range(1, 25) if h != 2
    )
    new = "".join(
        f'"03/10/2024","{h:02d}:00","HB_NORTH","{h}.5","N"\r\n' for h in range(1, 25) if h != 3
    )
    a, b = DATASET.parse([day_doc(old)]), DATASET.parse([day_doc(new)])
    assert a.num_rows == b.num_rows == 23
    assert a.column("interval_start").equals(b.column("interval_start"))


def test_a_later_posting_of_the_same_day_wins():
    first = day_doc('"03/10/2024","01:00","HB_NORTH","10","N"\r\n', n=1)
    again = day_doc('"03/10/2024","01:00","HB_NORTH","11","N"\r\n', posted="20240309.150001", n=2)
    assert DATASET.parse([again, first]).column("value").to_pylist() == [11.0]


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ('"07/15/2024","24:30","HB_NORTH","1","N"', "minutes"),
        ('"07/15/2024","25:00","HB_NORTH","1","N"', "hour ending 25|out of range"),
        ('"07/15/2024","00:00","HB_NORTH","1","N"', "out of range"),
        ('"07/15/2024","noon","HB_NORTH","1","N"', "hour ending"),
        ('"07/15/2024","02:00","HB_NORTH","1","Y"', "not a repeated hour"),
        ('"11/03/2024","02:00","HB_NORTH","1","Q"', "DSTFlag"),
    ],
)
def test_bad_rows_raise(row, match):
    with pytest.raises(PayloadError, match=match):
        DATASET.parse([day_doc(row + "\r\n", posted="20240714.123003")])


def test_posting_day_selects_the_delivery_day():
    docs = [doc_of(name, n) for n, name in enumerate(_names())]
    start, end = market_day(Iso.ERCOT, NORMAL)
    chosen = select_documents(docs, SPEC, Window(start, end))
    assert [d.constructed_name for d in chosen] == [
        "cdr.00012331.0000000000000000.20240714.123003.DAMSPNP4190_csv.zip"
    ]
    two_days = Window(start, market_day(Iso.ERCOT, NORMAL + timedelta(days=1))[1])
    assert len(select_documents(docs, SPEC, two_days)) == 2


def _names() -> list[str]:
    return [
        f"cdr.00012331.0000000000000000.{day}.123003.DAMSPNP4190_{kind}.zip"
        for day in ("20240713", "20240714", "20240715", "20240716")
        for kind in ("csv", "xml")
    ]


def test_locations_typed_by_name():
    table = validate_locations(DATASET.locations(raws(NAME, "np4190", SPRING, FALL)))
    kinds = {r["location"]: r["location_type"] for r in table.to_pylist()}
    assert kinds == {
        "AMISTAD_ALL": "RESOURCE_NODE",
        "HB_HOUSTON": "HUB",
        "HB_NORTH": "HUB",
        "LZ_NORTH": "LOAD_ZONE",
    }
    assert set(table.column("effective_date").to_pylist()) == {NODAL_MARKET_START}


def test_registered_under_its_name():
    assert isinstance(DATASET, Np4190DaSpp)
    assert DATASET.name == NAME
