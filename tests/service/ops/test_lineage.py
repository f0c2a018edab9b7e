"""`GET /api/v1/batches` and `GET /api/v1/jobs` on a real server, on both backends:
lineage written through the store API comes back newest first, filtered, as JSON and
Arrow; bad filters are 422 problems naming the parameter."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pyarrow as pa
import pytest

from carbon254.core import Iso, market_day
from carbon254.store import PriceStore

from ..service_helpers import FALL_BACK, PJM_DA, SPRING_FORWARD, day_prices

Serve = Callable[..., tuple[object, httpx.Client]]
ARROW = "application/vnd.apache.arrow.stream"
SHA_A = hashlib.sha256(b"page one").hexdigest()
SHA_B = hashlib.sha256(b"page two").hexdigest()
FETCHED = datetime(2024, 11, 4, 17, 30, 5, tzinfo=UTC)


def _seed_batches(store: PriceStore) -> tuple[int, int]:
    first = store.upsert_prices(
        day_prices(PJM_DA, SPRING_FORWARD),
        source="pjm.da_hrl_lmps",
        source_url="https://api.pjm.com/api/v1/da_hrl_lmps?page=1 (+1 more)",
        content_sha256=SHA_A,
        fetched_at=FETCHED,
    )
    second = store.upsert_prices(
        day_prices("ERCOT.RT15.SPP.HB_NORTH", FALL_BACK), source="ercot.np6-905-cd",
        content_sha256=SHA_B,
    )  # fmt: skip
    return first.batch_id, second.batch_id


def test_batches_newest_first_with_their_lineage(backend_store: PriceStore, serve: Serve) -> None:
    first, second = _seed_batches(backend_store)
    _, client = serve(backend_store)

    body = client.get("/api/v1/batches").json()
    columns = body["columns"]
    assert columns["batch_id"] == [second, first]
    assert columns["source"] == ["ercot.np6-905-cd", "pjm.da_hrl_lmps"]
    assert columns["content_sha256"] == [SHA_B, SHA_A]
    assert columns["source_url"] == [
        None, "https://api.pjm.com/api/v1/da_hrl_lmps?page=1 (+1 more)",
    ]  # fmt: skip
    assert columns["fetched_at"][1] == "2024-11-04T17:30:05Z"
    assert columns["rows_received"] == [100, 23] and columns["rows_inserted"] == [100, 23]
    assert columns["status"] == ["committed", "committed"]
    assert all(t.endswith("Z") for t in columns["committed_at"])

    only = client.get("/api/v1/batches", params={"source": "pjm.da_hrl_lmps"}).json()
    assert only["columns"]["batch_id"] == [first] and only["filters"]["source"] == "pjm.da_hrl_lmps"
    assert client.get("/api/v1/batches", params={"limit": 1}).json()["columns"]["batch_id"] == [
        second
    ]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert client.get("/api/v1/batches", params={"since": future}).json()["row_count"] == 0

    arrow = client.get("/api/v1/batches", headers={"Accept": ARROW})
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.column("content_sha256").to_pylist() == [SHA_B, SHA_A]


def test_job_runs_filtered_by_job_and_status(backend_store: PriceStore, serve: Serve) -> None:
    lo, hi = market_day(Iso.PJM, FALL_BACK)
    ok = backend_store.start_job_run("pjm_da_ingestion", "pjm.da_hrl_lmps", lo, hi)
    backend_store.finish_job_run(ok, status="succeeded", attempts=1, rows=25)
    bad = backend_store.start_job_run("pjm_rt_ingestion", "pjm.rt_fivemin_hrl_lmps", lo, hi)
    backend_store.finish_job_run(bad, status="failed", attempts=3, error="HTTP 503 from PJM")
    running = backend_store.start_job_run("pjm_rt_ingestion", "pjm.rt_fivemin_hrl_lmps", lo, hi)
    _, client = serve(backend_store)

    columns = client.get("/api/v1/jobs").json()["columns"]
    assert columns["run_id"] == [running, bad, ok]
    assert columns["status"] == ["running", "failed", "succeeded"]
    assert columns["attempts"] == [1, 3, 1]
    assert columns["rows"] == [None, None, 25]
    assert columns["error"] == [None, "HTTP 503 from PJM", None]
    assert columns["window_start"] == ["2024-11-03T04:00:00Z"] * 3
    assert columns["window_end"] == ["2024-11-04T05:00:00Z"] * 3  # 25 hours
    assert columns["finished_at"][0] is None

    failed = client.get("/api/v1/jobs", params={"job": "pjm_rt_ingestion", "status": "failed"})
    assert failed.json()["columns"]["run_id"] == [bad]
    da = client.get("/api/v1/jobs", params={"job": "pjm_da_ingestion"}, headers={"Accept": ARROW})
    assert pa.ipc.open_stream(da.content).read_all().column("run_id").to_pylist() == [ok]


@pytest.mark.parametrize(
    ("path", "params", "bad"),
    [
        ("/api/v1/jobs", {"status": "exploded"}, ["status"]),
        ("/api/v1/jobs", {"limit": 5000, "since": "last tuesday"}, ["since", "limit"]),
        ("/api/v1/jobs", {"job": "x\x01y"}, ["job"]),
        ("/api/v1/jobs", {"since": "1900-01-01"}, ["since"]),
        ("/api/v1/batches", {"limit": 0}, ["limit"]),
        ("/api/v1/batches", {"limit": "many"}, ["limit"]),
        ("/api/v1/batches", {"limit": 10**20}, ["limit"]),  # past 64 bits: still a 422
        ("/api/v1/jobs", {"limit": -(10**30)}, ["limit"]),
        ("/api/v1/batches", {"source": " "}, ["source"]),
        ("/api/v1/batches", {"source": "a\x00b"}, ["source"]),
    ],
)
def test_bad_filters_are_problems_naming_the_parameter(
    store: PriceStore, serve: Serve, path: str, params: dict, bad: list[str]
) -> None:
    _, client = serve(store)
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["param"] for e in response.json()["errors"]] == bad


def test_an_unacceptable_media_type_is_406(store: PriceStore, serve: Serve) -> None:
    _, client = serve(store)
    response = client.get("/api/v1/jobs", headers={"Accept": "text/csv"})
    assert response.status_code == 406 and "available" in response.json()
