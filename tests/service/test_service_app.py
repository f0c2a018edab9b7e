"""Health, instruments catalogue, OpenAPI document, store ownership on shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pyarrow as pa

from carbon254.ingest import events
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from .service_helpers import CAISO_DA, ERCOT_RT15, PJM_DA, open_duckdb, run_server


def test_health(client: httpx.Client, seeded: PriceStore) -> None:
    status = seeded.status()
    for path in ("/health", "/api/v1/health"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "status": "ok",
            "store": status.backend,
            "schema_version": status.schema_version,
        }


def test_instruments_catalogue(client: httpx.Client) -> None:
    body = client.get("/api/v1/instruments").json()
    assert sorted(body["columns"]["instrument"]) == sorted([PJM_DA, CAISO_DA, ERCOT_RT15])
    assert body["row_count"] == 3
    assert body["filters"] == {
        "iso": None,
        "market": None,
        "product": None,
        "location_type": None,
        "name": None,
    }


def test_instruments_filters_are_case_insensitive(client: httpx.Client) -> None:
    body = client.get("/api/v1/instruments", params={"iso": "pjm", "product": "lmp"}).json()
    assert body["columns"]["instrument"] == [PJM_DA]
    assert body["filters"]["iso"] == "PJM" and body["filters"]["product"] == "LMP"
    assert client.get("/api/v1/instruments", params={"market": "rt5"}).json()["row_count"] == 0


def test_instruments_as_arrow(client: httpx.Client) -> None:
    accept = {"Accept": "application/vnd.apache.arrow.stream"}
    response = client.get("/api/v1/instruments", params={"iso": "ERCOT"}, headers=accept)
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.column("instrument").to_pylist() == [ERCOT_RT15]


def test_openapi_documents_utc_and_problems(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/prices"]["get"]
    start = next(p for p in operation["parameters"] if p["name"] == "start")
    assert "UTC" in start["description"]
    assert {"404", "406", "422"} <= set(operation["responses"])
    assert "application/vnd.apache.arrow.stream" in operation["responses"]["200"]["content"]
    assert "/api/v1/health" in document["paths"]


def test_owned_store_is_closed_on_shutdown(tmp_path: Path) -> None:
    store = open_duckdb(tmp_path / "owned.duckdb")
    closed: list[bool] = []
    close = store.close
    store.close = lambda: (closed.append(True), close())[1]  # type: ignore[method-assign]
    with run_server(create_app(store, owns_store=True, settings=Settings(auth=False))) as base:
        assert httpx.get(f"{base}/health").status_code == 200
    assert closed == [True]


def test_borrowed_store_stays_open(store: PriceStore) -> None:
    with run_server(create_app(store, settings=Settings(auth=False))) as base:
        assert httpx.get(f"{base}/health").status_code == 200
    assert store.status().schema_version >= 1  # still usable


def test_an_app_withdraws_its_feed_as_the_default_when_it_stops() -> None:
    class _NoStore:
        def close(self) -> None: ...

    first = create_app(_NoStore(), settings=Settings(auth=False))  # type: ignore[arg-type]
    assert events.default_change_feed() is first.state.changes
    second = create_app(_NoStore(), settings=Settings(auth=False))  # type: ignore[arg-type]

    async def run_lifespan(app) -> None:
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(run_lifespan(first))  # not the default any more: leaves the second alone
    assert events.default_change_feed() is second.state.changes
    asyncio.run(run_lifespan(second))
    assert events.default_change_feed() is not second.state.changes
    events.set_default_change_feed(None)
