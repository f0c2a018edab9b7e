"""PJM ancillary-service prices: regulation (reg_prices) and reserve market results.

Fixtures are our own Data Miner pages (tests/fixtures/pjm/as_*.json, written by
as_make_fixtures.py) in the exact envelope of the recorded responses.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pyarrow as pa
import pytest

from carbon254.connectors.dataset import Window
from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse
from carbon254.connectors.pjm.ancillary import (
    DaReserveMarketResults,
    RegPrices,
    ReserveMarketResults,
)
from carbon254.connectors.pjm.dataminer import fetch_pages
from carbon254.connectors.registry import get_dataset
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso
from carbon254.core.schema import PRICE_SCHEMA, validate_prices

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pjm"
EPT = ZoneInfo("America/New_York")
REG, RT, DA = RegPrices(), ReserveMarketResults(), DaReserveMarketResults()


def raw(dataset: str, body: bytes | str, content_type: str = "application/json") -> RawResponse:
    if isinstance(body, str):
        body = (FIXTURES / body).read_bytes()
    return RawResponse(
        dataset, "https://api.pjm.com/api/v1/x", datetime.now(UTC), body, content_type
    )


def items(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text())["items"]


def per_local_day(table: pa.Table) -> Counter:
    """(instrument, local date) → rows."""
    rows = table.select(["instrument", "interval_start"]).to_pylist()
    return Counter((r["instrument"], r["interval_start"].astimezone(EPT).date()) for r in rows)


def lengths(table: pa.Table) -> set[timedelta]:
    rows = table.select(["interval_start", "interval_end"]).to_pylist()
    return {r["interval_end"] - r["interval_start"] for r in rows}


def expected_values(names: list[str], price: str) -> dict[datetime, float]:
    out = {}
    for name in names:
        for item in items(name):
            t = datetime.fromisoformat(item["datetime_beginning_utc"]).replace(tzinfo=UTC)
            out[t] = item[price]
    return out


REG_DAYS = [
    (["as_reg_prices_2024-03-10_dst_start.json"], date(2024, 3, 10), 276),
    (["as_reg_prices_2024-07-15_normal.json"], date(2024, 7, 15), 288),
    (
        ["as_reg_prices_2024-11-03_dst_end_p1.json", "as_reg_prices_2024-11-03_dst_end_p2.json"],
        date(2024, 11, 3),
        300,
    ),
]


@pytest.mark.parametrize(("names", "day", "count"), REG_DAYS)
def test_reg_prices_dst_row_counts(names: list[str], day: date, count: int) -> None:
    table = REG.parse([raw(REG.name, n) for n in names])
    assert validate_prices(table).schema.names == PRICE_SCHEMA.names
    assert per_local_day(table) == {("PJM.RT5.REG.PJM_RTO", day): count}
    assert lengths(table) == {timedelta(minutes=5)}
    start, end = market_day(Iso.PJM, day)
    starts = table.column("interval_start").to_pylist()
    assert min(starts) == start and max(starts) == end - timedelta(minutes=5)
    assert len(set(starts)) == count
    # The value is the RMCP (market_clearing_price), exactly as published.
    want = expected_values(names, "market_clearing_price")
    got = dict(zip(starts, table.column("value").to_pylist(), strict=True))
    assert got == want
    assert table.column("energy").null_count == count  # no components


def test_reg_prices_fall_back_hour_counted_twice() -> None:
    names = REG_DAYS[2][0]
    table = REG.parse([raw(REG.name, n) for n in names])
    local = [t.astimezone(EPT) for t in table.column("interval_start").to_pylist()]
    one_am = [t for t in local if t.hour == 1]
    assert len(one_am) == 24  # 01:00-01:55 EDT, then again in EST
    assert {t.utcoffset() for t in one_am} == {timedelta(hours=-4), timedelta(hours=-5)}


def test_reg_prices_pages_are_read_in_full() -> None:
    p1, p2 = REG_DAYS[2][0]
    assert REG.parse([raw(REG.name, p1)]).num_rows == 200
    assert REG.parse([raw(REG.name, p2)]).num_rows == 100


def test_reg_prices_all_fields_and_area_names() -> None:
    table = REG.parse([raw(REG.name, "as_reg_prices_2024-07-16_all_fields.json")])
    assert Counter(table.column("instrument").to_pylist()) == {
        "PJM.RT5.REG.PJM_RTO": 12,
        "PJM.RT5.REG.MAD": 12,
    }
    body = json.loads((FIXTURES / "as_reg_prices_2024-07-16_all_fields.json").read_text())
    for item in body["items"]:
        item["area"] = " pjm rto "
    body["items"] = body["items"][::2]  # one area only, renamed
    table = REG.parse([raw(REG.name, json.dumps(body).encode())])
    assert set(table.column("instrument").to_pylist()) == {"PJM.RT5.REG.PJM_RTO"}


RT_DAYS = [
    ("as_reserve_market_results_2023-11-05_dst_end.json", date(2023, 11, 5), 300),
    ("as_reserve_market_results_2024-03-10_dst_start.json", date(2024, 3, 10), 276),
    ("as_reserve_market_results_2024-07-15_normal.json", date(2024, 7, 15), 288),
]


@pytest.mark.parametrize(("name", "day", "count"), RT_DAYS)
def test_reserve_results_five_minute_dst_row_counts(name: str, day: date, count: int) -> None:
    table = RT.parse([raw(RT.name, name)])
    assert per_local_day(table) == {("PJM.RT5.SYNC.PJM_RTO", day): count}
    assert lengths(table) == {timedelta(minutes=5)}
    starts = table.column("interval_start").to_pylist()
    assert dict(zip(starts, table.column("value").to_pylist(), strict=True)) == expected_values(
        [name], "mcp"
    )


@pytest.mark.parametrize(
    ("name", "day", "count"),
    [
        ("as_reserve_market_results_2021-11-07_hourly_dst_end.json", date(2021, 11, 7), 25),
        ("as_reserve_market_results_2022-03-13_hourly_dst_start.json", date(2022, 3, 13), 23),
    ],
)
def test_reserve_results_hourly_era_dst_row_counts(name: str, day: date, count: int) -> None:
    table = RT.parse([raw(RT.name, name)])
    assert per_local_day(table) == {
        ("PJM.RTH.REG.PJM_RTO", day): count,
        ("PJM.RTH.SYNC.MAD", day): count,
    }
    assert lengths(table) == {timedelta(hours=1)}


def test_reserve_results_market_switches_on_2022_09_01_ept() -> None:
    body = json.loads((FIXTURES / RT_DAYS[2][0]).read_text())
    body["items"] = [
        dict(body["items"][0], datetime_beginning_utc=t)
        for t in ("2022-09-01T03:00:00", "2022-09-01T04:00:00", "2022-09-01T04:05:00")
    ]
    body["totalRows"] = 3
    rows = RT.parse([raw(RT.name, json.dumps(body).encode())]).to_pylist()
    got = [(r["instrument"], r["interval_end"] - r["interval_start"]) for r in rows]
    assert got == [
        ("PJM.RTH.SYNC.PJM_RTO", timedelta(hours=1)),  # 2022-08-31 23:00 EDT
        ("PJM.RT5.SYNC.PJM_RTO", timedelta(minutes=5)),  # 2022-09-01 00:00 EDT
        ("PJM.RT5.SYNC.PJM_RTO", timedelta(minutes=5)),
    ]


def test_reserve_results_every_locale_and_service() -> None:
    name = "as_reserve_market_results_2024-07-16_all_fields.json"
    table = RT.parse([raw(RT.name, name)])
    assert Counter(table.column("instrument").to_pylist()) == {
        f"PJM.RT5.{p}.{loc}": 12
        for loc, p in [
            ("PJM_RTO", "SYNC"),
            ("PJM_RTO", "PRIMARY"),
            ("PJM_RTO", "SUPP"),
            ("MAD", "SYNC"),
            ("MAD", "PRIMARY"),
            ("MAD", "SUPP"),
        ]
    }
    product = {"SR": "SYNC", "PR": "PRIMARY", "30MIN": "SUPP", "REG": "REG"}
    want = {
        (
            f"PJM.RT5.{product[i['service']]}.{i['locale']}",
            datetime.fromisoformat(i["datetime_beginning_utc"]).replace(tzinfo=UTC),
        ): i["mcp"]
        for i in items(name)
        if i["service"] != "REG"  # five-minute regulation belongs to pjm.reg_prices
    }
    got = {(r["instrument"], r["interval_start"]): r["value"] for r in table.to_pylist()}
    assert got == want


@pytest.mark.parametrize(
    ("name", "day", "count"),
    [
        ("as_da_reserve_market_results_2023-11-05_dst_end.json", date(2023, 11, 5), 25),
        ("as_da_reserve_market_results_2024-03-10_dst_start.json", date(2024, 3, 10), 23),
        ("as_da_reserve_market_results_2024-07-15_normal.json", date(2024, 7, 15), 24),
    ],
)
def test_da_reserve_results_dst_row_counts(name: str, day: date, count: int) -> None:
    table = DA.parse([raw(DA.name, name)])
    assert per_local_day(table) == {
        ("PJM.DA.SYNC.PJM_RTO", day): count,
        ("PJM.DA.PRIMARY.PJM_RTO", day): count,
        ("PJM.DA.SUPP.MAD", day): count,
    }
    assert lengths(table) == {timedelta(hours=1)}
    validate_prices(table)
    values = sorted(table.column("value").to_pylist())
    assert values == sorted(i["mcp"] for i in items(name))


# ------------------------------------------------------------------------- bad payloads


def _body(name: str, change) -> bytes:
    body = json.loads((FIXTURES / name).read_text())
    change(body)
    return json.dumps(body).encode()


BAD = [
    ("html", b"<!DOCTYPE html><html><head><title>Maintenance</title></head></html>", "text/html"),
    ("empty", b"", "application/json"),
    ("not json", b'{"items": [', "application/json"),
    ("no envelope", b"[]", "application/json"),
]


@pytest.mark.parametrize("dataset", [REG, RT, DA], ids=lambda d: d.name)
@pytest.mark.parametrize(("what", "body", "kind"), BAD, ids=[b[0] for b in BAD])
def test_bad_bodies_raise_payload_error(dataset, what: str, body: bytes, kind: str) -> None:
    with pytest.raises(PayloadError) as info:
        dataset.parse([raw(dataset.name, body, kind)])
    assert info.value.dataset == dataset.name


NAME = RT_DAYS[2][0]


def _drop_first(key: str):
    return lambda b: b["items"][0].pop(key)


def _drop_later(key: str):
    return lambda b: b["items"][5].pop(key)


def _set(index: int, key: str, value):
    return lambda b: b["items"][index].__setitem__(key, value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop_first("mcp"), "missing column"),
        (_drop_later("mcp"), "without a value for mcp"),
        (_set(3, "mcp", None), "without a value for mcp"),
        (_set(0, "surprise", 1), "unknown column"),
        (_set(7, "service", "NSR"), "unknown service"),
        (_set(7, "locale", "ATSI"), "unknown locale"),
        (_set(7, "datetime_beginning_utc", "yesterday"), "timestamp"),
        (_set(7, "datetime_beginning_utc", "2024-07-15T04:02:00"), "grid"),
        (_set(7, "datetime_beginning_utc", "2024-07-15T04:00:00"), "duplicate"),
    ],
)
def test_bad_items_raise_payload_error(change, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as info:
        RT.parse([raw(RT.name, _body(NAME, change))])
    assert info.value.dataset == RT.name


def test_empty_result_is_an_empty_table() -> None:
    body = _body(NAME, lambda b: (b.__setitem__("items", []), b.__setitem__("totalRows", 0)))
    assert RT.parse([raw(RT.name, body)]).num_rows == 0


# ------------------------------------------------------------------------ registry, fetch


def test_registered_with_declarations() -> None:
    for ds in (REG, RT, DA):
        assert get_dataset(ds.name).name == ds.name
        assert ds.components.value == "none"
        assert ds.auth.env == ("PJM_API_KEY",)
    assert REG.raw_columns[0] == "datetime_beginning_utc"


def test_fetch_asks_the_feed_with_fields_and_ept_window(monkeypatch) -> None:
    monkeypatch.setenv("PJM_API_KEY", "k-123")
    monkeypatch.setenv("PJM_REQUESTS_PER_MINUTE", "100000")
    pages = {
        1: (FIXTURES / REG_DAYS[2][0][0]).read_bytes(),
        201: (FIXTURES / REG_DAYS[2][0][1]).read_bytes(),
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = pages[int(request.url.params["startRow"])]
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    http = HttpFetcher(httpx.Client(transport=httpx.MockTransport(handler)), sleep=lambda s: None)
    start, end = market_day(Iso.PJM, date(2024, 11, 3))
    raws = fetch_pages(
        http, REG.name, REG.feed, Window(start, end), fields=REG.fields, row_count=200
    )
    assert len(raws) == 2
    assert REG.parse(raws).num_rows == 300
    first = seen[0]
    assert first.url.path == "/api/v1/reg_prices"
    assert first.url.params["fields"] == ",".join(REG.fields)
    assert first.url.params["datetime_beginning_ept"] == "11/03/2024 00:00to11/03/2024 23:59"
    assert first.headers["Ocp-Apim-Subscription-Key"] == "k-123"
    assert "k-123" not in raws[0].url
    # The dataset's own fetch sends the same request (one page answers at full size).
    seen.clear()
    pages[1] = (FIXTURES / "as_reg_prices_2024-07-15_normal.json").read_bytes()
    out = REG.fetch(http, Window(*market_day(Iso.PJM, date(2024, 7, 15))))
    assert len(out) == 1 and len(seen) == 1
    assert seen[0].url.params["fields"] == ",".join(REG.fields)


# ----------------------------------------------------------------------------- gridstatus

_PRODUCT = {
    "Synchronized Reserve": "SYNC",
    "Primary Reserve": "PRIMARY",
    "Thirty Minutes Reserve": "SUPP",
    "Regulation": "REG",
}


def _gridstatus(monkeypatch, name: str):
    """gridstatus's PJM with its Data Miner page call answering our fixture, offline."""
    gridstatus = pytest.importorskip("gridstatus")
    body = json.loads((FIXTURES / name).read_text())
    monkeypatch.setattr(gridstatus.PJM, "_data_miner_page", lambda self, endpoint, params: body)
    return gridstatus.PJM(api_key="offline")


