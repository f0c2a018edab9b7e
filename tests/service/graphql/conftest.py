"""Fixtures for GraphQL tests: a live server over the seeded store, and a catalogue store
of 20 real-time nodes with directory entries (for batching and catalogue queries)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pyarrow as pa
import pytest
from fastapi import FastAPI

from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store import open_store
from carbon254.store.base import PriceStore

from ..service_helpers import (
    CAISO_DA,
    ERCOT_RT15,
    FALL_BACK,
    PJM_DA,
    SPRING_FORWARD,
    day_prices,
    open_duckdb,
    price_table,
    run_server,
    utc,
)

NODES = [f"PJM.RT5.LMP.N{n:02d}" for n in range(1, 21)]
HOUR = [utc(2025, 6, 2, 14, m) for m in range(0, 60, 5)]  # 12 five-minute intervals


class GraphQLClient:
    """POSTs documents to `/graphql` of a live server; returns the decoded body."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = self(query, **variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def error(self, query: str, **variables: Any) -> dict[str, Any]:
        """The only error of a failing document (with its message and extensions)."""
        body = self(query, **variables)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body["errors"]
        return body["errors"][0]


def directory(nodes: list[str]) -> pa.Table:
    """Directory rows for `nodes`: N01 was renamed on 2025-01-01 (two versions)."""
    rows = [
        {
            "iso": "PJM",
            "location": node.rsplit(".", 1)[1],
            "name": f"NODE {node[-2:]}",
            "location_type": "HUB" if node.endswith("01") else "GENERATOR",
            "zone": "WEST",
            "effective_date": date(2025, 1, 1),
            "termination_date": None,
        }
        for node in nodes
    ]
    rows.append({**rows[0], "name": "OLD NAME", "effective_date": date(2020, 1, 1),
                 "termination_date": date(2025, 1, 1)})  # fmt: skip
    return pa.Table.from_pylist(rows)


@pytest.fixture
def catalogue(store_url: str) -> Iterator[PriceStore]:
    """20 PJM RT5 nodes with one hour of prices each, and their directory entries, in
    DuckDB and in PostgreSQL (`store_url` is parametrized over both backends)."""
    store = open_store(store_url)
    tables = [
        price_table(node, HOUR, [30.0 + n + i / 10 for i in range(len(HOUR))])
        for n, node in enumerate(NODES)
    ]
    store.upsert_prices(pa.concat_tables(tables), source="test")
    store.upsert_locations(directory(NODES))
    yield store
    store.close()


@pytest.fixture
def serve(live_server: Callable[[FastAPI], str]) -> Iterator[Callable[..., GraphQLClient]]:
    """`serve(store, **create_app_kwargs)` or `serve(app)` → a client on a live server."""
    with httpx.Client(timeout=10.0) as http:

        def start(store: PriceStore | FastAPI, **kwargs: Any) -> GraphQLClient:
            kwargs.setdefault("settings", Settings(auth=False))
            app = store if isinstance(store, FastAPI) else create_app(store, **kwargs)
            http.base_url = httpx.URL(live_server(app))
            return GraphQLClient(http)

        yield start


@pytest.fixture
def seeded_gql(seeded: PriceStore, serve: Callable[..., GraphQLClient]) -> GraphQLClient:
    """A GraphQL client on a live server over the seeded store (fresh for each test)."""
    return serve(seeded)


@pytest.fixture(scope="module")
def gql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphQLClient]:
    """One live server over a seeded store for a whole module: for read-only tests."""
    store = open_duckdb(tmp_path_factory.mktemp("graphql") / "prices.duckdb")
    tables = [
        day_prices(PJM_DA, day)
        for day in (SPRING_FORWARD, FALL_BACK - timedelta(days=1), FALL_BACK, date(2024, 11, 4))
    ]
    tables += [day_prices(CAISO_DA, FALL_BACK, 40.0), day_prices(ERCOT_RT15, FALL_BACK, 15.0)]
    store.upsert_prices(pa.concat_tables(tables), source="test")
    app = create_app(store, settings=Settings(auth=False))
    with run_server(app) as url, httpx.Client(base_url=url, timeout=10.0) as http:
        yield GraphQLClient(http)
    store.close()
