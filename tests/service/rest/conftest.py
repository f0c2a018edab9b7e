"""Fixtures for the REST resource tests: seeded stores (DuckDB, and both backends where
the store reads these routes use changed) behind live servers, shared per module: the
tests only read them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store import open_store
from carbon254.store.base import PriceStore

from ..service_helpers import run_server
from .rest_helpers import seed_store

BACKENDS = ["duckdb", "postgres"]  # as tests/conftest.py's store_url


def _client(store: PriceStore) -> Iterator[httpx.Client]:
    app = create_app(store, settings=Settings(auth=False))
    with run_server(app) as base, httpx.Client(base_url=base, timeout=20.0) as http:
        yield http


@pytest.fixture(scope="module")
def seeded_rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PriceStore]:
    """A seeded DuckDB store (read-only for the tests that share it)."""
    with open_store(f"duckdb://{tmp_path_factory.mktemp('rest') / 'rest.duckdb'}") as store:
        yield seed_store(store)


@pytest.fixture(scope="module")
def rest(seeded_rest: PriceStore) -> Iterator[httpx.Client]:
    """A client on a live server over `seeded_rest`."""
    yield from _client(seeded_rest)


@pytest.fixture(scope="module", params=BACKENDS)
def any_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PriceStore]:
    """A seeded store on DuckDB and on PostgreSQL (a schema of the session database)."""
    if request.param == "duckdb":
        with open_store(f"duckdb://{tmp_path_factory.mktemp('any') / 'any.duckdb'}") as store:
            yield seed_store(store)
        return
    import psycopg

    database = request.getfixturevalue("postgres_database")
    schema = f"rest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        with open_store(f"{database}?options={quote(f'-csearch_path={schema}')}") as store:
            yield seed_store(store)
    finally:
        with psycopg.connect(database, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def any_rest(any_store: PriceStore) -> Iterator[httpx.Client]:
    """A client on a live server over `any_store`, once per backend."""
    yield from _client(any_store)
