"""`GET /api/v1/quality/completeness` on a real server, on both store backends: exact
DST-day counts, a missing hour and a missing node, gaps, provisional days, Arrow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import httpx
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from carbon254.core import Iso, market_day
from carbon254.service.routes._completeness import COMPLETENESS_SCHEMA
from carbon254.service.routes.quality import _EXAMPLE
from carbon254.store import PriceStore

from ..service_helpers import FALL_BACK, PJM_DA, SPRING_FORWARD, day_prices, utc

NODE_B = "PJM.DA.LMP.51289"
DAY_BEFORE = FALL_BACK - timedelta(days=1)
URL = "/api/v1/quality/completeness"
DATASET = "pjm.da_hrl_lmps"
Serve = Callable[..., tuple[object, httpx.Client]]


def _store_fall_back(store: PriceStore) -> None:
    """Node A: both days, but the first 01:00 EDT hour (05:00Z) of the fall-back day is
    missing. Node B: the day before only."""
    fall_back = day_prices(PJM_DA, FALL_BACK)
    hole = pc.not_equal(fall_back.column("interval_start"), pa.scalar(utc(2024, 11, 3, 5)))
    tables = [
        day_prices(PJM_DA, DAY_BEFORE),
        fall_back.filter(hole),
        day_prices(NODE_B, DAY_BEFORE),
    ]
    store.upsert_prices(
        pa.concat_tables(tables), source=DATASET, source_url="https://api.pjm.com/api/v1/da"
    )


def _columns(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()["columns"]


def test_a_fall_back_day_with_a_missing_hour_and_a_missing_node(
    backend_store: PriceStore, serve: Serve
) -> None:
    _store_fall_back(backend_store)
    # A succeeded run covered the day before; the fall-back day's run covered part of it.
    before = backend_store.start_job_run(
        "pjm_da_ingestion", DATASET, *market_day(Iso.PJM, DAY_BEFORE)
    )
    backend_store.finish_job_run(before, status="succeeded", attempts=1, rows=48)
    lo, hi = market_day(Iso.PJM, FALL_BACK)
    part = backend_store.start_job_run("pjm_da_ingestion", DATASET, lo, hi)
    backend_store.finish_job_run(
        part, status="succeeded", attempts=1, rows=24, window_end=hi - timedelta(hours=2)
    )
    _, client = serve(backend_store)

    response = client.get(
        URL, params={"dataset": DATASET, "start": "2024-11-02", "end": "2024-11-03"}
    )
    columns = _columns(response)
    assert columns["day"] == ["2024-11-02", "2024-11-03"]
    assert columns["expected_intervals"] == [24, 25]  # 25 hours on the fall-back day
    assert columns["instruments"] == [2, 2]
    assert columns["expected_rows"] == [48, 50]
    assert columns["rows"] == [48, 24]
    assert columns["missing_rows"] == [0, 26]
    assert columns["completeness"] == [1.0, 0.48]
    assert columns["missing_instruments"] == [[], [NODE_B]]
    assert columns["gaps"] == [0, 2]
    assert columns["iso_component_violations"] == [0, 0]
    assert columns["provisional"] == [False, True]

    body = response.json()
    [summary] = body["datasets"]
    assert summary["status"] == "incomplete" and body["passed"] is False
    assert (summary["rows"], summary["expected_rows"]) == (72, 98)
    assert summary["gaps"] == [
        {"instrument": PJM_DA, "start": "2024-11-03T05:00:00Z", "end": "2024-11-03T06:00:00Z",
         "intervals": 1},
        {"instrument": NODE_B, "start": "2024-11-03T04:00:00Z", "end": "2024-11-04T05:00:00Z",
         "intervals": 25},
    ]  # fmt: skip
    assert body["component_violations"] == {"PJM": 0}


def test_a_spring_forward_day_expects_23_hours(backend_store: PriceStore, serve: Serve) -> None:
    backend_store.upsert_prices(day_prices(PJM_DA, SPRING_FORWARD), source=DATASET)
    _, client = serve(backend_store)
    columns = _columns(
        client.get(URL, params={"dataset": DATASET, "start": "2024-03-10", "end": "2024-03-10"})
    )
    assert (columns["expected_intervals"], columns["rows"], columns["completeness"]) == (
        [23],
        [23],
        [1.0],
    )
    assert columns["provisional"] == [None]  # no job run recorded: nothing vouches for it


def test_arrow_carries_the_table_and_the_summary(store: PriceStore, serve: Serve) -> None:
    _store_fall_back(store)
    _, client = serve(store)
    response = client.get(
        URL,
        params={"dataset": DATASET, "start": "2024-11-02", "end": "2024-11-03"},
        headers={"Accept": "application/vnd.apache.arrow.stream"},
    )
    assert response.status_code == 200
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.schema.remove_metadata() == COMPLETENESS_SCHEMA
    assert table.column("rows").to_pylist() == [48, 24]
    assert table.column("day").to_pylist() == [DAY_BEFORE, FALL_BACK]
    summary = orjson.loads(table.schema.metadata[b"carbon254"])
    assert summary["datasets"][0]["status"] == "incomplete"


def test_every_dataset_of_an_iso_by_default(store: PriceStore, serve: Serve) -> None:
    _store_fall_back(store)
    _, client = serve(store)
    body = client.get(URL, params={"iso": "pjm", "start": "2024-11-03", "end": "2024-11-03"}).json()
    names = {d["dataset"] for d in body["datasets"]}
    assert DATASET in names and not any(n.startswith("ercot.") for n in names)
    statuses = {d["dataset"]: d["status"] for d in body["datasets"]}
    assert statuses["pjm.pnode"] == "n/a" and statuses["pjm.rt_hrl_lmps"] == "no data"
    rows = dict(zip(body["columns"]["dataset"], body["columns"]["expected_intervals"], strict=True))
    assert "pjm.pnode" not in rows  # not a price series: no day rows
    assert rows["pjm.rt_fivemin_hrl_lmps"] == 300  # nothing stored: the clock still says


@pytest.mark.parametrize(
    ("params", "status", "param"),
    [
        ({"dataset": "pjm.nope,pjm.da_hrl_lmps"}, 404, None),
        ({"start": "2024-01-01", "end": "2024-06-30"}, 422, "end"),
        ({"start": "2024-11-03", "end": "2024-11-01"}, 422, "end"),
        ({"start": "yesterday"}, 422, "start"),
        ({"start": "0001-01-01"}, 422, "start"),
        ({"iso": "XX"}, 422, "iso"),
        ({"iso": "ERCOT", "dataset": DATASET}, 422, "iso"),
    ],
)
def test_bad_input_is_a_problem(store: PriceStore, serve: Serve, params, status, param) -> None:
    _, client = serve(store)
    response = client.get(URL, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    if status == 404:
        assert "pjm.nope" in problem["detail"] and problem["datasets"] == ["pjm.nope"]
        assert DATASET in problem["known"] and DATASET in problem["detail"]
    else:
        assert [e["param"] for e in problem["errors"]] == [param]


def test_a_range_of_92_days_is_allowed(store: PriceStore, serve: Serve) -> None:
    _, client = serve(store)
    start = date(2024, 1, 1)
    end = start + timedelta(days=91)
    response = client.get(URL, params={"dataset": DATASET, "start": str(start), "end": str(end)})
    assert response.json()["row_count"] == 92


def test_the_openapi_example_has_the_real_columns() -> None:
    assert list(_EXAMPLE["columns"]) == COMPLETENESS_SCHEMA.names
