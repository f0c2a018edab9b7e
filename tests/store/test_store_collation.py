"""Instrument order is byte (code point) order on both backends, whatever the PostgreSQL
collation: GraphQL's `instruments(after:)` and the REST page walk compare ids in Python,
so a store listing them in a linguistic order would skip or repeat ids across pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

import pytest

from carbon254.store import PriceStore, open_store

from .helpers import EVER, day_prices

# Code point order: AA < AB < A_B < a1. A linguistic collation (ICU en-US, glibc
# en_US.UTF-8) puts them as A_B, a1, AA, AB or ignores the underscore.
IDS = ["PJM.RT5.LMP.a1", "PJM.RT5.LMP.AB", "PJM.RT5.LMP.A_B", "PJM.RT5.LMP.AA"]
LINGUISTIC = ("en-US-x-icu", "en_US.utf8", "en_US")


@pytest.fixture
def linguistic_store(postgres_database: str) -> Iterator[PriceStore]:
    """A PostgreSQL store whose instrument ids compare by an English collation, as in a
    database created with an en_US locale (the test server's own default is C)."""
    import psycopg

    schema = f"coll_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_database, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        known = {r[0] for r in con.execute("SELECT collname FROM pg_collation").fetchall()}
    collation = next((c for c in LINGUISTIC if c in known), None)
    try:
        if collation is None:
            pytest.skip("no English collation on this PostgreSQL server")
        url = f"{postgres_database}?options={quote(f'-csearch_path={schema}')}"
        with open_store(url) as store:
            with psycopg.connect(url, autocommit=True) as con:
                column = f'instrument TYPE text COLLATE "{collation}"'
                con.execute(f"ALTER TABLE instruments ALTER COLUMN {column}")
            yield store
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


def test_instruments_and_price_rows_come_in_code_point_order(
    linguistic_store: PriceStore,
) -> None:
    store = linguistic_store
    store.upsert_prices(day_prices(IDS, "PJM", date(2024, 7, 10)), source="t")
    assert store.instruments()["instrument"].to_pylist() == sorted(IDS)
    rows = store.read_prices(IDS, *EVER)
    assert rows["instrument"].unique().to_pylist() == sorted(IDS)
    # A row limit cuts in that same order: the first rows are the first id's.
    first = store.read_prices(IDS, *EVER, limit=3)
    assert first["instrument"].to_pylist() == [sorted(IDS)[0]] * 3
    latest = store.latest(IDS)
    assert latest["instrument"].to_pylist() == sorted(IDS)
