"""The part of the store both SQL backends share: batch orchestration and query building.

A backend supplies a handful of primitives (run SQL, fetch Arrow, put an Arrow table in
front of SQL as a relation, begin/commit/rollback, key allocation) and its physical
layout; everything with meaning — what a revision is, what `as_of` returns, how a day is
bucketed — lives here once.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import InstrumentId, Iso, Market, Product, validate_locations
from ..core.schema import LOCATION_SCHEMA, PRICE_SCHEMA
from ._clock import local_bucket_bounds, local_time_sql, peak_sql
from ._prepare import Chunk, ContentHasher, iter_tables, prepare_chunk, stage_table
from .base import (
    BatchResult,
    DuplicateRowError,
    Freq,
    How,
    InstrumentsArg,
    LocationResult,
    Peak,
    PriceData,
    PriceStore,
    StoreError,
    StoreStatus,
    UnknownInstrument,
)

UTC_TS = pa.timestamp("us", tz="UTC")
_VALUES = "value, energy, congestion, loss, ghg"
_PRICE_COLUMNS = f"instrument_key, interval_start, interval_end, {_VALUES}"
_P_PRICE_COLUMNS = ", ".join(f"p.{c}" for c in _PRICE_COLUMNS.split(", "))
_CHANGED = " OR ".join(
    f"p.{c} IS DISTINCT FROM s.{c}" for c in ("interval_end", *_VALUES.split(", "))
)
_AGGREGATES = {"mean": "avg", "min": "min", "max": "max"}
_FREQS = ("15min", "hourly", "daily", "monthly")
RESAMPLE_SCHEMA = pa.schema(
    [
        pa.field("instrument", pa.string(), nullable=False),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("interval_end", UTC_TS, nullable=False),
        pa.field("value", pa.float64()),
        pa.field("count", pa.int64(), nullable=False),
    ]
)


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class SqlStore(PriceStore):
    dialect: str
    stage_timestamp: pa.DataType
    cluster_order: Callable[[np.ndarray, np.ndarray], np.ndarray | None]

    def __init__(self) -> None:
        self._write_lock = threading.RLock()
        self._keys: dict[str, int] = {}
        self._isos: dict[int, Iso] = {}

    # -- primitives a backend provides ------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str) -> None:
        """Run SQL on the write connection (inside the current transaction)."""

    @abstractmethod
    def _scalar(self, sql: str) -> object: ...

    @abstractmethod
    def _fetch(self, sql: str, schema: pa.Schema) -> pa.Table:
        """Run a read query; return it as Arrow with `schema`'s names and types."""

    @abstractmethod
    def _put_relation(self, name: str, table: pa.Table) -> None:
        """Make `table` queryable as `name` inside the current transaction."""

    @abstractmethod
    def _drop_relation(self, name: str) -> None: ...

    @abstractmethod
    def _insert_new_prices(self, stage: pa.Table, batch_id: int, recorded_at: datetime) -> None:
        """Append staged rows that are known not to exist yet (the fast path)."""

    @abstractmethod
    def _create_instruments(self, ids: list[InstrumentId], now: datetime) -> dict[str, int]: ...

    @abstractmethod
    def _next_batch_id(self) -> int: ...

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None: ...

    @abstractmethod
    def _literal(self, value: datetime) -> str:
        """A UTC timestamp literal in this dialect."""

    @abstractmethod
    def _bucket_15min(self, column: str) -> str: ...

    def _before_merge(self, lo: datetime, hi: datetime) -> None:
        """Hook: e.g. create the partitions the batch will land in."""

    def _ts_out(self, column: str) -> str:
        """Hook: how a timestamp column leaves SQL on its way to `_fetch`."""
        return column

    # -- migrations ----------------------------------------------------------------------
    def _migrations(self) -> list[tuple[int, str, str]]:
        folder = resources.files("carbon254.store") / "migrations" / self.dialect
        found = []
        for entry in folder.iterdir():
            if entry.name.endswith(".sql"):
                version = int(entry.name.split("_", 1)[0])
                found.append((version, entry.name, entry.read_text()))
        return sorted(found)

    def _applied_versions(self) -> set[int]:
        self._execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        table = self._fetch(
            "SELECT version FROM schema_migrations", pa.schema([("version", pa.int64())])
        )
        return set(table.column("version").to_pylist())

    def migrate(self) -> list[int]:
        with self._write_lock:
            applied = self._applied_versions()
            done = []
            for version, name, script in self._migrations():
                if version in applied:
                    continue
                self._begin()
                try:
                    self._execute(script)
                    self._execute(
                        "INSERT INTO schema_migrations VALUES "
                        f"({version}, '{name}', {self._literal(_now())})"
                    )
                    self._commit()
                except BaseException:
                    self._rollback()
                    raise
                done.append(version)
            self._load_instrument_cache()
            return done

    def schema_version(self) -> int:
        return max(self._applied_versions(), default=0)

    def _check_schema(self) -> None:
        current = self.schema_version()
        latest = max((v for v, _, _ in self._migrations()), default=0)
        if current > latest:
            raise StoreError(
                f"store schema version {current} is newer than this carbon254 ({latest})"
            )
        if current < latest:
            raise StoreError(
                f"store schema version {current} is behind {latest}: run `carbon254 db init`"
            )

    def _load_instrument_cache(self) -> None:
        table = self._fetch(
            "SELECT instrument_key, instrument, iso FROM instruments",
            pa.schema([("instrument_key", pa.int64()), ("instrument", pa.string()), ("iso", pa.string())]),
        )
        rows = table.to_pydict()
        self._keys = dict(zip(rows["instrument"], rows["instrument_key"], strict=True))
        self._isos = {k: Iso(i) for k, i in zip(rows["instrument_key"], rows["iso"], strict=True)}

    # -- writes ----------------------------------------------------------------------
    def upsert_prices(
        self,
        data: PriceData,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
    ) -> BatchResult:
        if not source:
            raise ValueError("source is required: say where the batch came from")
        fetched = _utc(fetched_at, "fetched_at") if fetched_at else None
        with self._write_lock:
            started = _now()
            batch_id = self._next_batch_id()
            hasher = None if content_sha256 else ContentHasher()
            created: dict[str, int] = {}
            counts = np.zeros(4, dtype=np.int64)  # received, inserted, revised, unchanged
            self._begin()
            try:
                for table in iter_tables(data):
                    chunk = prepare_chunk(table)
                    if hasher is not None:
                        hasher.add(chunk.table)
                    counts += self._merge_chunk(chunk, batch_id, started, created)
                sha = content_sha256 or hasher.hexdigest()  # type: ignore[union-attr]
                received, inserted, revised, unchanged = (int(x) for x in counts)
                if not (inserted or revised):
                    earlier = self._committed_batch_with(sha)
                    if earlier is not None:
                        self._rollback()
                        return BatchResult(
                            None, source, sha, received, 0, 0, unchanged, 0, "duplicate", earlier
                        )
                status = "committed" if (inserted or revised) else "unchanged"
                self._record_batch(
                    batch_id, source, fetched, sha, counts, len(created), status, None, started
                )
                self._commit()
            except BaseException as exc:
                self._rollback()
                self._record_failure(batch_id, source, fetched, content_sha256, counts, exc, started)
                raise
            self._keys.update(created)
            for name, key in created.items():
                self._isos[key] = InstrumentId.parse(name).iso
            return BatchResult(
                batch_id, source, sha, received, inserted, revised, unchanged, len(created), status
            )

    def _merge_chunk(
        self, chunk: Chunk, batch_id: int, now: datetime, created: dict[str, int]
    ) -> np.ndarray:
        if chunk.num_rows == 0:
            return np.zeros(4, dtype=np.int64)
        keys = self._resolve_keys(chunk.names, created, now)
        stage = stage_table(chunk, keys, type(self).cluster_order, self.stage_timestamp)
        starts = stage.column("interval_start")
        lo, hi = (x.as_py().replace(tzinfo=UTC) for x in pc.min_max(starts).values())
        kmin, kmax = (x.as_py() for x in pc.min_max(stage.column("instrument_key")).values())
        self._before_merge(lo, hi)
        where = (
            f"p.interval_start BETWEEN {self._literal(lo)} AND {self._literal(hi)} "
            f"AND p.instrument_key BETWEEN {kmin} AND {kmax}"
        )
        n = stage.num_rows
        existing = self._scalar(f"SELECT count(*) FROM (SELECT 1 FROM prices p WHERE {where} LIMIT 1) x")
        if not existing:
            self._insert_new_prices(stage, batch_id, now)
            result = np.array([n, n, 0, 0], dtype=np.int64)
        else:
            result = self._merge_overlapping(stage, batch_id, now, where)
        self._update_bounds(stage)
        return result

    def _merge_overlapping(
        self, stage: pa.Table, batch_id: int, now: datetime, where: str
    ) -> np.ndarray:
        recorded = self._literal(now)
        self._put_relation("_stage", stage)
        self._execute("DROP TABLE IF EXISTS _match")
        self._execute(
            "CREATE TEMP TABLE _match AS SELECT s.instrument_key, s.interval_start, "
            f"p.batch_id AS old_batch, ({_CHANGED}) AS changed FROM _stage s JOIN prices p "
            "ON p.instrument_key = s.instrument_key AND p.interval_start = s.interval_start "
            f"WHERE {where}"
        )
        if self._scalar(f"SELECT count(*) FROM _match WHERE old_batch = {batch_id}"):
            raise DuplicateRowError(
                "the same (instrument, interval_start) appears in two chunks of one batch"
            )
        matched = int(self._scalar("SELECT count(*) FROM _match"))  # type: ignore[arg-type]
        revised = int(self._scalar("SELECT count(*) FROM _match WHERE changed"))  # type: ignore[arg-type]
        on = "m.instrument_key = p.instrument_key AND m.interval_start = p.interval_start"
        if revised:
            self._execute(
                f"INSERT INTO price_revisions SELECT {_P_PRICE_COLUMNS}, "
                f"p.batch_id, p.recorded_at, {recorded}, {batch_id} "
                f"FROM prices p JOIN _match m ON {on} WHERE m.changed AND {where}"
            )
            self._execute(
                "DELETE FROM prices USING _match m WHERE m.changed "
                "AND m.instrument_key = prices.instrument_key "
                "AND m.interval_start = prices.interval_start "
                f"AND {where.replace('p.', 'prices.')}"
            )
        self._execute(
            f"INSERT INTO prices SELECT s.*, {batch_id}, {recorded} FROM _stage s "
            "WHERE NOT EXISTS (SELECT 1 FROM _match m WHERE NOT m.changed "
            "AND m.instrument_key = s.instrument_key AND m.interval_start = s.interval_start) "
            f"ORDER BY {self._cluster_sql('s')}"
        )
        self._execute("DROP TABLE _match")
        self._drop_relation("_stage")
        n = stage.num_rows
        return np.array([n, n - matched, revised, matched - revised], dtype=np.int64)

    @abstractmethod
    def _cluster_sql(self, alias: str) -> str:
        """ORDER BY expression list giving the backend's physical order."""

    def _update_bounds(self, stage: pa.Table) -> None:
        bounds = stage.group_by("instrument_key").aggregate(
            [("interval_start", "min"), ("interval_start", "max")]
        )
        bounds = bounds.rename_columns(["k", "lo", "hi"])
        self._put_relation("_bounds", bounds)
        self._execute(
            "UPDATE instruments SET "
            "first_interval = CASE WHEN first_interval IS NULL OR b.lo < first_interval "
            "THEN b.lo ELSE first_interval END, "
            "last_interval = CASE WHEN last_interval IS NULL OR b.hi > last_interval "
            "THEN b.hi ELSE last_interval END "
            "FROM _bounds b WHERE instruments.instrument_key = b.k"
        )
        self._drop_relation("_bounds")

    def _resolve_keys(
        self, names: list[str], created: dict[str, int], now: datetime
    ) -> np.ndarray:
        keys = np.empty(len(names), dtype=np.int32)
        missing: list[tuple[int, str]] = []
        for i, name in enumerate(names):
            key = self._keys.get(name) or created.get(name)
            if key is None:
                missing.append((i, name))
            else:
                keys[i] = key
        if missing:
            # Another process may have created some since we last looked (PostgreSQL).
            self._load_instrument_cache()
            fresh = [name for _, name in missing if name not in self._keys]
            if fresh:
                created.update(
                    self._create_instruments([InstrumentId.parse(n) for n in fresh], now)
                )
            for i, name in missing:
                keys[i] = self._keys.get(name) or created[name]
        return keys

    def _committed_batch_with(self, sha: str) -> int | None:
        value = self._scalar(
            "SELECT max(batch_id) FROM ingest_batches "
            f"WHERE content_sha256 = '{sha}' AND status IN ('committed', 'unchanged')"
        )
        return None if value is None else int(value)  # type: ignore[arg-type]

    def _record_batch(
        self,
        batch_id: int,
        source: str,
        fetched_at: datetime | None,
        sha: str | None,
        counts: np.ndarray,
        created: int,
        status: str,
        error: str | None,
        started: datetime,
    ) -> None:
        row = pa.table(
            {
                "batch_id": pa.array([batch_id], pa.int64()),
                "source": [source],
                "fetched_at": pa.array([fetched_at], self.stage_timestamp),
                "content_sha256": pa.array([sha], pa.string()),
                "rows_received": [int(counts[0])],
                "rows_inserted": [int(counts[1])],
                "rows_revised": [int(counts[2])],
                "rows_unchanged": [int(counts[3])],
                "instruments_created": pa.array([created], pa.int32()),
                "status": [status],
                "error": pa.array([error], pa.string()),
                "started_at": pa.array([started], self.stage_timestamp),
                "finished_at": pa.array([_now()], self.stage_timestamp),
            }
        )
        self._put_relation("_batch", row)
        self._execute("INSERT INTO ingest_batches SELECT * FROM _batch")
        self._drop_relation("_batch")

    def _record_failure(
        self,
        batch_id: int,
        source: str,
        fetched_at: datetime | None,
        sha: str | None,
        counts: np.ndarray,
        exc: BaseException,
        started: datetime,
    ) -> None:
        """Keep a lineage row saying the batch failed and why; its data is gone."""
        error = f"{type(exc).__name__}: {exc}"[:2000]
        try:
            self._begin()
            received = np.array([counts[0], 0, 0, 0], dtype=np.int64)
            self._record_batch(
                batch_id, source, fetched_at, sha, received, 0, "failed", error, started
            )
            self._commit()
        except Exception:
            self._rollback()

    def upsert_locations(self, table: pa.Table) -> LocationResult:
        table = validate_locations(table)
        key = "l.iso = s.iso AND l.location = s.location AND l.effective_date = s.effective_date"
        differs = " OR ".join(
            f"l.{c} IS DISTINCT FROM s.{c}"
            for c in ("name", "location_type", "zone", "termination_date")
        )
        now = self._literal(_now())
        with self._write_lock:
            self._begin()
            try:
                self._put_relation("_loc", table)
                updated = int(self._scalar(f"SELECT count(*) FROM _loc s JOIN locations l ON {key} WHERE {differs}"))  # type: ignore[arg-type]
                existing = int(self._scalar(f"SELECT count(*) FROM _loc s JOIN locations l ON {key}"))  # type: ignore[arg-type]
                self._execute(
                    "UPDATE locations SET name = s.name, location_type = s.location_type, "
                    f"zone = s.zone, termination_date = s.termination_date, updated_at = {now} "
                    f"FROM _loc s WHERE {key.replace('l.', 'locations.')} "
                    f"AND ({differs.replace('l.', 'locations.')})"
                )
                self._execute(
                    "INSERT INTO locations SELECT s.iso, s.location, s.name, s.location_type, "
                    f"s.zone, s.effective_date, s.termination_date, {now} FROM _loc s "
                    f"WHERE NOT EXISTS (SELECT 1 FROM locations l WHERE {key})"
                )
                self._drop_relation("_loc")
                self._commit()
            except BaseException:
                self._rollback()
                raise
        return LocationResult(table.num_rows - existing, updated, existing - updated)

    # -- reads -----------------------------------------------------------------------
    def _keys_for(self, instruments: InstrumentsArg) -> list[int] | None:
        if instruments is None:
            return None
        ids = [str(InstrumentId.coerce(i)) for i in instruments]
        unknown = [i for i in ids if i not in self._keys]
        if unknown:
            self._load_instrument_cache()
            unknown = [i for i in ids if i not in self._keys]
            if unknown:
                raise UnknownInstrument(unknown)
        return sorted({self._keys[i] for i in ids})

    @staticmethod
    def _key_filter(keys: Sequence[int] | None, alias: str = "p") -> str:
        if keys is None:
            return "TRUE"
        if not keys:
            return "FALSE"
        if len(keys) == 1:
            return f"{alias}.instrument_key = {keys[0]}"
        return f"{alias}.instrument_key IN ({', '.join(map(str, keys))})"

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
        if keys is None:
            keys = sorted(self._isos)
        by_iso: dict[Iso, list[int]] = {}
        for key in keys:
            by_iso.setdefault(self._isos[key], []).append(key)
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
        keys: list[int],
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
        sql = (
            f"SELECT p.instrument_key AS instrument_key, {bucket} AS bucket, "
            f"{_AGGREGATES[how]}(p.value) AS value, count(*) AS count "
            f"FROM {self._source(keys, start, end, as_of)} p WHERE {where} GROUP BY 1, 2"
        )
        schema = pa.schema(
            [("instrument_key", pa.int64()), ("bucket", kind), ("value", pa.float64()), ("count", pa.int64())]
        )
        raw = self._fetch(sql, schema)
        names = {key: name for name, key in self._keys.items() if key in set(keys)}
        instrument = pa.array([names[k] for k in raw.column("instrument_key").to_pylist()], pa.string())
        if kind == UTC_TS:
            step = timedelta(minutes=15) if freq == "15min" else timedelta(hours=1)
            lo = raw.column("bucket")
            hi = pc.add(lo, pa.scalar(step, pa.duration("us")))
        else:
            labels = raw.column("bucket").to_pylist()
            bounds = {d: local_bucket_bounds(iso, d, freq) for d in set(labels)}
            lo = pa.array([bounds[d][0] for d in labels], UTC_TS)
            hi = pa.array([bounds[d][1] for d in labels], UTC_TS)
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
            list(PRICE_SCHEMA)
            + [
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
        for column, value, enum in (("iso", iso, Iso), ("market", market, Market), ("product", product, Product)):
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
                f"effective_date <= {day} AND (termination_date IS NULL OR termination_date > {day})"
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
            latest_schema_version=max((v for v, _, _ in self._migrations()), default=0),
            counts=counts,
            first_interval=bounds["lo"],
            last_interval=bounds["hi"],
        )

    location: str


INSTRUMENT_SCHEMA = pa.schema(
    [
        pa.field("instrument", pa.string(), nullable=False),
        pa.field("iso", pa.string(), nullable=False),
        pa.field("market", pa.string(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("first_interval", UTC_TS),
        pa.field("last_interval", UTC_TS),
    ]
)
BATCH_SCHEMA = pa.schema(
    [
        pa.field("batch_id", pa.int64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("fetched_at", UTC_TS),
        pa.field("content_sha256", pa.string()),
        pa.field("rows_received", pa.int64()),
        pa.field("rows_inserted", pa.int64()),
        pa.field("rows_revised", pa.int64()),
        pa.field("rows_unchanged", pa.int64()),
        pa.field("instruments_created", pa.int64()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("started_at", UTC_TS),
        pa.field("finished_at", UTC_TS),
    ]
)
