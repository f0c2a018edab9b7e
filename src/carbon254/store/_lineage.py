"""Batch lineage shared by every kind of upsert (prices, constraints, telemetry).

Each upsert is one batch: a row of `ingest_batches` saying where the data came from
(source, source_url, fetched_at, content sha256), what it did (rows received, inserted,
revised, unchanged) and when it committed. Batch ids are allocated under the writer lock,
so they follow commit order, and `committed_at` is stamped as the last write before
COMMIT: that is what makes price `as_of` exact ("as of T" = `batch_id <= N`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from ._backend import SqlBackend
from ._sql import as_utc, now_utc

_SHA256 = re.compile(r"[0-9a-f]{64}")
_BATCH_COLUMNS = (
    "batch_id", "source", "fetched_at", "content_sha256", "rows_received", "rows_inserted",
    "rows_revised", "rows_unchanged", "instruments_created", "status", "error", "started_at",
    "finished_at", "committed_at", "source_url",
)  # fmt: skip


@dataclass(slots=True)
class Lineage:
    """Where a batch came from, checked before any transaction begins."""

    source: str
    fetched_at: datetime | None
    content_sha256: str | None
    source_url: str | None


def check_lineage(
    source: str,
    fetched_at: datetime | None,
    content_sha256: str | None,
    source_url: str | None,
) -> Lineage:
    if not source or not isinstance(source, str):
        raise ValueError("source is required: say where the batch came from")
    fetched = as_utc(fetched_at, "fetched_at") if fetched_at else None
    if content_sha256 is not None and not _SHA256.fullmatch(content_sha256):
        raise ValueError("content_sha256 must be 64 lowercase hex digits")
    if source_url is not None and (not isinstance(source_url, str) or not source_url):
        raise ValueError("source_url must be a non-empty string (or None)")
    return Lineage(source, fetched, content_sha256, source_url)


@dataclass(slots=True)
class Batch:
    """The running state of one upsert."""

    batch_id: int
    lineage: Lineage
    started_at: datetime
    counts: np.ndarray  # received, inserted, revised (updated), unchanged
    created: dict[str, int] = field(default_factory=dict)  # instruments created (uncommitted)
    seen: dict[str, int] = field(default_factory=dict)  # instruments committed by others

    @property
    def source(self) -> str:
        return self.lineage.source


class SqlLineage(SqlBackend):
    def _open_batch(self, lineage: Lineage) -> Batch:
        """A new batch; call inside the write transaction (the id follows commit order)."""
        return Batch(self._next_batch_id(), lineage, now_utc(), np.zeros(4, dtype=np.int64))

    def _committed_batch_with(self, sha: str) -> int | None:
        value = self._scalar(
            "SELECT max(batch_id) FROM ingest_batches "
            f"WHERE content_sha256 = '{sha}' AND status IN ('committed', 'unchanged')"
        )
        return None if value is None else int(value)  # type: ignore[arg-type]

    def _record_batch(self, batch: Batch, sha: str | None, status: str, error: str | None) -> None:
        finished = now_utc()
        committed = None
        if status != "failed":
            # Never earlier than the previous commit, whatever the wall clock did.
            last = self._scalar("SELECT max(committed_at) FROM ingest_batches")
            if isinstance(last, datetime):
                last = last.replace(tzinfo=UTC) if last.tzinfo is None else last
                committed = max(finished, last + timedelta(microseconds=1))
            else:
                committed = finished
        ts = self.stage_timestamp
        row = pa.table(
            {
                "batch_id": pa.array([batch.batch_id], pa.int64()),
                "source": [batch.source],
                "fetched_at": pa.array([batch.lineage.fetched_at], ts),
                "content_sha256": pa.array([sha], pa.string()),
                "rows_received": [int(batch.counts[0])],
                "rows_inserted": [int(batch.counts[1])],
                "rows_revised": [int(batch.counts[2])],
                "rows_unchanged": [int(batch.counts[3])],
                "instruments_created": pa.array([len(batch.created)], pa.int32()),
                "status": [status],
                "error": pa.array([error], pa.string()),
                "started_at": pa.array([batch.started_at], ts),
                "finished_at": pa.array([finished], ts),
                "committed_at": pa.array([committed], ts),
                "source_url": pa.array([batch.lineage.source_url], pa.string()),
            }
        )
        columns = ", ".join(_BATCH_COLUMNS)
        self._put_relation("_batch", row)
        self._execute(f"INSERT INTO ingest_batches ({columns}) SELECT {columns} FROM _batch")
        self._drop_relation("_batch")

    def _record_failure(self, batch: Batch, exc: BaseException) -> None:
        """Keep a lineage row saying the batch failed and why; its data is gone."""
        failed = Batch(
            batch.batch_id, batch.lineage, batch.started_at,
            np.array([batch.counts[0], 0, 0, 0], dtype=np.int64),
        )  # fmt: skip
        message = f"{type(exc).__name__}: {exc}"[:2000]
        try:
            self._begin()
            self._record_batch(failed, batch.lineage.content_sha256, "failed", message)
            self._commit()
        except Exception:
            self._rollback()
