"""One store test suite, both backends: every test taking `store` runs on each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from carbon254.store import PriceStore, open_store

BACKENDS = ["duckdb", "postgres"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty store: a DuckDB file, or a fresh schema in the session database."""
    if request.param == "duckdb":
        yield f"duckdb://{tmp_path / 'store.duckdb'}"
        return
    import psycopg

    database = request.getfixturevalue("postgres_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    yield f"{database}?options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(database, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(store_url: str) -> Iterator[PriceStore]:
    with open_store(store_url) as opened:
        yield opened
