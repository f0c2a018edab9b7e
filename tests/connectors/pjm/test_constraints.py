"""PJM binding constraints (rt/da_marginal_value, da_transconstraints) on the recorded
Data Miner responses in shared/data/iso/pjm (read in place), and against gridstatus."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import fmean
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import RawResponse
from carbon254.connectors.pjm.constraints import (
    DaMarginalValue,
    DaTransconstraints,
    RtMarginalValue,
    facility_summary,
)
from carbon254.connectors.registry import get_dataset
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso
from carbon254.core.records import CONSTRAINT_KEY, CONSTRAINT_SCHEMA

from ...conftest import missing

EPT = ZoneInfo("America/New_York")
RT, DA, EVENTS = RtMarginalValue(), DaMarginalValue(), DaTransconstraints()
RT_DST = "api_rt_marginal_value_2023-11-05_2023-11-07_dst_end.json"
RT_SEP = "api_rt_marginal_value_2024-09-02_2024-09-04.json"
DA_DST = "api_da_marginal_value_2023-11-05_2023-11-07_dst_end.json"
EV_DST = "api_da_transconstraints_2023-11-05_2023-11-07_dst_end.json"


@pytest.fixture(scope="module")
def pjm_dir(shared_data: Path) -> Path:
    folder = shared_data / "iso" / "pjm"
    if not (folder / RT_DST).exists():
        missing(
            str(folder / RT_DST), "the recorded PJM files are absent", "CARBON254_REQUIRE_SHARED"
        )
    return folder


def raw(dataset: str, body: bytes, content_type: str = "application/json") -> RawResponse:
    return RawResponse(
        dataset, "https://api.pjm.com/api/v1/x", datetime.now(UTC), body, content_type
    )


def parse(ds, folder: Path, name: str) -> pa.Table:
    return ds.parse([raw(ds.name, (folder / name).read_bytes())])


def recorded(folder: Path, name: str) -> list[dict]:
    return json.loads((folder / name).read_text())["items"]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local_days(table: pa.Table) -> Counter:
    return Counter(t.astimezone(EPT).date() for t in table.column("interval_start").to_pylist())


@pytest.mark.parametrize(
    ("ds", "name", "rows", "days"),
    [
        (RT, RT_DST, 875, {date(2023, 11, 5): 382, date(2023, 11, 6): 493}),
        (RT, RT_SEP, 578, {date(2024, 9, 2): 305, date(2024, 9, 3): 273}),
        (DA, DA_DST, 387, {date(2023, 11, 5): 153, date(2023, 11, 6): 228, date(2023, 11, 7): 6}),
        (EVENTS, EV_DST, 82, {date(2023, 11, 5): 28, date(2023, 11, 6): 48, date(2023, 11, 7): 6}),
    ],
    ids=["rt-dst-end", "rt-september", "da-dst-end", "events-dst-end"],
)
def test_every_item_parsed(pjm_dir: Path, ds, name: str, rows: int, days: dict) -> None:
    table = parse(ds, pjm_dir, name)
    assert table.num_rows == rows == len(recorded(pjm_dir, name))
    assert table.schema.names == CONSTRAINT_SCHEMA.names
    assert local_days(table) == days
    assert set(table.column("dataset").to_pylist()) == {ds.name}
    assert set(table.column("market").to_pylist()) == {ds.market.value}
    keys = table.select(list(CONSTRAINT_KEY)).to_pylist()
    assert len({tuple(k.values()) for k in keys}) == rows  # no duplicate key


@pytest.mark.parametrize(("ds", "name"), [(RT, RT_DST), (RT, RT_SEP), (DA, DA_DST)])
def test_shadow_prices_and_intervals_exact(pjm_dir: Path, ds, name: str) -> None:
    table = parse(ds, pjm_dir, name)
    got = Counter(
        (r["interval_start"], r["interval_end"], r["monitored_facility"],
         r["contingency_facility"], r["shadow_price"], r["penalty_factor"], r["limit_control_pct"])
        for r in table.to_pylist()
    )  # fmt: skip
    want = Counter(
        (utc(i["datetime_beginning_utc"]), utc(i["datetime_ending_utc"]), i["monitored_facility"],
         i["contingency_facility"], i["shadow_price"],
         i.get("transmission_constraint_penalty_factor"), i.get("limit_control_percentage"))
        for i in recorded(pjm_dir, name)
    )  # fmt: skip
    assert got == want
    length = {RT: timedelta(minutes=5), DA: timedelta(hours=1)}[ds]
    assert {r["interval_end"] - r["interval_start"] for r in table.to_pylist()} == {length}


def test_da_fall_back_day_has_25_distinct_hours(pjm_dir: Path) -> None:
    table = parse(DA, pjm_dir, DA_DST)
    start, end = market_day(Iso.PJM, date(2023, 11, 5))
    assert end - start == timedelta(hours=25)
    hours = {t for t in table.column("interval_start").to_pylist() if start <= t < end}
    assert len(hours) == 25  # every hour of the 25-hour day bound somewhere
    one_am = sorted(t for t in hours if t.astimezone(EPT).hour == 1)
    assert one_am == [datetime(2023, 11, 5, 5, tzinfo=UTC), datetime(2023, 11, 5, 6, tzinfo=UTC)]
    # EDT and EST passes of 01:00 are different rows, 2 and 3 of them.
    firsts = Counter(t for t in table.column("interval_start").to_pylist() if t in one_am)
    assert [firsts[t] for t in one_am] == [2, 3]
    # 24 hours on the next (ordinary) day.
    start, end = market_day(Iso.PJM, date(2023, 11, 6))
    assert len({t for t in table.column("interval_start").to_pylist() if start <= t < end}) == 24


def test_rt_fall_back_day_intervals_from_utc(pjm_dir: Path) -> None:
    table = parse(RT, pjm_dir, RT_DST)
    start, end = market_day(Iso.PJM, date(2023, 11, 5))
    starts = {t for t in table.column("interval_start").to_pylist() if start <= t < end}
    assert len(starts) == 203  # of the 300 five-minute intervals of the 25-hour day
    assert all((t - start) % timedelta(minutes=5) == timedelta(0) for t in starts)


def test_transconstraint_events(pjm_dir: Path) -> None:
    table = parse(EVENTS, pjm_dir, EV_DST)
    assert table.column("shadow_price").null_count == 82
    assert table.column("penalty_factor").null_count == 82
    items = recorded(pjm_dir, EV_DST)
    got = Counter(
        (r["interval_start"], r["interval_end"], r["monitored_facility"], r["contingency_facility"])
        for r in table.to_pylist()
    )
    want = Counter(
        (utc(i["datetime_beginning_utc"]), utc(i["datetime_ending_utc"]), i["monitored_facility"],
         i["contingency_facility"])
        for i in items
    )  # fmt: skip
    assert got == want
    hours = sorted(
        (r["interval_end"] - r["interval_start"]) // timedelta(hours=1) for r in table.to_pylist()
    )
    assert hours == sorted(i["duration"] for i in items)
    # Events that started at local midnight on the fall-back day and ran past both
    # passes of 01:00 keep their UTC length (the duration counts the extra hour).
    across = [
        r
        for r in table.to_pylist()
        if r["interval_start"] <= datetime(2023, 11, 5, 5, tzinfo=UTC)
        and r["interval_end"] >= datetime(2023, 11, 5, 7, tzinfo=UTC)
    ]
    assert len(across) == 2


def test_facility_summary_for_one_facility(pjm_dir: Path) -> None:
    table = parse(RT, pjm_dir, RT_DST)
    summary = facility_summary(table)
    assert summary.num_rows == 10
    facility = "Turkey Hill - Hilgard 138 kV l/o Prairie State - Mt Vernon 345 kV"
    row = [r for r in summary.to_pylist() if r["monitored_facility"] == facility]
    assert len(row) == 1
    row = row[0]
    # Computed independently from the recorded JSON.
    mine = [i for i in recorded(pjm_dir, RT_DST) if i["monitored_facility"] == facility]
    prices = [i["shadow_price"] for i in mine]
    starts = {i["datetime_beginning_utc"] for i in mine}
    assert row["rows"] == len(mine) == 166
    assert row["intervals"] == len(starts)
    assert row["hours"] == pytest.approx(len(starts) * 5 / 60)
    assert row["mean_shadow_price"] == pytest.approx(fmean(prices), abs=1e-9)
    assert row["min_shadow_price"] == min(prices)
    assert row["max_shadow_price"] == max(prices)
    assert row["first_start"] == utc(min(starts))
    assert row["last_end"] == utc(max(i["datetime_ending_utc"] for i in mine))
    # Ordered by how often a facility binds.
    counts = summary.column("intervals").to_pylist()
    assert counts == sorted(counts, reverse=True)
    assert summary.column("intervals")[0].as_py() == 192


def test_facility_summary_counts_distinct_intervals_once() -> None:
    t0 = datetime(2024, 1, 1, 5, tzinfo=UTC)
    rows = [
        ("A", "c1", t0, -10.0),
        ("A", "c2", t0, -30.0),  # same interval, other contingency
        ("A", "c1", t0 + timedelta(minutes=5), -20.0),
    ]
    table = pa.table(
        {
            "dataset": ["pjm.rt_marginal_value"] * 3,
            "iso": ["PJM"] * 3,
            "market": ["RT5"] * 3,
            "monitored_facility": [r[0] for r in rows],
            "contingency_facility": [r[1] for r in rows],
            "interval_start": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
            "interval_end": pa.array(
                [r[2] + timedelta(minutes=5) for r in rows], pa.timestamp("us", tz="UTC")
            ),
            "shadow_price": [r[3] for r in rows],
        }
    )
    [row] = facility_summary(table).to_pylist()
    assert (row["rows"], row["intervals"], row["hours"]) == (3, 2, pytest.approx(10 / 60))
    assert row["mean_shadow_price"] == pytest.approx(-20.0)


# ------------------------------------------------------------------------- gridstatus


NOV = (date(2023, 11, 5), date(2023, 11, 7))


@pytest.mark.parametrize(
    ("ds", "name", "method", "days"),
    [
        (RT, RT_DST, "get_marginal_value_real_time_5_min", NOV),
        (RT, RT_SEP, "get_marginal_value_real_time_5_min", (date(2024, 9, 2), date(2024, 9, 4))),
        (DA, DA_DST, "get_marginal_value_day_ahead_hourly", NOV),
        (EVENTS, EV_DST, "get_transmission_constraints_day_ahead_hourly", NOV),
    ],
)
def test_agrees_with_gridstatus(
    pjm_dir: Path, monkeypatch, ds, name: str, method: str, days: tuple[date, date]
) -> None:
    gridstatus = pytest.importorskip("gridstatus")
    body = json.loads((pjm_dir / name).read_text())
    asked: list[str] = []

    def page(self, endpoint: str, params: dict) -> dict:  # gridstatus's HTTP layer
        asked.append(endpoint)
        return body

    monkeypatch.setattr(gridstatus.PJM, "_data_miner_page", page)
    first, last = days
    theirs = getattr(gridstatus.PJM(api_key="offline"), method)(date=str(first), end=str(last))
    assert asked == [ds.feed]

    ours = parse(ds, pjm_dir, name)
    # gridstatus drops rows starting exactly at the (inclusive) end it asked for.
    cut = market_day(Iso.PJM, last)[0]
    mine = [r for r in ours.to_pylist() if r["interval_start"] < cut]
    assert len(theirs) == len(mine)
    with_price = "Shadow Price" in theirs.columns
    want = Counter(
        (
            r["interval_start"],
            r["interval_end"],
            r["monitored_facility"],
            r["contingency_facility"],
            round(r["shadow_price"] * 100) if with_price else None,
        )
        for r in mine
    )
    got = Counter(
        (
            s.to_pydatetime().astimezone(UTC),
            e.to_pydatetime().astimezone(UTC),
            m,
            c,
            round(p * 100) if with_price else None,
        )
        for s, e, m, c, p in zip(
            theirs["Interval Start"],
            theirs["Interval End"],
            theirs["Monitored Facility"],
            theirs["Contingency Facility"],
            theirs["Shadow Price"] if with_price else [None] * len(theirs),
            strict=True,
        )
    )
    assert got == want
    if ds is RT:
        pf = Counter(theirs["Transmission Constraint Penalty Factor"])
        assert pf == Counter(r["penalty_factor"] for r in mine)


# ------------------------------------------------------------------------- bad payloads


def _body(folder: Path, name: str, change) -> bytes:
    body = json.loads((folder / name).read_text())
    change(body)
    return json.dumps(body).encode()


def _set(index: int, key: str, value):
    return lambda b: b["items"][index].__setitem__(key, value)


@pytest.mark.parametrize(
    ("ds", "name", "change", "message"),
    [
        (RT, RT_DST, lambda b: b["items"][0].pop("shadow_price"), "missing column"),
        (RT, RT_DST, lambda b: b["items"][9].pop("shadow_price"), "without a value"),
        (RT, RT_DST, _set(0, "binding", True), "unknown column"),
        (RT, RT_DST, _set(4, "datetime_ending_utc", "2023-11-06T04:55:00"), "is not one RT5"),
        (RT, RT_DST, _set(4, "datetime_beginning_utc", "11/06/2023 4:40"), "timestamp"),
        (RT, RT_DST, lambda b: b["items"].append(b["items"][0]), "duplicate"),
        (DA, DA_DST, _set(2, "datetime_ending_utc", "2023-11-05T06:00:00"), "is not one DA"),
        (DA, DA_DST, _set(2, "shadow_price", float("nan")), "shadow_price"),
        (EVENTS, EV_DST, _set(0, "duration", 12), "duration"),
        (EVENTS, EV_DST, lambda b: b["items"][0].pop("duration"), "missing column"),
    ],
)
def test_bad_items_raise_payload_error(pjm_dir: Path, ds, name, change, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as info:
        ds.parse([raw(ds.name, _body(pjm_dir, name, change))])
    assert info.value.dataset == ds.name


@pytest.mark.parametrize("ds", [RT, DA, EVENTS], ids=lambda d: d.name)
@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<html><head><title>Service Unavailable</title></head></html>", "text/html"),
        (b"   ", "application/json"),
        (b'{"links": [], "items": [{"datetime_beginning_utc": ', "application/json"),
    ],
    ids=["html", "empty", "truncated"],
)
def test_bad_bodies_raise_payload_error(ds, body: bytes, kind: str) -> None:
    with pytest.raises(PayloadError) as info:
        ds.parse([raw(ds.name, body, kind)])
    assert info.value.dataset == ds.name


def test_registered() -> None:
    for ds in (RT, DA, EVENTS):
        assert get_dataset(ds.name).target.value == "constraints"
        assert ds.raw_columns[:2] == ("datetime_beginning_utc", "datetime_ending_utc")
