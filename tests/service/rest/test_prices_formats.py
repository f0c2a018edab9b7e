"""Formats and local time on GET /api/v1/prices: CSV and Parquet round trips equal to
Arrow, `format=` over `Accept`, and `tz` columns on DST days."""

from __future__ import annotations

import io
from datetime import datetime

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from carbon254.core import Iso, market_day
from carbon254.core.schema import PRICE_SCHEMA, UTC_TS

from ..service_helpers import CAISO_DA, ERCOT_RT15, FALL_BACK, PJM_DA, SPRING_FORWARD
from .rest_helpers import ARROW, NODE_A, PARQUET, day_range

PRICES = "/api/v1/prices"
MIXED = {"instruments": f"{PJM_DA},{CAISO_DA},{ERCOT_RT15},{NODE_A}", **day_range(FALL_BACK)}


def _arrow(client: httpx.Client, params: dict) -> pa.Table:
    response = client.get(PRICES, params=params, headers={"Accept": ARROW})
    assert response.headers["content-type"] == ARROW
    return pa.ipc.open_stream(response.content).read_all()


def _csv(content: bytes, schema: pa.Schema) -> pa.Table:
    types = {f.name: pa.timestamp("s", tz="UTC") if f.type == UTC_TS else f.type for f in schema}
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    table = pacsv.read_csv(io.BytesIO(content), convert_options=options)
    return table.cast(schema)


@pytest.mark.parametrize("params", [{}, {"resample": "hourly", "agg": "min"}])
def test_csv_and_parquet_equal_arrow(rest: httpx.Client, params: dict) -> None:
    query = {**MIXED, **params}
    arrow = _arrow(rest, query)
    assert arrow.num_rows >= 96  # 4 series x 24 hours of the fall-back day, at least
    csv = rest.get(PRICES, params={**query, "format": "csv"})
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"] == 'attachment; filename="prices.csv"'
    assert csv.text.splitlines()[0] == ",".join(arrow.column_names)
    assert "2024-11-03T05:00:00Z" in csv.text  # times as in JSON: ISO-8601, UTC `Z`
    assert _csv(csv.content, arrow.schema).equals(arrow)
    parquet = rest.get(PRICES, params=query, headers={"Accept": PARQUET})
    assert parquet.headers["content-type"] == PARQUET
    assert pq.read_table(io.BytesIO(parquet.content)).equals(arrow)


@pytest.mark.parametrize(
    ("accept", "fmt", "media"),
    [
        ("text/csv", None, "text/csv; charset=utf-8"),
        ("text/*", None, "text/csv; charset=utf-8"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", None, "application/json"),
        (ARROW, "json", "application/json"),
        ("image/png", "parquet", PARQUET),
        (None, "ARROW", ARROW),
    ],
)
def test_format_parameter_overrides_accept(
    rest: httpx.Client, accept: str | None, fmt: str | None, media: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    params = {**MIXED} | ({"format": fmt} if fmt else {})
    response = rest.get(PRICES, params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == media


def test_unknown_format_is_a_422(rest: httpx.Client) -> None:
    response = rest.get(PRICES, params={**MIXED, "format": "xlsx"})
    assert response.status_code == 422
    assert "format 'xlsx' is not one of json, csv, arrow, parquet" in response.json()["detail"]


@pytest.mark.parametrize(
    ("day", "offsets"), [(FALL_BACK, ["-04:00", "-05:00"]), (SPRING_FORWARD, ["-05:00", "-04:00"])]
)
def test_local_columns_on_dst_days(rest: httpx.Client, day, offsets: list[str]) -> None:
    params = {"instruments": PJM_DA, **day_range(day), "tz": "America/New_York"}
    body = rest.get(PRICES, params=params).json()
    assert body["tz"] == "America/New_York"
    names = list(body["columns"])
    assert names[:5] == [
        "instrument",
        "interval_start",
        "interval_start_local",
        "interval_end",
        "interval_end_local",
    ]
    local = body["columns"]["interval_start_local"]
    assert local[0] == f"{day.isoformat()}T00:00:00{offsets[0]}"
    assert local[-1] == f"{day.isoformat()}T23:00:00{offsets[1]}"
    assert [datetime.fromisoformat(t) for t in local] == [
        datetime.fromisoformat(t) for t in body["columns"]["interval_start"]
    ]
    hours = [t[11:13] for t in local]
    if day == FALL_BACK:  # 01:00 twice, once in EDT and once in EST
        assert [t for t in local if t[11:13] == "01"] == [
            f"{day}T01:00:00-04:00",
            f"{day}T01:00:00-05:00",
        ]
    else:  # 02:00 does not exist
        assert "02" not in hours and len(hours) == 23
    table = _arrow(rest, params)
    assert table.schema.field("interval_start_local").type == pa.timestamp("us", "America/New_York")
    assert table.column("interval_start_local").cast(UTC_TS).equals(table.column("interval_start"))


def test_market_clock_of_each_instrument(rest: httpx.Client) -> None:
    # One ISO: a typed column in that clock.
    pjm = _arrow(
        rest, {"instruments": f"{PJM_DA},{NODE_A}", **day_range(FALL_BACK), "tz": "market"}
    )
    assert pjm.schema.field("interval_end_local").type == pa.timestamp("us", "America/New_York")
    # Several clocks: strings, each row with its own market's offset.
    table = _arrow(rest, {**MIXED, "tz": "market"})
    assert table.schema.field("interval_start_local").type == pa.string()
    first = {}
    for row in table.select(["instrument", "interval_start_local"]).to_pylist():
        first.setdefault(row["instrument"], row["interval_start_local"])
    assert first[CAISO_DA] == "2024-11-03T00:00:00-07:00"
    assert first[ERCOT_RT15] == "2024-11-03T00:00:00-05:00"
    assert first[PJM_DA] == "2024-11-03T00:00:00-04:00"
    start = market_day(Iso.CAISO, FALL_BACK)[0]
    caiso = table.filter(pc.equal(table.column("instrument"), CAISO_DA))
    assert caiso.column("interval_start")[0].as_py() == start


def test_utc_and_zone_names(rest: httpx.Client) -> None:
    body = rest.get(PRICES, params={**MIXED, "tz": "utc"}).json()
    assert body["tz"] == "UTC"
    assert body["columns"]["interval_start_local"] == body["columns"]["interval_start"]
    body = rest.get(PRICES, params={**MIXED, "tz": "america/chicago"}).json()
    assert body["tz"] == "America/Chicago"


# `localtime` is a file of the server's tz database (its own clock), not an IANA zone.
@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "America", "../etc/passwd", "", "EST+5", "localtime"]
)
def test_bad_zone_is_a_422(rest: httpx.Client, zone: str) -> None:
    response = rest.get(PRICES, params={**MIXED, "tz": zone})
    assert response.status_code == 422
    assert "is not an IANA time zone" in response.json()["detail"]


def test_json_keeps_its_shape(rest: httpx.Client) -> None:
    body = rest.get(PRICES, params=MIXED).json()
    assert list(body["columns"]) == PRICE_SCHEMA.names
    assert set(body) >= {"instruments", "start", "end", "as_of", "row_count", "next_cursor"}
