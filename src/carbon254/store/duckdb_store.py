"""The embedded backend: one DuckDB file, owned by one process.

DuckDB lets one process open a file read-write, and while it does no other process can
open it at all; so in embedded mode the API, the scheduler and ingestion share one
process. Reads run on per-thread cursors and see committed data only.
"""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ..core import InstrumentId
from ._prepare import day_major_order
from ._sql import now_utc
from ._sqlstore import SqlStore
from .base import StoreError

__all__ = ["DuckDBStore"]


class DuckDBStore(SqlStore):
    backend = "duckdb"
    dialect = "duckdb"
    stage_timestamp = pa.timestamp("us")
    cluster_order = staticmethod(day_major_order)

    def __init__(self, path: str | Path, *, memory_limit: str | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.location = str(self.path)
        config = {"memory_limit": memory_limit} if memory_limit else {}
        try:
            self._con = duckdb.connect(str(path), config=config)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            holder = re.search(r"PID (\d+)", str(exc))
            raise StoreError(
                f"{path} is in use by another process (PID {holder[1] if holder else '?'}); "
                "DuckDB lets one process "
                "open it: stop that process, or use the PostgreSQL backend for several"
            ) from None
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._closed = False

    # -- connections -------------------------------------------------------------------
    def _reader(self) -> duckdb.DuckDBPyConnection:
        # The write connection serves reads on the thread that owns the write lock, so a
        # read inside a transaction sees that transaction's own writes.
        if self._in_write():
            return self._con
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self._con.cursor()
            with self._cursors_lock:
                self._cursors.append(cursor)
        return cursor

    def close(self) -> None:
        """Close every connection, so the file lock is released for other processes."""
        if self._closed:
            return
        self._closed = True
        with self._cursors_lock:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
        self._con.close()

    # -- primitives --------------------------------------------------------------------
    def _execute(self, sql: str) -> None:
        self._con.execute(sql)

    def _scalar(self, sql: str) -> object:
        rows = self._reader().execute(sql).fetchall()
        return rows[0][0] if rows else None

    def _autocommit(self, sql: str) -> list[tuple]:
        # This thread's cursor is outside the batch transaction (held by `_con`); DuckDB
        # commits each statement of it on its own, concurrently with that transaction.
        return self._reader().execute(sql).fetchall()

    def _fetch(self, sql: str, schema: pa.Schema) -> pa.Table:
        table = self._reader().sql(sql).to_arrow_table()
        columns = [table.column(i).cast(field.type) for i, field in enumerate(schema)]
        return pa.Table.from_arrays(columns, schema=schema)

    def _put_relation(self, name: str, table: pa.Table) -> None:
        self._con.register(name, table)

    def _drop_relation(self, name: str) -> None:
        self._con.unregister(name)

    def _insert_new_prices(self, stage: pa.Table, batch_id: int) -> None:
        self._con.register("_new", stage)
        try:
            self._con.execute(f"INSERT INTO prices SELECT *, {batch_id} FROM _new")
        finally:
            self._con.unregister("_new")

    def _create_instruments(self, ids: list[InstrumentId]) -> dict[str, int]:
        first = int(self._scalar("SELECT coalesce(max(instrument_key), 0) FROM instruments")) + 1
        keys = np.arange(first, first + len(ids), dtype=np.int32)
        rows = pa.table(
            {
                "instrument_key": keys,
                "instrument": [str(i) for i in ids],
                "iso": [i.iso.value for i in ids],
                "market": [i.market.value for i in ids],
                "product": [i.product.value for i in ids],
                "location": [i.location for i in ids],
            }
        )
        self._con.register("_inst", rows)
        self._con.execute(
            "INSERT INTO instruments SELECT instrument_key, instrument, iso, market, product, "
            f"location, NULL, NULL, {self._literal(now_utc())} FROM _inst"
        )
        self._con.unregister("_inst")
        return dict(zip(rows.column("instrument").to_pylist(), keys.tolist(), strict=True))

    def _next_batch_id(self) -> int:
        return int(self._scalar("SELECT coalesce(max(batch_id), 0) FROM ingest_batches")) + 1

    def _begin(self) -> None:
        self._con.begin()

    def _commit(self) -> None:
        self._con.commit()

    def _rollback(self) -> None:
        with contextlib.suppress(duckdb.TransactionException):  # nothing was open
            self._con.rollback()

    def _literal(self, value: datetime) -> str:
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return f"TIMESTAMP '{naive.isoformat(sep=' ')}'"

    def _bucket_15min(self, column: str) -> str:
        return f"time_bucket(INTERVAL '15 minutes', {column})"

    def _cluster_sql(self, alias: str) -> str:
        return (
            f"date_trunc('day', {alias}.interval_start), {alias}.instrument_key, "
            f"{alias}.interval_start"
        )
