"""The server backend: PostgreSQL, prices partitioned by UTC day.

Writers are serialized with a transaction-scoped advisory lock, so several processes may
ingest (unlike DuckDB). Bulk data moves with COPY in both directions: CSV produced and
parsed by Arrow, timestamps leaving SQL as integer microseconds so nothing is lost.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from ..core import InstrumentId
from ._prepare import time_major_order
from ._sql import now_utc
from ._sqlstore import SqlStore

__all__ = ["PostgresStore"]

T = TypeVar("T")

_WRITER_LOCK = 0x0C254  # advisory lock id serializing writers across processes
_PG_TYPES = {
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.float64(): "double precision",
    pa.string(): "text",
    pa.date32(): "date",
    pa.bool_(): "boolean",
}


def _pg_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz"
    return _PG_TYPES[arrow_type]


def _csv(table: pa.Table) -> bytes:
    # Timestamps go out as naive UTC text: sessions run with TIME ZONE 'UTC', and Arrow
    # writes naive timestamps ~20x faster than zone-aware ones.
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            naive = table.column(i).cast(pa.int64()).cast(pa.timestamp(field.type.unit))
            table = table.set_column(i, field.name, naive)
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue()


class PostgresStore(SqlStore):
    backend = "postgres"
    dialect = "postgres"
    stage_timestamp = pa.timestamp("us", tz="UTC")
    cluster_order = staticmethod(time_major_order)

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.location = _redact(url)
        self._con = self._connect(autocommit=True)
        self._local = threading.local()
        self._readers: list[psycopg.Connection] = []
        self._readers_lock = threading.Lock()
        self._partitions: set[str] = set()
        self._new_partitions: set[str] = set()  # created by the open transaction
        self._in_tx = False
        self._closed = False

    @staticmethod
    def _connect_url(url: str, autocommit: bool) -> psycopg.Connection:
        con = psycopg.connect(url, autocommit=autocommit)
        con.execute("SET TIME ZONE 'UTC'")
        return con

    def _connect(self, autocommit: bool) -> psycopg.Connection:
        return self._connect_url(self.url, autocommit)

    def _write_con(self) -> psycopg.Connection:
        """The write connection, replaced if the server dropped it (a restart) while no
        transaction was open on it; inside one, the failure is that transaction's. A
        store closed by its owner stays closed."""
        if self._con.closed and not self._in_tx and not self._closed:
            self._con = self._connect(autocommit=True)
        return self._con

    def _reader(self) -> psycopg.Connection:
        if self._in_write():
            return self._con
        con = getattr(self._local, "con", None)
        if con is None or con.closed:
            con = self._local.con = self._connect(autocommit=True)
            with self._readers_lock:
                self._readers.append(con)
        return con

    def close(self) -> None:
        self._closed = True
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for con in [*readers, self._con]:
            if not con.closed:
                con.close()

    # -- primitives --------------------------------------------------------------------
    def _execute(self, sql: str) -> None:
        self._write_con().execute(sql)  # type: ignore[arg-type]

    def _read(self, run: Callable[[psycopg.Connection], T]) -> T:
        """`run` a read on this thread's reader; once more on a new connection if the
        server had dropped that one (a restart). Reads only: they are safe to repeat."""
        con = self._reader()
        try:
            return run(con)
        except psycopg.OperationalError:
            if con is self._con or not con.closed:
                raise
            return run(self._reader())

    def _scalar(self, sql: str) -> object:
        row = self._read(lambda con: con.execute(sql).fetchone())  # type: ignore[arg-type]
        return None if row is None else row[0]

    def _autocommit(self, sql: str) -> list[tuple]:
        # This thread's reader connection runs in autocommit, outside the writer's
        # transaction and its advisory lock.
        cursor = self._reader().execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []

    def _fetch(self, sql: str, schema: pa.Schema) -> pa.Table:
        def copy_out(con: psycopg.Connection) -> bytes:
            sink = io.BytesIO()
            with con.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:  # type: ignore[arg-type]
                for block in copy:
                    sink.write(block)
            return sink.getvalue()

        data = self._read(copy_out)
        read_types = {
            f.name: pa.int64() if pa.types.is_timestamp(f.type) else f.type for f in schema
        }
        if not data:
            return schema.empty_table()
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=schema.names),
            convert_options=pacsv.ConvertOptions(
                column_types=read_types, strings_can_be_null=True, quoted_strings_can_be_null=False
            ),
        )
        columns = []
        for field in schema:
            column = table.column(field.name)
            if pa.types.is_timestamp(field.type):
                column = column.cast(pa.timestamp("us", tz="UTC"))
            columns.append(column.cast(field.type))
        return pa.Table.from_arrays(columns, schema=schema)

    def _ts_out(self, column: str) -> str:
        return f"(extract(epoch FROM {column}) * 1000000)::bigint"

    def _put_relation(self, name: str, table: pa.Table) -> None:
        columns = ", ".join(f"{f.name} {_pg_type(f.type)}" for f in table.schema)
        self._con.execute(f"DROP TABLE IF EXISTS {name}")  # type: ignore[arg-type]
        self._con.execute(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")  # type: ignore[arg-type]
        self._copy_in(name, table)

    def _copy_in(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        columns = ", ".join(table.column_names)
        with self._con.cursor().copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy:  # type: ignore[arg-type]
            copy.write(_csv(table))

    def _drop_relation(self, name: str) -> None:
        self._con.execute(f"DROP TABLE IF EXISTS {name}")  # type: ignore[arg-type]

    def _insert_new_prices(self, stage: pa.Table, batch_id: int) -> None:
        # COPY straight into the partitioned table: the rows are new, so no staging needed.
        batch = pa.array(np.full(stage.num_rows, batch_id, dtype=np.int64))
        self._copy_in("prices", stage.append_column("batch_id", batch))

    def _before_merge(self, days: list[date]) -> None:
        for day in days:
            name = f"prices_p{day:%Y%m%d}"
            if name not in self._partitions:
                self._new_partitions.add(name)
                nxt = day + timedelta(days=1)
                self._con.execute(  # type: ignore[call-overload]
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF prices FOR VALUES "
                    f"FROM ('{day.isoformat()} 00:00:00+00') TO ('{nxt.isoformat()} 00:00:00+00')"
                )
                self._partitions.add(name)

    def _create_instruments(self, ids: list[InstrumentId]) -> dict[str, int]:
        # One statement for the lot: a first PJM day brings 13,000 new instruments.
        columns = [
            [str(i) for i in ids],
            [i.iso.value for i in ids],
            [i.market.value for i in ids],
            [i.product.value for i in ids],
            [i.location for i in ids],
        ]
        rows = self._con.execute(
            "INSERT INTO instruments (instrument, iso, market, product, location, created_at) "
            "SELECT u.*, %s FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::text[]) AS u RETURNING instrument, instrument_key",
            [now_utc(), *columns],
        ).fetchall()
        return {name: int(key) for name, key in rows}

    def _next_batch_id(self) -> int:
        row = self._con.execute("SELECT nextval('ingest_batch_id_seq')").fetchone()
        return int(row[0])  # type: ignore[index]

    def _begin(self) -> None:
        try:
            self._write_con().execute("BEGIN")
        except psycopg.OperationalError:
            if not self._con.closed:
                raise
            self._write_con().execute("BEGIN")  # it was dropped while idle: once more, anew
        self._in_tx = True
        self._con.execute(f"SELECT pg_advisory_xact_lock({_WRITER_LOCK})")  # type: ignore[call-overload]

    def _commit(self) -> None:
        self._con.execute("COMMIT")
        self._in_tx = False
        # A partitioned table is never auto-analyzed, and without statistics the planner
        # ignores the BRIN index: give each new day's partition its statistics now.
        for name in sorted(self._new_partitions):
            self._con.execute(f"ANALYZE {name}")  # type: ignore[call-overload]
        self._new_partitions.clear()

    def _rollback(self) -> None:
        if self._in_tx:
            self._in_tx = False
            if self._con.closed:  # the server dropped it: the transaction went with it
                self._partitions -= self._new_partitions
                self._new_partitions.clear()
                return
            self._con.execute("ROLLBACK")
            # Partitions created inside the rolled-back transaction are gone again.
            self._partitions = self._existing_partitions()
            self._new_partitions.clear()

    def _existing_partitions(self) -> set[str]:
        rows = self._con.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'prices'::regclass"
        ).fetchall()
        return {r[0] for r in rows}

    def migrate(self, target: int | None = None) -> list[int]:
        done = super().migrate(target)
        self._partitions = self._existing_partitions()
        return done

    def _literal(self, value: datetime) -> str:
        return f"TIMESTAMPTZ '{value.astimezone(UTC).isoformat(sep=' ')}'"

    def _bucket_15min(self, column: str) -> str:
        return f"date_bin('15 minutes', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"

    def _cluster_sql(self, alias: str) -> str:
        return f"{alias}.interval_start, {alias}.instrument_key"


def _redact(url: str) -> str:
    """The URL without its password, for logs and status output."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    if "password" in info:
        info["password"] = "***"
    return " ".join(f"{k}={v}" for k, v in info.items())