def _ours(table: pa.Table) -> set:
    return {
        (r["instrument"], r["interval_start"], r["interval_end"], round(r["value"] * 100))
        for r in table.to_pylist()
    }


def _theirs(df, instrument) -> set:
    return {
        (
            instrument(row),
            row["Interval Start"].to_pydatetime().astimezone(UTC),
            row["Interval End"].to_pydatetime().astimezone(UTC),
            round(row["Market Clearing Price"] * 100),
        )
        for _, row in df.iterrows()
    }


def test_reg_prices_agree_with_gridstatus(monkeypatch) -> None:
    name = "as_reg_prices_2024-07-16_all_fields.json"
    df = _gridstatus(monkeypatch, name).get_regulation_prices_5_min("2024-07-16", "2024-07-17")
    ours = REG.parse([raw(REG.name, name)])
    assert len(df) == ours.num_rows == 24
    assert _theirs(df, lambda r: f"PJM.RT5.REG.{r['Area']}") == _ours(ours)


def test_reserve_results_agree_with_gridstatus(monkeypatch) -> None:
    name = "as_reserve_market_results_2024-07-16_all_fields.json"
    pjm = _gridstatus(monkeypatch, name)
    df = pjm.get_real_time_as_market_results("2024-07-16", "2024-07-17")
    ours = RT.parse([raw(RT.name, name)])
    # gridstatus also returns the 12 five-minute REG rows, which pjm.reg_prices owns here.
    df = df[~df["Ancillary Service"].str.endswith("-Regulation")]
    assert len(df) == ours.num_rows == 72

    def instrument(row) -> str:
        locale, service = row["Ancillary Service"].split("-", 1)
        return f"PJM.RT5.{_PRODUCT[service]}.{locale}"

    assert _theirs(df, instrument) == _ours(ours)


