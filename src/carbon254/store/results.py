"""What the store raises and returns: its errors and the results of its writes.

Kept apart from the interface (`base.PriceStore`) so the interface stays readable; both
are re-exported by `carbon254.store` and `carbon254.store.base`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "ApiKey",
    "BatchResult",
    "DuplicateRowError",
    "InvalidArgument",
    "LocationResult",
    "MarkResult",
    "RecordResult",
    "ResultTooLarge",
    "StoreError",
    "StoreStatus",
    "UnknownInstrument",
]


class StoreError(RuntimeError):
    """Base class of store failures that callers are expected to handle."""


class InvalidArgument(StoreError, ValueError):
    """An argument the store cannot act on (naive time, start >= end, as_of in the future…)."""


class ResultTooLarge(StoreError):
    """A read would return more rows than the caller allowed."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        super().__init__(f"the result has more than {max_rows:,} rows")


class DuplicateRowError(StoreError):
    """The same (instrument, interval_start) appears twice within one batch."""


class UnknownInstrument(StoreError, KeyError):
    """An instrument id that the store has never seen."""

    def __init__(self, instruments: Sequence[str]) -> None:
        self.instruments = list(instruments)
        super().__init__(f"unknown instrument(s): {', '.join(self.instruments)}")

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one upsert did. `duplicate_of` is set when identical content was already stored."""

    batch_id: int | None
    source: str
    content_sha256: str
    rows_received: int
    rows_inserted: int
    rows_revised: int
    rows_unchanged: int
    instruments_created: int
    status: str
    duplicate_of: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.rows_inserted or self.rows_revised)


@dataclass(frozen=True, slots=True)
class LocationResult:
    inserted: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What one upsert of keyed records (constraints, telemetry) did.

    `batch_id` is the lineage batch (`batches()`); None when nothing changed and the same
    content was already stored, in which case nothing at all was written.
    """

    inserted: int
    updated: int
    unchanged: int
    batch_id: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


@dataclass(frozen=True, slots=True)
class StoreStatus:
    backend: str
    location: str
    schema_version: int
    latest_schema_version: int
    counts: dict[str, int] = field(default_factory=dict)
    first_interval: datetime | None = None
    last_interval: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: its public id, what it may do, and only the hash of its secret."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    secret_sha256: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    rate_limit_per_minute: int | None = None
    """None: the service's default limit."""

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at `now`."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class MarkResult:
    """What one upload of curve marks did; `changed` False when it wrote nothing."""

    curve: str
    version: int  # the upload's version, or the one already holding identical marks
    committed_at: datetime
    rows_received: int
    rows_inserted: int
    rows_superseded: int
    rows_unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.rows_inserted or self.rows_superseded)
