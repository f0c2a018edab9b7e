"""What the store holds: revisions, the instrument catalogue, the location directory,
batch lineage and status."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from ..core import Iso, LocationType, Market, Product
from ..core.schema import (
    BATCH_SCHEMA,
    INSTRUMENT_SCHEMA,
    LOCATION_SCHEMA,
    PRICE_SCHEMA,
    UTC_TS,
)
from ._backend import SqlBackend
from ._sql import as_utc, enum_value, quote
from .base import InstrumentsArg, StoreStatus

_COUNTED = (
    "instruments", "locations", "prices", "price_revisions", "ingest_batches",
    "binding_constraints", "resource_telemetry", "market_quantities", "job_runs",
)  # fmt: skip


def _needle(search: str) -> str:
    """A search text as a lower-case SQL literal (strpos: no LIKE wildcards to escape)."""
    return quote(search.lower(), "search")


class SqlInventory(SqlBackend):
    def revisions(self, instruments: InstrumentsArg, start: datetime, end: datetime) -> pa.Table:
        start, end = as_utc(start, "start"), as_utc(end, "end")
        keys = self._keys_for(instruments)
        ts = self._ts_out
        sql = (
            f"SELECT i.instrument, {ts('p.interval_start')} AS interval_start, "
            f"{ts('p.interval_end')} AS interval_end, p.value, p.energy, p.congestion, p.loss, "
            f"p.ghg, p.batch_id, {ts('b.committed_at')} AS recorded_at, "
            f"{ts('s.committed_at')} AS superseded_at, p.superseded_by "
            "FROM price_revisions p JOIN instruments i ON i.instrument_key = p.instrument_key "
            "JOIN ingest_batches b ON b.batch_id = p.batch_id "
            "JOIN ingest_batches s ON s.batch_id = p.superseded_by "
            f"WHERE {self._key_filter(keys)} AND p.interval_start >= {self._literal(start)} "
            f"AND p.interval_start < {self._literal(end)} "
            "ORDER BY i.instrument, p.interval_start, p.superseded_by"
        )
        schema = pa.schema(
            [
                *list(PRICE_SCHEMA),
                pa.field("batch_id", pa.int64()),
                pa.field("recorded_at", UTC_TS),
                pa.field("superseded_at", UTC_TS),
                pa.field("superseded_by", pa.int64()),
            ]
        )
        return self._fetch(sql, schema)

    def instruments(
        self,
        *,
        iso: Iso | None = None,
        market: Market | None = None,
        product: Product | None = None,
        location_type: LocationType | None = None,
        search: str | None = None,
        instruments: InstrumentsArg = None,
    ) -> pa.Table:
        where = ["TRUE"]
        for column, value, enum in (
            ("iso", iso, Iso),
            ("market", market, Market),
            ("product", product, Product),
        ):
            if value is not None:
                where.append(f"{column} = '{enum(value).value}'")
        if instruments is not None:
            where.append(self._key_filter(self._keys_for(instruments), "instruments"))
        # A location's directory versions (any of them: a renamed or retyped node is
        # found by what it was called too). Joins to the directory are never required.
        versions = (
            "EXISTS (SELECT 1 FROM locations l WHERE l.iso = instruments.iso "
            "AND l.location = instruments.location AND {}"
        )
        if location_type is not None:
            kind = enum_value(LocationType, location_type, "location type")
            where.append(versions.format(f"l.location_type = '{kind.value}')"))
        if search is not None:
            text = _needle(search)
            where.append(
                f"(strpos(lower(location), {text}) > 0 OR "
                + versions.format(f"strpos(lower(l.name), {text}) > 0))")
            )
        ts = self._ts_out
        # Byte order of ids whatever the collation: GraphQL pages with `after` by it.
        sql = (
            "SELECT instrument, iso, market, product, location, "
            f"{ts('first_interval')} AS first_interval, {ts('last_interval')} AS last_interval "
            f'FROM instruments WHERE {" AND ".join(where)} ORDER BY instrument COLLATE "C"'
        )
        return self._fetch(sql, INSTRUMENT_SCHEMA)

    def locations(
        self,
        *,
        iso: Iso | None = None,
        on: date | None = None,
        location_type: LocationType | None = None,
        search: str | None = None,
    ) -> pa.Table:
        where = ["TRUE"]
        if iso is not None:
            where.append(f"iso = '{Iso(iso).value}'")
        if location_type is not None:
            kind = enum_value(LocationType, location_type, "location type")
            where.append(f"location_type = '{kind.value}'")
        if search is not None:
            text = _needle(search)
            where.append(
                f"(strpos(lower(location), {text}) > 0 OR strpos(lower(name), {text}) > 0)"
            )
        if on is not None:
            day = f"DATE '{on.isoformat()}'"
            where.append(
                f"effective_date <= {day} "
                f"AND (termination_date IS NULL OR termination_date > {day})"
            )
        sql = (
            "SELECT iso, location, name, location_type, zone, effective_date, termination_date "
            f"FROM locations WHERE {' AND '.join(where)} ORDER BY iso, location, effective_date"
        )
        return self._fetch(sql, LOCATION_SCHEMA)

    def batches(
        self, *, limit: int = 100, source: str | None = None, since: datetime | None = None
    ) -> pa.Table:
        where = ["TRUE"]
        if source is not None:
            where.append(f"source = {quote(source, 'source')}")
        if since is not None:
            where.append(f"started_at >= {self._literal(as_utc(since, 'since'))}")
        ts = self._ts_out
        sql = (
            "SELECT batch_id, source, "
            f"{ts('fetched_at')} AS fetched_at, content_sha256, rows_received, rows_inserted, "
            "rows_revised, rows_unchanged, instruments_created, status, error, "
            f"{ts('started_at')} AS started_at, {ts('finished_at')} AS finished_at, "
            f"{ts('committed_at')} AS committed_at, source_url FROM ingest_batches "
            f"WHERE {' AND '.join(where)} ORDER BY batch_id DESC LIMIT {int(limit)}"
        )
        return self._fetch(sql, BATCH_SCHEMA)

    def status(self) -> StoreStatus:
        counts = {
            table: int(self._scalar(f"SELECT count(*) FROM {table}"))  # type: ignore[arg-type]
            for table in _COUNTED
        }
        bounds = self._fetch(
            f"SELECT {self._ts_out('min(first_interval)')} AS lo, "
            f"{self._ts_out('max(last_interval)')} AS hi FROM instruments",
            pa.schema([("lo", UTC_TS), ("hi", UTC_TS)]),
        ).to_pylist()[0]
        return StoreStatus(
            backend=self.backend,
            location=self.location,
            schema_version=self.schema_version(),
            latest_schema_version=self.latest_schema_version(),
            counts=counts,
            first_interval=bounds["lo"],
            last_interval=bounds["hi"],
        )

    location: str