def test_da_reserve_results_agree_with_gridstatus(monkeypatch) -> None:
    name = "as_da_reserve_market_results_2023-11-05_dst_end.json"
    df = _gridstatus(monkeypatch, name).get_dam_as_market_results("2023-11-05", "2023-11-06")
    ours = DA.parse([raw(DA.name, name)])
    assert len(df) == ours.num_rows == 75  # 25 hours x 3 services on the fall-back day

    def instrument(row) -> str:
        locale, service = row["Ancillary Service"].split("-", 1)
        return f"PJM.DA.{_PRODUCT[service]}.{locale}"

    assert _theirs(df, instrument) == _ours(ours)


def test_reserve_results_windows_never_cross_the_granularity_switch() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    windows = RT.windows(date(2022, 8, 28), date(2022, 9, 3), now=now)
    switch = market_day(Iso.PJM, date(2022, 9, 1))[0]
    assert windows[0].start == market_day(Iso.PJM, date(2022, 8, 28))[0]
    assert windows[-1].end == market_day(Iso.PJM, date(2022, 9, 3))[1]
    assert any(w.end == switch for w in windows)
    assert all(w.end <= switch or w.start >= switch for w in windows)
    assert len(RT.windows(date(2024, 1, 1), date(2024, 1, 7), now=now)) == 1
