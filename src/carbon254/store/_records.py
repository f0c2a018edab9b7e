"""Keyed ISO records beside prices: binding constraints, resource telemetry and market
quantities.

Unlike prices these keep no revision history: a corrected shadow price or base point
replaces the stored one ("latest wins"), and each row carries the `batch_id` that wrote
it, so lineage still says where every value came from. An upsert is one batch in one
transaction with the same lineage as a price batch (`_lineage`); input is validated in
full before the transaction begins, so invalid data writes nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import Iso
from ..core.records import (
    CONSTRAINT_KEY,
    CONSTRAINT_SCHEMA,
    QUANTITY_KEY,
    QUANTITY_SCHEMA,
    TELEMETRY_KEY,
    TELEMETRY_SCHEMA,
    validate_constraints,
    validate_quantities,
    validate_telemetry,
)
from ._lineage import Batch, Lineage, SqlLineage, check_lineage
from ._prepare import ContentHasher
from ._sql import enum_value, quote, utc_range
from .base import RecordResult


@dataclass(frozen=True, slots=True)
class RecordKind:
    """One keyed record table: its SQL name, canonical schema, key and read order."""

    table: str
    schema: pa.Schema
    key: tuple[str, ...]
    validate: Callable[[pa.Table], pa.Table]
    order: tuple[str, ...]

    @property
    def values(self) -> list[str]:
        return [name for name in self.schema.names if name not in self.key]


CONSTRAINTS = RecordKind(
    "binding_constraints",
    CONSTRAINT_SCHEMA,
    CONSTRAINT_KEY,
    validate_constraints,
    ("interval_start", "monitored_facility", "contingency_facility", "dataset"),
)
TELEMETRY = RecordKind(
    "resource_telemetry",
    TELEMETRY_SCHEMA,
    TELEMETRY_KEY,
    validate_telemetry,
    ("interval_start", "resource", "dataset"),
)
QUANTITIES = RecordKind(
    "market_quantities",
    QUANTITY_SCHEMA,
    QUANTITY_KEY,
    validate_quantities,
    ("interval_start", "series", "dataset"),
)


class SqlRecords(SqlLineage):
    def upsert_constraints(
        self,
        table: pa.Table,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
        source_url: str | None = None,
    ) -> RecordResult:
        lineage = check_lineage(source, fetched_at, content_sha256, source_url)
        return self._upsert_records(CONSTRAINTS, table, lineage)

    def upsert_telemetry(
        self,
        table: pa.Table,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
        source_url: str | None = None,
    ) -> RecordResult:
        lineage = check_lineage(source, fetched_at, content_sha256, source_url)
        return self._upsert_records(TELEMETRY, table, lineage)

    def upsert_quantities(
        self,
        table: pa.Table,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
        source_url: str | None = None,
    ) -> RecordResult:
        lineage = check_lineage(source, fetched_at, content_sha256, source_url)
        return self._upsert_records(QUANTITIES, table, lineage)

    def read_quantities(
        self,
        *,
        start: datetime,
        end: datetime,
        dataset: str | None = None,
        iso: Iso | str | None = None,
        series: Sequence[str] | None = None,
    ) -> pa.Table:
        where = []
        if dataset is not None:
            where.append(f"dataset = {quote(dataset, 'dataset')}")
        if iso is not None:
            where.append(f"iso = '{enum_value(Iso, iso, 'iso').value}'")
        if series is not None:
            if isinstance(series, str):
                raise TypeError("series must be a sequence of names, not one string")
            if not series:
                return QUANTITY_SCHEMA.empty_table()
            names = ", ".join(quote(x, "series") for x in sorted(set(series)))
            where.append(f"series IN ({names})")
        return self._read_records(QUANTITIES, start, end, where)

    def read_constraints(
        self,
        *,
        start: datetime,
        end: datetime,
        dataset: str | None = None,
        iso: Iso | str | None = None,
        monitored_facility: str | None = None,
    ) -> pa.Table:
        where = []
        if dataset is not None:
            where.append(f"dataset = {quote(dataset, 'dataset')}")
        if iso is not None:
            where.append(f"iso = '{enum_value(Iso, iso, 'iso').value}'")
        if monitored_facility is not None:
            where.append(f"monitored_facility = {quote(monitored_facility, 'monitored_facility')}")
        return self._read_records(CONSTRAINTS, start, end, where)

    def read_telemetry(
        self,
        *,
        start: datetime,
        end: datetime,
        iso: Iso | str | None = None,
        resources: Sequence[str] | None = None,
        dataset: str | None = None,
    ) -> pa.Table:
        where = []
        if iso is not None:
            where.append(f"iso = '{enum_value(Iso, iso, 'iso').value}'")
        if resources is not None:
            if isinstance(resources, str):
                raise TypeError("resources must be a sequence of names, not one string")
            if not resources:
                return TELEMETRY_SCHEMA.empty_table()
            names = ", ".join(quote(r, "resource") for r in sorted(set(resources)))
            where.append(f"resource IN ({names})")
        if dataset is not None:
            where.append(f"dataset = {quote(dataset, 'dataset')}")
        return self._read_records(TELEMETRY, start, end, where)

    # -- shared ------------------------------------------------------------------------
    def _read_records(
        self, kind: RecordKind, start: datetime, end: datetime, where: list[str]
    ) -> pa.Table:
        start, end = utc_range(start, end)
        columns = ", ".join(
            f"{self._ts_out(f.name)} AS {f.name}" if pa.types.is_timestamp(f.type) else f.name
            for f in kind.schema
        )
        conditions = [
            f"interval_start >= {self._literal(start)}",
            f"interval_start < {self._literal(end)}",
            *where,
        ]
        table = self._fetch(
            f"SELECT {columns} FROM {kind.table} WHERE {' AND '.join(conditions)}", kind.schema
        )
        # Sorted here, not in SQL: byte order of names, whatever the server's collation.
        return table.sort_by([(name, "ascending") for name in kind.order])

    def _upsert_records(self, kind: RecordKind, table: pa.Table, lineage: Lineage) -> RecordResult:
        if not isinstance(table, pa.Table):
            raise TypeError(f"expected a pyarrow Table, got {type(table).__name__}")
        table = kind.validate(table)  # raises before anything is written
        sha = lineage.content_sha256
        if sha is None:
            hasher = ContentHasher()
            hasher.add(table)
            sha = hasher.hexdigest()
        stage = self._stage_records(table)
        with self._writing():
            self._begin()
            batch: Batch | None = None
            try:
                batch = self._open_batch(lineage)
                batch.counts += self._merge_records(kind, stage, batch.batch_id)
                _, inserted, updated, unchanged = (int(x) for x in batch.counts)
                if not (inserted or updated) and self._committed_batch_with(sha) is not None:
                    self._rollback()  # the same content is stored: write nothing at all
                    return RecordResult(0, 0, unchanged, None)
                status = "committed" if (inserted or updated) else "unchanged"
                self._record_batch(batch, sha, status, None)
                self._commit()
            except BaseException as exc:
                self._rollback()
                if batch is not None:
                    self._record_failure(batch, exc)
                raise
        return RecordResult(inserted, updated, unchanged, batch.batch_id)

    def _stage_records(self, table: pa.Table) -> pa.Table:
        """Timestamps in the backend's staging type; rows in time order (how they are
        appended: it keeps DuckDB's row-group min/max and PostgreSQL's BRIN tight)."""
        table = table.sort_by([("interval_start", "ascending")])
        columns = []
        for column in table.columns:
            if pa.types.is_timestamp(column.type):
                column = column.cast(pa.int64()).cast(self.stage_timestamp)
            columns.append(column)
        return pa.table(columns, names=table.column_names)

    def _merge_records(self, kind: RecordKind, stage: pa.Table, batch_id: int) -> np.ndarray:
        """Insert new keys, update changed rows; return [received, inserted, updated,
        unchanged]."""
        n = stage.num_rows
        if n == 0:
            return np.zeros(4, dtype=np.int64)
        # staged times may be naive (DuckDB): they are UTC either way
        lo, hi = (
            x.as_py().replace(tzinfo=UTC)
            for x in pc.min_max(stage.column("interval_start")).values()
        )
        window = f"t.interval_start BETWEEN {self._literal(lo)} AND {self._literal(hi)}"
        on = " AND ".join(f"t.{k} = s.{k}" for k in kind.key) + f" AND {window}"
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in kind.values)
        names = ", ".join(kind.schema.names)
        self._put_relation("_rec", stage)
        matched = updated = 0
        probe = f"SELECT count(*) FROM (SELECT 1 FROM {kind.table} t WHERE {window} LIMIT 1) x"
        if self._scalar(probe):  # anything stored in the batch's time span at all?
            matched = int(self._scalar(f"SELECT count(*) FROM _rec s JOIN {kind.table} t ON {on}"))  # type: ignore[arg-type]
        if matched:
            updated = int(
                self._scalar(
                    f"SELECT count(*) FROM _rec s JOIN {kind.table} t ON {on} WHERE {differs}"
                )
            )  # type: ignore[arg-type]
        if updated:
            sets = ", ".join(f"{c} = s.{c}" for c in kind.values)
            self._execute(
                f"UPDATE {kind.table} AS t SET {sets}, batch_id = {batch_id} FROM _rec s "
                f"WHERE {on} AND ({differs})"
            )
        if matched:
            self._execute(
                f"INSERT INTO {kind.table} ({names}, batch_id) SELECT "
                f"{', '.join(f's.{c}' for c in kind.schema.names)}, {batch_id} FROM _rec s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {kind.table} t WHERE {on}) "
                "ORDER BY s.interval_start"
            )
        else:
            self._execute(
                f"INSERT INTO {kind.table} ({names}, batch_id) "
                f"SELECT {names}, {batch_id} FROM _rec ORDER BY interval_start"
            )
        self._drop_relation("_rec")
        return np.array([n, n - matched, updated, matched - updated], dtype=np.int64)
