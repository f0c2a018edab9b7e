"""Schema migrations (a store created at version 1 upgrades in place) and batch lineage
(source_url, batches() filters). Both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from carbon254.store import PriceStore, StoreError, open_store

from .helpers import day_prices, prices, utc

PJM_DA = ["PJM.DA.LMP.51288"]
DAY = date(2024, 7, 10)


def _unmigrated(url: str) -> PriceStore:
    """The backend itself, without `open_store`'s migrate/check step."""
    if url.startswith("postgresql://"):
        from carbon254.store.postgres_store import PostgresStore

        return PostgresStore(url)
    from carbon254.store.duckdb_store import DuckDBStore

    return DuckDBStore(url.removeprefix("duckdb://"))


def _write_as_version_1(store) -> None:
    """Rows as carbon254 at schema 1 wrote them (its ingest_batches had 14 columns)."""
    lit = store._literal
    t0, now = utc(2024, 7, 10, 4), datetime.now(UTC)
    store._begin()
    store._execute(
        "INSERT INTO instruments (instrument_key, instrument, iso, market, product, location, "
        f"first_interval, last_interval, created_at) VALUES (1, 'PJM.DA.LMP.51288', 'PJM', "
        f"'DA', 'LMP', '51288', {lit(t0)}, {lit(t0)}, {lit(now)})"
    )
    store._execute(
        "INSERT INTO ingest_batches VALUES (1, 'v1:legacy', NULL, NULL, 1, 1, 0, 0, 1, "
        f"'committed', NULL, {lit(now)}, {lit(now)}, {lit(now)})"
    )
    if store.backend == "postgres":
        store._execute("SELECT setval('ingest_batch_id_seq', 1)")
        store._execute(
            "CREATE TABLE prices_p20240710 PARTITION OF prices FOR VALUES FROM "
            "('2024-07-10 00:00:00+00') TO ('2024-07-11 00:00:00+00')"
        )
    store._execute(
        f"INSERT INTO prices VALUES (1, {lit(t0)}, {lit(t0 + timedelta(hours=1))}, "
        "30.0, 29.5, 0.25, 0.25, NULL, 1)"
    )
    store._commit()


def test_a_version_1_store_upgrades_in_place(store_url):
    old = _unmigrated(store_url)
    try:
        assert old.migrate(target=1) == [1]
        assert old.schema_version() == 1 and old.latest_schema_version() >= 2
        _write_as_version_1(old)
    finally:
        old.close()
    with pytest.raises(StoreError, match="version 1 is behind"):
        open_store(store_url, migrate=False)

    with open_store(store_url) as store:  # migrates
        assert store.schema_version() == store.latest_schema_version()
        assert store.migrate() == []
        batch = store.batches().to_pylist()[0]
        assert (batch["batch_id"], batch["source"], batch["source_url"]) == (1, "v1:legacy", None)
        assert store.read_prices(PJM_DA, utc(2024, 7, 10), utc(2024, 7, 11))[
            "value"
        ].to_pylist() == [30.0]
        # the new code writes on top of the old rows: a revision, a new batch id
        result = store.upsert_prices(
            prices(PJM_DA, [utc(2024, 7, 10, 4)], base=31.0), source="v2", source_url="file:a.csv"
        )
        assert (result.batch_id, result.rows_revised) == (2, 1)
        assert store.batches(limit=1).to_pylist()[0]["source_url"] == "file:a.csv"
        assert store.status().counts["job_runs"] == 0
        run = store.start_job_run("j", "d", utc(2024, 7, 10), utc(2024, 7, 11))
        assert store.job_runs()["run_id"].to_pylist() == [run]
    with open_store(store_url, migrate=False) as again:
        assert again.schema_version() == again.latest_schema_version()


def test_source_url_is_recorded_and_optional(store):
    url = "https://dataminer2.pjm.com/feed/da_hrl_lmps?startRow=1&rowCount=50000"
    store.upsert_prices(day_prices(PJM_DA, "PJM", DAY), source="pjm:da", source_url=url)
    store.upsert_prices(day_prices(PJM_DA, "PJM", date(2024, 7, 11)), source="pjm:da")
    newest, oldest = store.batches().to_pylist()
    assert oldest["source_url"] == url and newest["source_url"] is None
    assert store.batches().schema.names[-1] == "source_url"
    with pytest.raises(ValueError, match="source_url"):
        store.upsert_prices(day_prices(PJM_DA, "PJM", DAY), source="x", source_url="")


def test_batches_filter_by_source_and_since(store):
    store.upsert_prices(day_prices(PJM_DA, "PJM", DAY), source="pjm:da")
    middle = datetime.now(UTC)
    store.upsert_prices(day_prices(PJM_DA, "PJM", date(2024, 7, 11)), source="pjm:o'clock")
    store.upsert_prices(day_prices(PJM_DA, "PJM", date(2024, 7, 12)), source="pjm:da")
    assert store.batches(source="pjm:da")["batch_id"].to_pylist() == [3, 1]
    assert store.batches(source="pjm:o'clock")["batch_id"].to_pylist() == [2]
    assert store.batches(since=middle)["batch_id"].to_pylist() == [3, 2]
    assert store.batches(source="pjm:da", since=middle, limit=5)["batch_id"].to_pylist() == [3]
    assert store.batches(since=datetime.now(UTC) + timedelta(hours=1)).num_rows == 0
    with pytest.raises(ValueError, match="timezone-aware"):
        store.batches(since=datetime(2024, 1, 1))
