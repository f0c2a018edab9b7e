"""The store interface: one small surface, two backends (DuckDB embedded, PostgreSQL).

Prices hold the latest value per (instrument, interval_start); every superseded value
moves to the revisions table with when and by which batch it was replaced, so any past
state can be read back with `as_of`. Each call to `upsert_prices` is one batch: it
commits whole or leaves nothing behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Literal

import pyarrow as pa

from ..core import InstrumentId, Iso, LocationType, Market, Product
from .results import (
    ApiKey,
    BatchResult,
    DuplicateRowError,
    InvalidArgument,
    LocationResult,
    MarkResult,
    RecordResult,
    ResultTooLarge,
    StoreError,
    StoreStatus,
    UnknownInstrument,
)

__all__ = [
    "ApiKey",
    "BatchResult",
    "DuplicateRowError",
    "Freq",
    "How",
    "InvalidArgument",
    "JobStatus",
    "LocationResult",
    "MarkResult",
    "Peak",
    "PriceData",
    "PriceStore",
    "RecordResult",
    "ResultTooLarge",
    "StoreError",
    "StoreStatus",
    "UnknownInstrument",
]

Freq = Literal["5min", "15min", "hourly", "daily", "monthly"]
How = Literal["mean", "min", "max"]
Peak = Literal["on", "off"]
JobStatus = Literal["running", "succeeded", "failed", "skipped"]
PriceData = pa.Table | pa.RecordBatchReader | Iterable[pa.RecordBatch | pa.Table]
InstrumentsArg = Sequence[str | InstrumentId] | None


class PriceStore(ABC):
    """A time-series store of canonical prices with revision history and lineage."""

    backend: str

    # -- lifecycle -------------------------------------------------------------------
    @abstractmethod
    def migrate(self, target: int | None = None) -> list[int]:
        """Apply pending schema migrations (up to `target`, default all); return the
        versions applied now. A target is for upgrade tests and staged rollouts."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version the store is at (cheap: for health checks)."""

    @abstractmethod
    def latest_schema_version(self) -> int:
        """The schema version this code would migrate the store to."""

    @abstractmethod
    def check_schema(self) -> None:
        """Raise `StoreError` unless the store is at exactly `latest_schema_version()`."""

    @abstractmethod
    def status(self) -> StoreStatus:
        """Backend, location, schema versions and row counts (may scan: not for probes)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> PriceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ----------------------------------------------------------------------
    @abstractmethod
    def upsert_prices(
        self,
        data: PriceData,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
        source_url: str | None = None,
    ) -> BatchResult:
        """Write one batch of canonical prices (`PRICE_SCHEMA`) in one transaction.

        Identical rows are no-ops; a changed row moves the old one to revisions. A stream
        of record batches is merged chunk by chunk inside the same transaction, so an
        exception anywhere (in validation, in the store, or raised by the stream itself)
        leaves nothing of the batch behind. Re-ingesting content already stored (same
        sha256, nothing changed) writes nothing at all and returns `duplicate_of`.
        `source_url` (the URL or file the bytes came from) is kept in the batch lineage.
        """

    @abstractmethod
    def upsert_locations(self, table: pa.Table) -> LocationResult:
        """Upsert location directory rows (`LOCATION_SCHEMA`), keyed by
        (iso, location, effective_date). Rows are never deleted: a retired node gets a
        termination_date and keeps its history."""

    # -- reads -----------------------------------------------------------------------
    @abstractmethod
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
        """Prices with `start <= interval_start < end`, as `PRICE_SCHEMA`, ordered by
        instrument then time. `instruments=None` means all. With `as_of`, exactly what the
        store held at that instant: the batches committed by then (rows first stored later
        are absent; revised rows show their earlier value). More than `max_rows` rows
        raises `ResultTooLarge`. `peak` keeps only on- or off-peak intervals by each ISO's
        calendar (as `resample` does); `limit` returns only the first `limit` rows (for
        pages: the API reads a page, not the whole range)."""

    @abstractmethod
    def latest(self, instruments: InstrumentsArg = None) -> pa.Table:
        """The most recent interval of each instrument (`PRICE_SCHEMA`)."""

    @abstractmethod
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
        """Aggregate to `freq` buckets in each ISO's market clock (a daily bucket is the
        local market day: 23, 24 or 25 hours). `peak` keeps only on- or off-peak
        intervals by the ISO's calendar. Columns: instrument, interval_start,
        interval_end, value, count."""

    @abstractmethod
    def revisions(self, instruments: InstrumentsArg, start: datetime, end: datetime) -> pa.Table:
        """Superseded values: the batch that wrote each (batch_id, and its commit time as
        recorded_at) and the batch that replaced it (superseded_by, superseded_at)."""

    @abstractmethod
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
        """Instrument catalogue: instrument, iso, market, product, location, first and
        last interval stored. `location_type` keeps instruments whose location has a
        directory version of that type; `search` is a case-insensitive substring of the
        location id or of any directory name of the location; `instruments` restricts to
        those ids (unknown ones raise `UnknownInstrument`)."""

    @abstractmethod
    def locations(
        self,
        *,
        iso: Iso | None = None,
        on: date | None = None,
        location_type: LocationType | None = None,
        search: str | None = None,
    ) -> pa.Table:
        """Location directory (`LOCATION_SCHEMA`); with `on`, only versions in effect then.
        `location_type` and `search` (case-insensitive substring of the location id or
        name) filter versions."""

    @abstractmethod
    def batches(
        self, *, limit: int = 100, source: str | None = None, since: datetime | None = None
    ) -> pa.Table:
        """Ingest batches (`BATCH_SCHEMA`), newest first: id, source, fetched_at,
        content_sha256, counts, status, error, started_at, finished_at, committed_at,
        source_url. `source` keeps one source's batches; `since` those started at or
        after it."""

    # -- ISO records beside prices (binding constraints, resource telemetry) ------------
    @abstractmethod
    def upsert_constraints(
        self,
        table: pa.Table,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
        source_url: str | None = None,
    ) -> RecordResult:
        """Write binding constraints (`CONSTRAINT_SCHEMA`) as one batch in one transaction,
        keyed by (dataset, monitored_facility, contingency_facility, interval_start):
        new keys are inserted, changed rows take the new values (latest wins, no revision
        history), identical rows are untouched. Invalid input raises `SchemaError` before
        anything is written."""

    @abstractmethod
    def read_constraints(
        self,
        *,
        start: datetime,
        end: datetime,
        dataset: str | None = None,
        iso: Iso | str | None = None,
        monitored_facility: str | None = None,
    ) -> pa.Table:
        """Constraints with `start <= interval_start < end` (`CONSTRAINT_SCHEMA`), ordered
        by interval_start, monitored_facility, contingency_facility."""

    @abstractmethod
    def upsert_telemetry(
        self,
        table: pa.Table,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
        source_url: str | None = None,
    ) -> RecordResult:
        """Write resource telemetry (`TELEMETRY_SCHEMA`) keyed by (dataset, resource,
        interval_start), with the same batch semantics as `upsert_constraints`."""

    @abstractmethod
    def read_telemetry(
        self,
        *,
        start: datetime,
        end: datetime,
        iso: Iso | str | None = None,
        resources: Sequence[str] | None = None,
        dataset: str | None = None,
    ) -> pa.Table:
        """Telemetry with `start <= interval_start < end` (`TELEMETRY_SCHEMA`), ordered by
        interval_start, resource, dataset."""

    @abstractmethod
    def upsert_quantities(
        self,
        table: pa.Table,
        *,
        source: str,
        fetched_at: datetime | None = None,
        content_sha256: str | None = None,
        source_url: str | None = None,
    ) -> RecordResult:
        """Write market quantities (`QUANTITY_SCHEMA`) keyed by (dataset, series,
        interval_start), with the same batch semantics as `upsert_constraints`."""

    @abstractmethod
    def read_quantities(
        self,
        *,
        start: datetime,
        end: datetime,
        dataset: str | None = None,
        iso: Iso | str | None = None,
        series: Sequence[str] | None = None,
    ) -> pa.Table:
        """Quantities with `start <= interval_start < end` (`QUANTITY_SCHEMA`), ordered by
        interval_start, series, dataset."""

    # -- job runs (scheduled ingestion) ------------------------------------------------
    @abstractmethod
    def start_job_run(
        self, job: str, dataset: str, window_start: datetime, window_end: datetime
    ) -> int:
        """Record that `job` started on [window_start, window_end) and return its run id.
        Committed at once, outside any batch, so a run whose process dies stays visible
        as 'running' (see `abandon_running_jobs`)."""

    @abstractmethod
    def finish_job_run(
        self,
        run_id: int,
        *,
        status: JobStatus,
        attempts: int,
        rows: int | None = None,
        batch_id: int | None = None,
        error: str | None = None,
        window_end: datetime | None = None,
    ) -> None:
        """Close a run as 'succeeded', 'failed' or 'skipped' with what it did.
        `window_end` narrows the span the run is recorded to cover (it stored data only
        up to there), so it does not count as complete for that window."""

    @abstractmethod
    def job_runs(
        self,
        *,
        job: str | None = None,
        status: JobStatus | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> pa.Table:
        """Job runs (`JOB_RUN_SCHEMA`), newest first; `since` keeps runs started at or
        after it."""

    @abstractmethod
    def succeeded_windows(
        self, job: str, start: datetime, end: datetime, *, dataset: str | None = None
    ) -> list[tuple[datetime, datetime]]:
        """Distinct windows of `job`'s succeeded runs overlapping [start, end), ordered by
        start: what a resumed backfill can skip."""

    @abstractmethod
    def abandon_running_jobs(
        self, job: str | None = None, older_than: timedelta | None = None
    ) -> int:
        """Mark runs still 'running' (of `job`, started more than `older_than` ago) as
        failed with error "abandoned (process ended mid-run)"; return how many. For a
        scheduler starting up after a crash: those runs' processes are gone."""

    # -- data quality ------------------------------------------------------------------
    @abstractmethod
    def daily_counts(
        self,
        iso: Iso | str,
        market: Market | str,
        product: Product | str,
        start_day: date,
        end_day: date,
    ) -> pa.Table:
        """Stored (current) price rows per instrument per local market day, days
        [start_day, end_day] inclusive in the ISO's clock: columns instrument, day
        (date32), rows (int64). Every instrument of iso/market/product with a row in the
        range gets every day, 0 where it has none, so a missing day is a row, not a
        silence. A PJM hourly fall-back day counts 25."""

    @abstractmethod
    def component_violations(
        self, iso: Iso | str, start: datetime, end: datetime, tolerance: float = 0.01
    ) -> int:
        """Stored LMP rows in [start, end) whose value differs from energy + congestion +
        loss (+ ghg) by more than `tolerance` (plus float slack, as validation allows)."""

    @abstractmethod
    def last_interval(
        self, iso: Iso | str, market: Market | str, product: Product | str
    ) -> datetime | None:
        """The latest interval_start stored for iso/market/product (ingest lag), or None."""

    # -- API keys (service/auth) ---------------------------------------------------------
    @abstractmethod
    def create_api_key(
        self,
        key_id: str,
        name: str,
        secret_sha256: str,
        scopes: Sequence[str],
        *,
        expires_at: datetime | None = None,
        rate_limit_per_minute: int | None = None,
    ) -> ApiKey:
        """Store a new API key by its public id and the SHA-256 of the whole key (never the
        secret); `InvalidArgument` if the id is taken. Committed at once."""

    @abstractmethod
    def api_key(self, key_id: str) -> ApiKey | None:
        """The key with this id (revoked or expired ones too), or None: what a request's
        key is verified against."""

    @abstractmethod
    def api_keys(self) -> list[ApiKey]:
        """Every key, newest first."""

    @abstractmethod
    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke the key now (a second revoke keeps the first time); False if no such key."""

    @abstractmethod
    def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Record a use of the key (last_used_at). Callers throttle this: it is a write."""

    # -- forward-curve marks (service/curves) ------------------------------------------
    @abstractmethod
    def upsert_curve_marks(
        self, curve: str, marks: pa.Table, *, source: str, uploaded_by: str | None = None
    ) -> MarkResult:
        """Store one upload of marks for `curve` (an instrument id): columns month (date32,
        first of the month), peak ('on'/'off'), price (finite), no (month, peak) twice;
        anything else raises `InvalidArgument` before a write. A (month, peak) whose
        price differs from the current mark supersedes it (kept, with the version that
        replaced it); an upload that changes nothing writes nothing and returns the
        version already holding those marks."""

    @abstractmethod
    def read_curve_marks(
        self, curve: str, *, as_of: datetime | None = None, revisions: bool = False
    ) -> pa.Table:
        """The marks of `curve` held at `as_of` (default: now), by month then peak:
        curve, month, peak, price, version, source, committed_at, superseded_by,
        superseded_at. `revisions=True` adds every earlier mark held by then, with who
        superseded it."""

    @abstractmethod
    def curve_catalogue(self, instruments: Sequence[str] | None = None) -> pa.Table:
        """Instruments that can have curves (a directory version of their location is a
        HUB) and curves that have marks, by id: instrument, iso, market, product,
        location, name, hub, first_interval, last_interval, marks (current count),
        marks_committed_at. With `instruments`, those of them the store knows (hub or
        not: `hub` says) or holds marks for; others are absent."""
