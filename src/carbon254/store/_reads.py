"""Reads: ranges, as_of, resampling in market clocks, catalogue, lineage, status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from ..core import Iso, Market, Product
from ..core.schema import (
    BATCH_SCHEMA,
    INSTRUMENT_SCHEMA,
    LOCATION_SCHEMA,
    PRICE_SCHEMA,
    RESAMPLE_SCHEMA,
)
from ._backend import _AGGREGATES, _FREQS, _PRICE_COLUMNS, UTC_TS, SqlBackend, _utc
from ._clock import local_bucket_bounds, local_time_sql, peak_sql
from .base import Freq, How, InstrumentsArg, Peak, StoreStatus


class SqlReads(SqlBackend):
    # -- reads -----------------------------------------------------------------------
    def _source(
        self, keys: Sequence[int] | None, start: datetime, end: datetime, as_of: datetime | None
    ) -> str:
        """A relation of price rows in range: the latest values, or those in force at as_of."""
        where = (
            f"{self._key_filter(keys)} AND p.interval_start >= {self._literal(start)} "
            f"AND p.interval_start < {self._literal(end)}"
        )
        if as_of is None:
            return f"(SELECT {_PRICE_COLUMNS} FROM prices p WHERE {where})"
        t = self._literal(_utc(as_of, "as_of"))
        return (
            f"(SELECT {_PRICE_COLUMNS} FROM prices p WHERE {where} AND p.recorded_at <= {t} "
            f"UNION ALL SELECT {_PRICE_COLUMNS} FROM price_revisions p WHERE {where} "
            f"AND p.recorded_at <= {t} AND p.superseded_at > {t})"
        )

    def _price_query(self, source: str, extra: str = "") -> str:
        ts = self._ts_out
        return (
            f"SELECT i.instrument, {ts('p.interval_start')} AS interval_start, "
            f"{ts('p.interval_end')} AS interval_end, p.value, p.energy, p.congestion, p.loss, "
            f"p.ghg FROM {source} p JOIN instruments i ON i.instrument_key = p.instrument_key "
            f"{extra} ORDER BY i.instrument, p.interval_start"
        )

    def read_prices(
        self,
        instruments: InstrumentsArg,
        start: datetime,
        end: datetime,
        *,
        as_of: datetime | None = None,
    ) -> pa.Table:
        start, end = _utc(start, "start"), _utc(end, "end")
        if start >= end:
            raise ValueError(f"start {start.isoformat()} must be before end {end.isoformat()}")
        keys = self._keys_for(instruments)
        return self._fetch(self._price_query(self._source(keys, start, end, as_of)), PRICE_SCHEMA)

    def latest(self, instruments: InstrumentsArg = None) -> pa.Table:
        keys = self._keys_for(instruments)
        since = self._scalar(
            f"SELECT min(p.last_interval) FROM instruments p WHERE {self._key_filter(keys)}"
        )
        if since is None:
            return PRICE_SCHEMA.empty_table()
        if isinstance(since, datetime) and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        source = (
            f"(SELECT {_PRICE_COLUMNS} FROM prices p WHERE {self._key_filter(keys)} "
            f"AND p.interval_start >= {self._literal(since)})"  # type: ignore[arg-type]
        )
        return self._fetch(
            self._price_query(source, "AND p.interval_start = i.last_interval"), PRICE_SCHEMA
        )

    def resample(
        self,
        instruments: InstrumentsArg,
        start: datetime,
        end: datetime,
        *,
        freq: Freq,
        how: How = "mean",
        peak: Peak | None = None,
        as_of: datetime | None = None,
    ) -> pa.Table:
        if freq not in _FREQS:
            raise ValueError(f"freq must be one of {', '.join(_FREQS)}; got {freq!r}")
        if how not in _AGGREGATES:
            raise ValueError(f"how must be one of {', '.join(_AGGREGATES)}; got {how!r}")
        if peak not in (None, "on", "off"):
            raise ValueError(f"peak must be 'on', 'off' or None; got {peak!r}")
        start, end = _utc(start, "start"), _utc(end, "end")
        if start >= end:
            raise ValueError(f"start {start.isoformat()} must be before end {end.isoformat()}")
        keys = self._keys_for(instruments)
        by_iso: dict[Iso, list[int] | None] = {}
        if keys is None:
            # Every instrument of each ISO: filter by ISO, not by a list of thousands of keys.
            by_iso = dict.fromkeys(sorted(set(self._isos.values())))
        else:
            for key in keys:
                by_iso.setdefault(self._isos[key], []).append(key)  # type: ignore[union-attr]
        parts = [
            self._resample_iso(iso, iso_keys, start, end, freq, how, peak, as_of)
            for iso, iso_keys in sorted(by_iso.items())
        ]
        if not parts:
            return RESAMPLE_SCHEMA.empty_table()
        result = pa.concat_tables(parts)
        return result.sort_by([("instrument", "ascending"), ("interval_start", "ascending")])

    def _resample_iso(
        self,
        iso: Iso,
        keys: list[int] | None,
        start: datetime,
        end: datetime,
        freq: Freq,
        how: How,
        peak: Peak | None,
        as_of: datetime | None,
    ) -> pa.Table:
        local = local_time_sql("p.interval_start", iso, start, end, self._literal)
        if freq == "15min":
            bucket, kind = self._ts_out(self._bucket_15min("p.interval_start")), UTC_TS
        elif freq == "hourly":
            bucket, kind = self._ts_out("date_trunc('hour', p.interval_start)"), UTC_TS
        elif freq == "daily":
            bucket, kind = f"CAST({local} AS DATE)", pa.date32()
        else:
            bucket, kind = f"CAST(date_trunc('month', {local}) AS DATE)", pa.date32()
        where = peak_sql(local, iso, start, end, peak == "on") if peak else "TRUE"
        if keys is None and len(set(self._isos.values())) > 1:
            where += (
                " AND p.instrument_key IN "
                f"(SELECT instrument_key FROM instruments WHERE iso = '{iso.value}')"
            )
        sql = (
            f"SELECT p.instrument_key AS instrument_key, {bucket} AS bucket, "
            f"{_AGGREGATES[how]}(p.value) AS value, count(*) AS count "
            f"FROM {self._source(keys, start, end, as_of)} p WHERE {where} GROUP BY 1, 2"
        )
        schema = pa.schema(
            [
                ("instrument_key", pa.int64()),
                ("bucket", kind),
                ("value", pa.float64()),
                ("count", pa.int64()),
            ]
        )
        raw = self._fetch(sql, schema)
        instrument = self._instrument_names(raw.column("instrument_key"))
        if kind == UTC_TS:
            step = timedelta(minutes=15) if freq == "15min" else timedelta(hours=1)
            lo = raw.column("bucket")
            hi = pc.add(lo, pa.scalar(step, pa.duration("us")))
        else:
            labels = raw.column("bucket")
            distinct = pc.unique(labels)
            bounds = [local_bucket_bounds(iso, d, freq) for d in distinct.to_pylist()]
            where_in = pc.index_in(labels, value_set=distinct)
            lo = pa.array([b[0] for b in bounds], UTC_TS).take(where_in)
            hi = pa.array([b[1] for b in bounds], UTC_TS).take(where_in)
        return pa.Table.from_arrays(
            [instrument, lo, hi, raw.column("value"), raw.column("count")], schema=RESAMPLE_SCHEMA
        )

    def revisions(self, instruments: InstrumentsArg, start: datetime, end: datetime) -> pa.Table:
        start, end = _utc(start, "start"), _utc(end, "end")
        keys = self._keys_for(instruments)
        ts = self._ts_out
        sql = (
            f"SELECT i.instrument, {ts('p.interval_start')} AS interval_start, "
            f"{ts('p.interval_end')} AS interval_end, p.value, p.energy, p.congestion, p.loss, "
            f"p.ghg, p.batch_id, {ts('p.recorded_at')} AS recorded_at, "
            f"{ts('p.superseded_at')} AS superseded_at, p.superseded_by "
            "FROM price_revisions p JOIN instruments i ON i.instrument_key = p.instrument_key "
            f"WHERE {self._key_filter(keys)} AND p.interval_start >= {self._literal(start)} "
            f"AND p.interval_start < {self._literal(end)} "
            "ORDER BY i.instrument, p.interval_start, p.superseded_at"
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
    ) -> pa.Table:
        where = ["TRUE"]
        for column, value, enum in (
            ("iso", iso, Iso),
            ("market", market, Market),
            ("product", product, Product),
        ):
            if value is not None:
                where.append(f"{column} = '{enum(value).value}'")
        ts = self._ts_out
        sql = (
            "SELECT instrument, iso, market, product, location, "
            f"{ts('first_interval')} AS first_interval, {ts('last_interval')} AS last_interval "
            f"FROM instruments WHERE {' AND '.join(where)} ORDER BY instrument"
        )
        return self._fetch(sql, INSTRUMENT_SCHEMA)

    def locations(self, *, iso: Iso | None = None, on: date | None = None) -> pa.Table:
        where = ["TRUE"]
        if iso is not None:
            where.append(f"iso = '{Iso(iso).value}'")
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

    def batches(self, *, limit: int = 100) -> pa.Table:
        ts = self._ts_out
        sql = (
            "SELECT batch_id, source, "
            f"{ts('fetched_at')} AS fetched_at, content_sha256, rows_received, rows_inserted, "
            "rows_revised, rows_unchanged, instruments_created, status, error, "
            f"{ts('started_at')} AS started_at, {ts('finished_at')} AS finished_at "
            f"FROM ingest_batches ORDER BY batch_id DESC LIMIT {int(limit)}"
        )
        return self._fetch(sql, BATCH_SCHEMA)

    def status(self) -> StoreStatus:
        counts = {
            table: int(self._scalar(f"SELECT count(*) FROM {table}"))  # type: ignore[arg-type]
            for table in ("instruments", "locations", "prices", "price_revisions", "ingest_batches")
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
