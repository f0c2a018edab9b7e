"""NP6-788-CD SCED LMP: 5-minute floor, last run per interval, DST days, bad payloads."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import UTC, datetime

import pandas as pd
import pytest

from carbon254.connectors import registry
from carbon254.connectors.ercot.sced_lmp import Np6788ScedLmp
from carbon254.connectors.ercot.settlement_points import NODAL_MARKET_START
from carbon254.connectors.errors import PayloadError
from carbon254.core.directory import validate_locations
from carbon254.core.schema import validate_prices

from ._prices import FALL, NORMAL, SPRING, doc_of, members, raw_of, raws, zip_csv

NAME = "ercot.np6-788-cd"
DATASET = registry._DATASETS[NAME]  # registered on import of the module
HEADER = '"SCEDTimestamp","RepeatedHourFlag","SettlementPoint","LMP"\r\n'


def frame(table) -> pd.DataFrame:
    df = table.to_pandas()
    df["instrument"] = df["instrument"].astype(str)
    return df


def run_doc(stamp: str, rows: str, *, flag: str = "", n: int = 1, posted: str = ""):
    at = datetime.strptime(stamp, "%Y%m%d_%H%M%S")
    posted = posted or at.strftime("%Y%m%d.%H%M%S")
    name = f"cdr.00012300.0000000000000000.{posted}.LMPSROSNODENP6788_{stamp}{flag}_csv.zip"
    content = zip_csv(name.removesuffix("_csv.zip") + ".csv", HEADER + rows)
    return raw_of(NAME, "NP6-788-CD", doc_of(name, n), content)


@pytest.mark.parametrize(("day", "count"), [(SPRING, 276), (FALL, 300), (NORMAL, 288)])
def test_dst_days_have_exact_interval_counts(day, count):
    table = DATASET.parse(raws(NAME, "np6788", day))
    validate_prices(table)
    df = frame(table)
    per_point = df.groupby("instrument").size()
    assert sorted(per_point.index) == [
        f"ERCOT.RT5.LMP.{p}" for p in ("AMISTAD_ALL", "HB_HOUSTON", "HB_NORTH", "LZ_NORTH")
    ]
    assert (per_point == count).all()
    assert df[["energy", "congestion", "loss", "ghg"]].isna().all().all()
    assert (df.interval_start.dt.minute % 5 == 0).all()
    assert (df.interval_start.dt.second == 0).all()
    assert df.interval_start.dt.tz_convert("America/Chicago").dt.date.eq(day).all()


def _runs(day) -> pd.DataFrame:
    frames = []
    for _, content in members("np6788", day):
        with zipfile.ZipFile(io.BytesIO(content)) as inner:
            frames.append(pd.read_csv(inner.open(inner.namelist()[0])))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("day", [FALL, NORMAL])
def test_last_sced_run_of_each_interval_wins(day):
    df = frame(DATASET.parse(raws(NAME, "np6788", day)))
    runs = _runs(day)
    runs["at"] = pd.to_datetime(runs.SCEDTimestamp, format="%m/%d/%Y %H:%M:%S")
    runs["at"] = runs["at"].dt.tz_localize(
        "America/Chicago", ambiguous=(runs.RepeatedHourFlag == "N").to_numpy()
    )
    runs["start"] = runs["at"].dt.tz_convert("UTC").dt.floor("5min")
    expected = runs.sort_values("at").groupby(["SettlementPoint", "start"]).LMP.last().reset_index()
    doubled = runs.groupby(["SettlementPoint", "start"]).size()
    assert (doubled == 2).sum() > 0  # the fixture has intervals with two runs
    got = df.assign(point=df.instrument.str.removeprefix("ERCOT.RT5.LMP."))
    merged = expected.merge(
        got, left_on=["SettlementPoint", "start"], right_on=["point", "interval_start"]
    )
    assert len(merged) == len(expected) == len(df)
    assert (merged.value == merged.LMP).all()


def test_irregular_runs_floor_to_their_interval():
    rows_a = '"07/15/2024 10:04:59","N","HB_NORTH","20.00"\r\n'
    rows_b = '"07/15/2024 10:05:00","N","HB_NORTH","21.00"\r\n'
    rows_c = '"07/15/2024 10:07:41","N","HB_NORTH","22.00"\r\n'
    table = DATASET.parse(
        [
            run_doc("20240715_100459", rows_a, n=1),
            run_doc("20240715_100500", rows_b, n=2),
            run_doc("20240715_100741", rows_c, n=3),
        ]
    )
    starts = table.column("interval_start").to_pylist()
    got = dict(zip(starts, table.column("value").to_pylist(), strict=True))
    assert got == {
        datetime(2024, 7, 15, 15, 0, tzinfo=UTC): 20.0,
        datetime(2024, 7, 15, 15, 5, tzinfo=UTC): 22.0,
    }


def test_document_order_does_not_matter():
    docs = raws(NAME, "np6788", FALL)
    shuffled = docs[:]
    random.Random(7).shuffle(shuffled)
    assert DATASET.parse(shuffled).equals(DATASET.parse(docs))


def test_republished_run_wins_over_its_original():
    rows = '"07/15/2024 10:00:18","N","HB_NORTH","{}"\r\n'
    original = run_doc("20240715_100018", rows.format("30.00"), n=1, posted="20240715.100020")
    again = run_doc("20240715_100018", rows.format("31.00"), n=2, posted="20240715.100251")
    assert DATASET.parse([again, original]).column("value").to_pylist() == [31.0]


def test_fall_back_runs_use_the_repeated_hour_flag():
    first = run_doc("20241103_010518", '"11/03/2024 01:05:18","N","HB_NORTH","1"\r\n', n=1)
    second = run_doc(
        "20241103_010518", '"11/03/2024 01:05:18","Y","HB_NORTH","2"\r\n', flag="_xhr", n=2
    )
    table = DATASET.parse([first, second])
    assert table.column("interval_start").to_pylist() == [
        datetime(2024, 11, 3, 6, 5, tzinfo=UTC),
        datetime(2024, 11, 3, 7, 5, tzinfo=UTC),
    ]
    assert table.column("value").to_pylist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ('"03/10/2024 02:05:13","N","HB_NORTH","1"', "not valid in America/Chicago"),
        ('"07/15/2024 10:05:13","Y","HB_NORTH","1"', "not a repeated hour"),
        ('"07/15/2024 25:05:13","N","HB_NORTH","1"', "SCED timestamp"),
        ('"","N","HB_NORTH","1"', "SCED timestamp"),
        ('"07/15/2024 10:05:13","N","HB_NORTH",""', "price|bad values"),
    ],
)
def test_bad_rows_raise(row, match):
    with pytest.raises(PayloadError, match=match) as info:
        DATASET.parse([run_doc("20240715_100513", row + "\r\n")])
    assert info.value.dataset == NAME


def test_locations():
    table = validate_locations(DATASET.locations(raws(NAME, "np6788", NORMAL)))
    kinds = {r["location"]: r["location_type"] for r in table.to_pylist()}
    assert kinds == {
        "AMISTAD_ALL": "RESOURCE_NODE",
        "HB_HOUSTON": "HUB",
        "HB_NORTH": "HUB",
        "LZ_NORTH": "LOAD_ZONE",
    }
    assert set(table.column("effective_date").to_pylist()) == {NODAL_MARKET_START}


def test_registered_under_its_name():
    assert isinstance(DATASET, Np6788ScedLmp)
    assert DATASET.name == NAME
