"""Price writes: one batch in one transaction, merged chunk by chunk.

Lineage (batch ids in commit order, `committed_at`, failed batches) lives in `_lineage`;
here is what a price batch does to `prices` and `price_revisions`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import InstrumentId
from ._lineage import Batch, SqlLineage, check_lineage
from ._prepare import Chunk, ContentHasher, iter_tables, prepare_chunk, stage_table
from ._sql import CHANGED, P_PRICE_COLUMNS
from .base import BatchResult, DuplicateRowError, PriceData

_DAY_US = 86_400_000_000
_EPOCH = date(1970, 1, 1)


class SqlWrites(SqlLineage):
    def upsert_prices(
        self,
        data: PriceData,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
        source_url: str | None = None,
    ) -> BatchResult:
        lineage = check_lineage(source, fetched_at, content_sha256, source_url)
        with self._writing():
            self._begin()
            batch: Batch | None = None
            try:
                batch = self._open_batch(lineage)
                hasher = None if content_sha256 else ContentHasher()
                for table in iter_tables(data):
                    chunk = prepare_chunk(table)
                    if hasher is not None:
                        hasher.add(chunk.table)
                    batch.counts += self._merge_chunk(chunk, batch)
                sha = content_sha256 or hasher.hexdigest()  # type: ignore[union-attr]
                received, inserted, revised, unchanged = (int(x) for x in batch.counts)
                if not (inserted or revised):
                    earlier = self._committed_batch_with(sha)
                    if earlier is not None:
                        self._rollback()
                        return BatchResult(
                            None, source, sha, received, 0, 0, unchanged, 0, "duplicate", earlier
                        )
                status = "committed" if (inserted or revised) else "unchanged"
                self._record_batch(batch, sha, status, None)
                self._commit()
            except BaseException as exc:
                self._rollback()
                if batch is not None:
                    self._record_failure(batch, exc)
                raise
            # Only now, committed, may the instruments enter the cache.
            for name, key in (batch.seen | batch.created).items():
                self._keys[name] = key
                self._isos[key] = InstrumentId.parse(name).iso
            return BatchResult(
                batch.batch_id, source, sha, received, inserted, revised, unchanged,
                len(batch.created), status,
            )  # fmt: skip

    def _merge_chunk(self, chunk: Chunk, batch: Batch) -> np.ndarray:
        if chunk.num_rows == 0:
            return np.zeros(4, dtype=np.int64)
        keys = self._resolve_keys(chunk.names, batch)
        stage = stage_table(chunk, keys, type(self).cluster_order, self.stage_timestamp)
        starts = stage.column("interval_start")
        lo, hi = (x.as_py().replace(tzinfo=UTC) for x in pc.min_max(starts).values())
        kmin, kmax = (x.as_py() for x in pc.min_max(stage.column("instrument_key")).values())
        day_numbers = np.unique(starts.cast(pa.int64()).to_numpy() // _DAY_US)
        self._before_merge([_EPOCH + timedelta(days=int(d)) for d in day_numbers])
        where = (
            f"p.interval_start BETWEEN {self._literal(lo)} AND {self._literal(hi)} "
            f"AND p.instrument_key BETWEEN {kmin} AND {kmax}"
        )
        n = stage.num_rows
        probe = f"SELECT count(*) FROM (SELECT 1 FROM prices p WHERE {where} LIMIT 1) x"
        if not self._scalar(probe):
            self._insert_new_prices(stage, batch.batch_id)
            result = np.array([n, n, 0, 0], dtype=np.int64)
        else:
            result = self._merge_overlapping(stage, batch.batch_id, where)
        self._update_bounds(stage)
        return result

    def _merge_overlapping(self, stage: pa.Table, batch_id: int, where: str) -> np.ndarray:
        self._put_relation("_stage", stage)
        self._execute("DROP TABLE IF EXISTS _match")
        self._execute(
            "CREATE TEMP TABLE _match AS SELECT s.instrument_key, s.interval_start, "
            f"p.batch_id AS old_batch, ({CHANGED}) AS changed FROM _stage s JOIN prices p "
            "ON p.instrument_key = s.instrument_key AND p.interval_start = s.interval_start "
            f"WHERE {where}"
        )
        if self._scalar(f"SELECT count(*) FROM _match WHERE old_batch = {batch_id}"):
            raise DuplicateRowError(
                "the same (instrument, interval_start) appears in two chunks of one batch"
            )
        matched = int(self._scalar("SELECT count(*) FROM _match"))  # type: ignore[arg-type]
        revised = int(self._scalar("SELECT count(*) FROM _match WHERE changed"))  # type: ignore[arg-type]
        if revised:
            on = "m.instrument_key = p.instrument_key AND m.interval_start = p.interval_start"
            self._execute(
                f"INSERT INTO price_revisions SELECT {P_PRICE_COLUMNS}, p.batch_id, {batch_id} "
                f"FROM prices p JOIN _match m ON {on} WHERE m.changed AND {where}"
            )
            self._execute(
                "DELETE FROM prices p USING _match m WHERE m.changed "
                f"AND m.instrument_key = p.instrument_key AND m.interval_start = p.interval_start "
                f"AND {where}"
            )
        self._execute(
            f"INSERT INTO prices SELECT s.*, {batch_id} FROM _stage s "
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
        self._put_relation("_bounds", bounds.rename_columns(["k", "lo", "hi"]))
        self._execute(
            "UPDATE instruments SET "
            "first_interval = CASE WHEN first_interval IS NULL OR b.lo < first_interval "
            "THEN b.lo ELSE first_interval END, "
            "last_interval = CASE WHEN last_interval IS NULL OR b.hi > last_interval "
            "THEN b.hi ELSE last_interval END "
            "FROM _bounds b WHERE instruments.instrument_key = b.k "
            # rewrite only rows whose bounds move (fewer dead tuples in PostgreSQL)
            "AND (instruments.first_interval IS NULL OR b.lo < instruments.first_interval "
            "OR instruments.last_interval IS NULL OR b.hi > instruments.last_interval)"
        )
        self._drop_relation("_bounds")

    def _resolve_keys(self, names: list[str], batch: Batch) -> np.ndarray:
        """Store keys for `names`, creating unknown instruments inside the batch."""
        known = self._keys | batch.seen | batch.created
        missing = [name for name in names if name not in known]
        if missing:
            # Another process may have committed some of them since we last looked
            # (PostgreSQL). Look, but keep what we learn local until COMMIT.
            catalogue, _ = self._catalogue()
            for name in missing:
                if name in catalogue and name not in batch.created:
                    batch.seen[name] = catalogue[name]
            fresh = [InstrumentId.parse(n) for n in missing if n not in batch.seen]
            if fresh:
                batch.created.update(self._create_instruments(fresh))
            known = self._keys | batch.seen | batch.created
        return np.array([known[name] for name in names], dtype=np.int32)
