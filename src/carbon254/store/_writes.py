"""Writes: one batch in one transaction, merged chunk by chunk; and the location directory."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import InstrumentId, check_no_overlap, validate_locations
from ..core.schema import LOCATION_SCHEMA
from ._backend import _CHANGED, _P_PRICE_COLUMNS, SqlBackend, _now, _utc
from ._prepare import Chunk, ContentHasher, iter_tables, prepare_chunk, stage_table
from .base import BatchResult, DuplicateRowError, LocationResult, PriceData

_SHA256 = re.compile(r"[0-9a-f]{64}")


class SqlWrites(SqlBackend):
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
        if content_sha256 is not None and not _SHA256.fullmatch(content_sha256):
            raise ValueError("content_sha256 must be 64 lowercase hex digits")
        with self._writing():
            batch_id = self._next_batch_id()
            hasher = None if content_sha256 else ContentHasher()
            created: dict[str, int] = {}
            counts = np.zeros(4, dtype=np.int64)  # received, inserted, revised, unchanged
            self._begin()
            # Taken once this writer holds the lock, so batches' times follow commit order.
            started = _now()
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
                self._record_failure(
                    batch_id, source, fetched, content_sha256, counts, exc, started
                )
                raise
            self._keys.update(created)
            for name, key in created.items():
                self._isos[key] = InstrumentId.parse(name).iso
            if created:
                self._names_by_key = None
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
        existing = self._scalar(
            f"SELECT count(*) FROM (SELECT 1 FROM prices p WHERE {where} LIMIT 1) x"
        )
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

    def _resolve_keys(self, names: list[str], created: dict[str, int], now: datetime) -> np.ndarray:
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
        with self._writing():
            self._begin()
            try:
                self._put_relation("_loc", table)
                updated = int(
                    self._scalar(
                        f"SELECT count(*) FROM _loc s JOIN locations l ON {key} WHERE {differs}"
                    )
                )  # type: ignore[arg-type]
                existing = int(
                    self._scalar(f"SELECT count(*) FROM _loc s JOIN locations l ON {key}")
                )  # type: ignore[arg-type]
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
                # Versions already stored plus these must still not overlap.
                touched = self._fetch(
                    "SELECT l.iso, l.location, l.name, l.location_type, l.zone, "
                    "l.effective_date, l.termination_date FROM locations l WHERE EXISTS "
                    "(SELECT 1 FROM _loc s WHERE s.iso = l.iso AND s.location = l.location)",
                    LOCATION_SCHEMA,
                )
                check_no_overlap(touched)
                self._drop_relation("_loc")
                self._commit()
            except BaseException:
                self._rollback()
                raise
        return LocationResult(table.num_rows - existing, updated, existing - updated)
