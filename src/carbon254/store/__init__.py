"""The time-series store: canonical prices with revision history and batch lineage.

`open_store()` picks the backend from the URL: `postgresql://…` for PostgreSQL, anything
else (`duckdb:///path/file.duckdb`, a bare path, `:memory:`) for the embedded DuckDB file.
"""

from __future__ import annotations

from .base import (
    BatchResult,
    DuplicateRowError,
    InvalidArgument,
    JobStatus,
    LocationResult,
    PriceStore,
    RecordResult,
    ResultTooLarge,
    StoreError,
    StoreStatus,
    UnknownInstrument,
)
from .config import default_data_dir, resolve_store_url

__all__ = [
    "BatchResult",
    "DuplicateRowError",
    "InvalidArgument",
    "JobStatus",
    "LocationResult",
    "PriceStore",
    "RecordResult",
    "ResultTooLarge",
    "StoreError",
    "StoreStatus",
    "UnknownInstrument",
    "default_data_dir",
    "open_store",
    "resolve_store_url",
]


def open_store(url: str | None = None, *, migrate: bool = True) -> PriceStore:
    """Open (and by default migrate) the store at `url`, or the configured one."""
    url = resolve_store_url(url)
    store: PriceStore
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres_store import PostgresStore

        store = PostgresStore(url)
    else:
        from .duckdb_store import DuckDBStore

        store = DuckDBStore(url.removeprefix("duckdb://"))
    try:
        if migrate:
            store.migrate()
        else:
            store.check_schema()
    except BaseException:
        store.close()
        raise
    return store
