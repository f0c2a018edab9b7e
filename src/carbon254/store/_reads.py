"""Price reads: ranges, `as_of`, the latest interval, resampling in market clocks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from ..core import Iso
from ..core.schema import PRICE_SCHEMA, RESAMPLE_SCHEMA, UTC_TS
from ._backend import SqlBackend
from ._clock import local_bucket_bounds, local_time_sql, peak_sql
from ._sql import AGGREGATES, FREQS, PRICE_COLUMNS, as_utc, now_utc, utc_range
from .base import Freq, How, InstrumentsArg, InvalidArgument, Peak, ResultTooLarge

_FREQS = ("5min", *FREQS)
_STEPS = {
    "5min": timedelta(minutes=5),
    "15min": timedelta(minutes=15),
    "hourly": timedelta(hours=1),
}


def _check_peak(peak: object) -> None:
    if peak not in (None, "on", "off"):
        raise InvalidArgument(f"peak must be 'on', 'off' or None; got {peak!r}")


def _bucket_5min(column: str) -> str:
    """The 5-minute bucket of a UTC instant, in SQL both DuckDB and PostgreSQL run."""
    return (
        f"(date_trunc('hour', {column}) + INTERVAL '5 minutes' * "
        f"CAST(floor(extract(minute FROM {column}) / 5) AS INTEGER))"
    )


class SqlReads(SqlBackend):
    def _range(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        return utc_range(start, end)

    def _horizon(self, as_of: datetime) -> int:
        """The last batch committed at or before `as_of`: "as of T" is batch_id <= N."""
        as_of = as_utc(as_of, "as_of")
        if as_of > now_utc():
            raise InvalidArgument(f"as_of {as_of.isoformat()} is in the future")
        value = self._scalar(
            "SELECT coalesce(max(batch_id), 0) FROM ingest_batches "
            f"WHERE committed_at IS NOT NULL AND committed_at <= {self._literal(as_of)}"
        )
        return int(value)  # type: ignore[arg-type]

    def _source(
        self, keys: Sequence[int] | None, start: datetime, end: datetime, as_of: datetime | None
    ) -> str:
        """A relation of price rows in range: the latest values, or those in force at as_of."""
        where = (
            f"{self._key_filter(keys)} AND p.interval_start >= {self._literal(start)} "
            f"AND p.interval_start < {self._literal(end)}"
        )
        if as_of is None:
            return f"(SELECT {PRICE_COLUMNS} FROM prices p WHERE {where})"
        n = self._horizon(as_of)
        return (
            f"(SELECT {PRICE_COLUMNS} FROM prices p WHERE {where} AND p.batch_id <= {n} "
            f"UNION ALL SELECT {PRICE_COLUMNS} FROM price_revisions p WHERE {where} "
            f"AND p.batch_id <= {n} AND p.superseded_by > {n})"
        )

    def _price_query(self, source: str, extra: str = "", limit: int | None = None) -> str:
        # Ids in byte order on both backends, whatever the PostgreSQL collation: page
        # walks and LIMIT cut in the order Python compares ids (DuckDB: a no-op).
        ts = self._ts_out
        return (
            f"SELECT i.instrument, {ts('p.interval_start')} AS interval_start, "
            f"{ts('p.interval_end')} AS interval_end, p.value, p.energy, p.congestion, p.loss, "
            f"p.ghg FROM {source} p JOIN instruments i ON i.instrument_key = p.instrument_key "
            f'{extra} ORDER BY i.instrument COLLATE "C", p.interval_start'
            + (f" LIMIT {int(limit)}" if limit is not None else "")
        )

    def read_prices(
        self,
        instruments: InstrumentsArg,
        start: datetime,
        end: datetime,
        *,
        as_of: datetime | None = None,
        max_rows: int | None = None,
        peak: Peak | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        _check_peak(peak)
        if limit is not None and limit < 0:
            raise InvalidArgument(f"limit must not be negative; got {limit}")
        start, end = self._range(start, end)
        keys = self._keys_for(instruments)
        source = self._source(keys, start, end, as_of)
        extra = f"AND {self._peak_filter(keys, start, end, peak)}" if peak else ""
        caps = [n for n in (limit, None if max_rows is None else max_rows + 1) if n is not None]
        sql = self._price_query(source, extra, limit=min(caps) if caps else None)
        table = self._fetch(sql, PRICE_SCHEMA)
        if max_rows is not None and table.num_rows > max_rows:
            raise ResultTooLarge(max_rows)
        return table

    def _peak_filter(
        self, keys: Sequence[int] | None, start: datetime, end: datetime, peak: Peak
    ) -> str:
        """On/off-peak predicate on `p.interval_start`, by each instrument's ISO clock."""
        isos = sorted(set(Iso) if keys is None else {self._isos[k] for k in keys})
        parts = []
        for iso in isos:
            local = local_time_sql("p.interval_start", iso, start, end, self._literal)
            parts.append(
                f"(i.iso = '{iso.value}' AND {peak_sql(local, iso, start, end, peak == 'on')})"
            )
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def latest(self, instruments: InstrumentsArg = None) -> pa.Table:
        keys = self._keys_for(instruments)
        # Most instruments share a handful of last intervals; matching those exact
        # instants lets both engines prune instead of scanning from the oldest one.
        lasts = self._fetch(
            f"SELECT DISTINCT {self._ts_out('p.last_interval')} AS t FROM instruments p "
            f"WHERE {self._key_filter(keys)} AND p.last_interval IS NOT NULL",
            pa.schema([("t", UTC_TS)]),
        )
        if lasts.num_rows == 0:
            return PRICE_SCHEMA.empty_table()
        instants = ", ".join(self._literal(t) for t in lasts.column("t").to_pylist())
        source = (
            f"(SELECT {PRICE_COLUMNS} FROM prices p WHERE {self._key_filter(keys)} "
            f"AND p.interval_start IN ({instants}))"
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
            raise InvalidArgument(f"freq must be one of {', '.join(_FREQS)}; got {freq!r}")
        if how not in AGGREGATES:
            raise InvalidArgument(f"how must be one of {', '.join(AGGREGATES)}; got {how!r}")
        _check_peak(peak)
        start, end = self._range(start, end)
        keys = self._keys_for(instruments)
        by_iso: dict[Iso, list[int] | None] = {}
        if keys is None:
            # Every instrument of each ISO: filter by ISO, not by a list of thousands of keys.
            isos = self._fetch(
                "SELECT DISTINCT iso FROM instruments", pa.schema([("iso", pa.string())])
            )
            by_iso = dict.fromkeys(sorted(Iso(i) for i in isos.column("iso").to_pylist()))
        else:
            for key in keys:
                by_iso.setdefault(self._isos[key], []).append(key)  # type: ignore[union-attr]
        parts = [
            self._resample_iso(iso, iso_keys, start, end, freq, how, peak, as_of, len(by_iso))
            for iso, iso_keys in by_iso.items()
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
        iso_count: int,
    ) -> pa.Table:
        local = local_time_sql("p.interval_start", iso, start, end, self._literal)
        if freq == "5min":
            bucket, kind = _bucket_5min("p.interval_start"), UTC_TS
        elif freq == "15min":
            bucket, kind = self._bucket_15min("p.interval_start"), UTC_TS
        elif freq == "hourly":
            bucket, kind = "date_trunc('hour', p.interval_start)", UTC_TS
        elif freq == "daily":
            bucket, kind = f"CAST({local} AS DATE)", pa.date32()
        else:
            bucket, kind = f"CAST(date_trunc('month', {local}) AS DATE)", pa.date32()
        where = peak_sql(local, iso, start, end, peak == "on") if peak else "TRUE"
        if keys is None and iso_count > 1:
            where += (
                " AND p.instrument_key IN "
                f"(SELECT instrument_key FROM instruments WHERE iso = '{iso.value}')"
            )
        bucket_out = self._ts_out("a.bucket") if kind == UTC_TS else "a.bucket"
        sql = (
            f"SELECT i.instrument, {bucket_out} AS bucket, a.value, a.count FROM "
            f"(SELECT p.instrument_key, {bucket} AS bucket, {AGGREGATES[how]}(p.value) AS value, "
            f"count(*) AS count FROM {self._source(keys, start, end, as_of)} p WHERE {where} "
            "GROUP BY 1, 2) a JOIN instruments i ON i.instrument_key = a.instrument_key"
        )
        schema = pa.schema(
            [
                ("instrument", pa.string()),
                ("bucket", kind),
                ("value", pa.float64()),
                ("count", pa.int64()),
            ]
        )
        raw = self._fetch(sql, schema)
        if kind == UTC_TS:
            step = _STEPS[freq]
            lo = raw.column("bucket")
            hi = pc.add(lo, pa.scalar(step, pa.duration("us")))
        else:
            labels = raw.column("bucket")
            distinct = pc.unique(labels)
            bounds = [local_bucket_bounds(iso, d, freq) for d in distinct.to_pylist()]
            position = pc.index_in(labels, value_set=distinct)
            lo = pa.array([b[0] for b in bounds], UTC_TS).take(position)
            hi = pa.array([b[1] for b in bounds], UTC_TS).take(position)
        return pa.Table.from_arrays(
            [raw.column("instrument"), lo, hi, raw.column("value"), raw.column("count")],
            schema=RESAMPLE_SCHEMA,
        )
