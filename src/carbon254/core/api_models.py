"""Pydantic models of the API's metadata resources: what the server documents and the
SDK parses.

Time series never go through these models (they travel as Arrow or columnar JSON and
become frames); these describe catalogue rows, lineage, health and error bodies. Every
model accepts members it does not know (`extra="allow"`), so an SDK keeps working when
the server adds a field; times are tz-aware (the API sends UTC with `Z`). Enumerated
values (iso, market, product, status) are plain strings for the same reason: compare
them with `carbon254.Iso.PJM` and friends, which are `str` enums.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ApiModel",
    "Batch",
    "CompletenessDay",
    "CompletenessReport",
    "CurveInfo",
    "CurveMark",
    "DatasetCompleteness",
    "DatasetGap",
    "Health",
    "Instrument",
    "JobRun",
    "LatestPrice",
    "Location",
    "MarkUpload",
    "Problem",
    "ProblemError",
    "Readiness",
]


class ApiModel(BaseModel):
    """Base of the API models: immutable, tolerant of new members."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class ProblemError(ApiModel):
    """One bad parameter in a 422 problem's `errors`."""

    param: str | None = None
    in_: str | None = Field(default=None, alias="in")
    detail: str
    value: Any = None


class Problem(ApiModel):
    """An RFC 9457 problem body (`application/problem+json`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemError] = Field(default_factory=list)


class Instrument(ApiModel):
    """A priced series `ISO.MARKET.PRODUCT.LOCATION` and the span the store holds."""

    instrument: str
    iso: str
    market: str
    product: str
    location: str
    first_interval: AwareDatetime | None = None
    last_interval: AwareDatetime | None = None


class Location(ApiModel):
    """One version of a pricing location in the directory (effective to termination)."""

    iso: str
    location: str
    name: str | None = None
    location_type: str
    zone: str | None = None
    effective_date: date
    termination_date: date | None = None


class LatestPrice(ApiModel):
    """The most recent interval stored for an instrument."""

    instrument: str
    interval_start: AwareDatetime
    interval_end: AwareDatetime
    value: float
    energy: float | None = None
    congestion: float | None = None
    loss: float | None = None
    ghg: float | None = None


class Batch(ApiModel):
    """One ingest batch and its lineage: where the bytes came from and what they did."""

    batch_id: int
    source: str
    status: str
    fetched_at: AwareDatetime | None = None
    content_sha256: str | None = None
    rows_received: int | None = None
    rows_inserted: int | None = None
    rows_revised: int | None = None
    rows_unchanged: int | None = None
    instruments_created: int | None = None
    error: str | None = None
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    committed_at: AwareDatetime | None = None
    source_url: str | None = None


class JobRun(ApiModel):
    """One run of a scheduled ingestion job over its window."""

    run_id: int
    job: str
    dataset: str
    window_start: AwareDatetime
    window_end: AwareDatetime
    status: str
    attempts: int
    rows: int | None = None
    batch_id: int | None = None
    error: str | None = None
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None


class Health(ApiModel):
    """`GET /api/v1/health`: the service answers and its store is reachable and migrated."""

    status: str
    store: str | None = None
    schema_version: int | None = None


class Readiness(ApiModel):
    """`GET /ready`: may this process take traffic. `status` is `ready`, or `unavailable`
    with `detail` naming the dependency that failed (the server answered 503)."""

    status: str
    store: str | None = None
    cache: str | None = None
    backends: dict[str, str | None] = Field(default_factory=dict)
    detail: str | None = None

    @property
    def ready(self) -> bool:
        return self.status == "ready"


class CurveInfo(ApiModel):
    """A curve-able hub, or a curve holding marks (`GET /api/v1/curves`)."""

    instrument: str
    iso: str
    market: str
    product: str
    location: str
    name: str | None = None
    hub: bool
    first_interval: AwareDatetime | None = None
    last_interval: AwareDatetime | None = None
    marks: int = 0
    marks_committed_at: AwareDatetime | None = None


class CurveMark(ApiModel):
    """A mark held for a delivery month and peak type, and the upload (version) behind it."""

    month: date
    peak: Literal["on", "off"]
    price: float
    version: int
    source: str | None = None
    committed_at: AwareDatetime
    superseded_by: int | None = None
    superseded_at: AwareDatetime | None = None


class MarkUpload(ApiModel):
    """What an upload of marks did; an identical re-upload reports `changed=False`."""

    instrument: str
    version: int
    committed_at: AwareDatetime
    changed: bool
    source: str
    rows_received: int
    rows_inserted: int
    rows_superseded: int
    rows_unchanged: int


class CompletenessDay(ApiModel):
    """Completeness of one dataset on one local market day."""

    dataset: str
    iso: str
    day: date
    expected_intervals: int
    instruments: int
    expected_rows: int
    rows: int
    missing_rows: int
    completeness: float | None = None
    missing_instruments: list[str] = Field(default_factory=list)
    gaps: int = 0
    iso_component_violations: int | None = None
    provisional: bool | None = None


class DatasetGap(ApiModel):
    instrument: str
    start: AwareDatetime
    end: AwareDatetime
    intervals: int


class DatasetCompleteness(ApiModel):
    """One dataset over the whole period: status (`ok`, `incomplete`, `no data`, `n/a`)."""

    dataset: str
    iso: str
    series: list[str] = Field(default_factory=list)
    status: str
    rows: int | None = None
    expected_rows: int | None = None
    completeness: float | None = None
    gaps: list[DatasetGap] = Field(default_factory=list)
    gaps_not_listed: int = 0
    note: str | None = None


class CompletenessReport(ApiModel):
    """The period-wide part of a completeness report."""

    start: date
    end: date
    target: float
    passed: bool
    generated_at: AwareDatetime
    component_violations: dict[str, int] = Field(default_factory=dict)
    datasets: list[DatasetCompleteness] = Field(default_factory=list)
