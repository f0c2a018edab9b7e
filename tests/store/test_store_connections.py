"""The store's connections under probes and outages: `schema_version()` (what `/health`
asks) is a read beside the writer, never a statement on its connection; a PostgreSQL
store replaces the connections the server dropped (a restart) instead of failing until
the process restarts."""

from __future__ import annotations

import threading
from datetime import date

import psycopg
import pytest

from carbon254.store import PriceStore, open_store

from .helpers import day_prices
from .test_migrations import _unmigrated

PJM_DA = ["PJM.DA.LMP.51288"]
DAY = date(2024, 7, 10)


def test_schema_version_of_an_empty_store_is_0_and_creates_nothing(store_url: str) -> None:
    empty = _unmigrated(store_url)
    try:
        assert empty.schema_version() == 0
        assert not empty._scalar(  # type: ignore[attr-defined]
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_name = 'schema_migrations' AND table_schema = current_schema()"
        )
        empty.migrate()
        assert empty.schema_version() == empty.latest_schema_version() >= 1
    finally:
        empty.close()


def test_schema_version_answers_beside_a_failed_write_transaction(store: PriceStore) -> None:
    """A batch on another thread whose transaction failed and is not rolled back yet: a
    probe must neither run inside it nor wait for it."""
    failed, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def batch() -> None:
        with store._writing():  # type: ignore[attr-defined]
            store._begin()  # type: ignore[attr-defined]
            try:
                store._execute("SELECT CAST('x' AS INTEGER)")  # type: ignore[attr-defined]
            except Exception as exc:
                errors.append(exc)
            failed.set()
            release.wait(10)
            store._rollback()  # type: ignore[attr-defined]

    writer = threading.Thread(target=batch)
    writer.start()
    try:
        assert failed.wait(10) and errors  # the write transaction is now aborted
        assert store.schema_version() == store.latest_schema_version()
    finally:
        release.set()
        writer.join(10)


def _drop_sessions(store: PriceStore) -> None:
    """End every session of `store` from outside, as a server restart does."""
    url = store.url  # type: ignore[attr-defined]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_a_postgres_store_outlives_a_server_restart(store_url: str) -> None:
    with open_store(store_url) as store:
        store.upsert_prices(day_prices(PJM_DA, "PJM", DAY), source="before")
        _drop_sessions(store)
        # a read notices its dropped connection and runs again on a new one
        assert store.schema_version() == store.latest_schema_version()
        # the writer's connection is replaced at its next transaction
        result = store.upsert_prices(day_prices(PJM_DA, "PJM", DAY, base=31.0), source="after")
        assert result.rows_revised == 24

        # dropped inside a transaction: that write fails, its rollback does not mask why,
        # and the next write starts on a new connection
        with store._writing():  # type: ignore[attr-defined]
            store._begin()  # type: ignore[attr-defined]
            _drop_sessions(store)
            with pytest.raises(psycopg.OperationalError):
                store._execute("SELECT 1")  # type: ignore[attr-defined]
            store._rollback()  # type: ignore[attr-defined]
        result = store.upsert_prices(day_prices(PJM_DA, "PJM", DAY, base=32.0), source="again")
        assert result.rows_revised == 24
        _drop_sessions(store)
        assert store.batches(limit=1).to_pylist()[0]["source"] == "again"


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_a_closed_postgres_store_does_not_reconnect_its_writer(store_url: str) -> None:
    store = open_store(store_url)
    store.close()
    with pytest.raises(psycopg.OperationalError, match="closed"):
        store.upsert_prices(day_prices(PJM_DA, "PJM", DAY), source="after close")
    assert store._con.closed  # type: ignore[attr-defined]
