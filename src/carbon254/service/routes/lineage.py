"""`GET /api/v1/batches` and `GET /api/v1/jobs`: where stored data came from, and what
the ingestion jobs did.

Both read small bookkeeping tables (`ingest_batches`, `job_runs`), newest first,
bounded by `since` and `limit` (at most 1,000 rows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from ...core.schema import EARLIEST_INTERVAL, LATEST_INTERVAL
from ..formats import ARROW_STREAM, JSON, TABULAR_MEDIA_TYPES, iso_z, tabular_response
from ..negotiation import choose_media_type
from ..params import INSTANT_HELP, ParamErrors, parse_instant
from ..problems import ProblemModel
from ..state import StoreDep

__all__ = ["MAX_LIMIT", "check_limit", "check_name", "check_since", "router"]

router = APIRouter(prefix="/api/v1", tags=["lineage"])

MAX_LIMIT = 1000
_MAX_NAME = 200

_ERRORS = {
    406: {"model": ProblemModel, "description": "no acceptable media type"},
    422: {"model": ProblemModel, "description": "invalid parameters"},
}
_BATCH_EXAMPLE = {
    "filters": {"source": "pjm.da_hrl_lmps", "since": "2024-11-01T00:00:00Z"},
    "limit": 100,
    "row_count": 1,
    "columns": {
        "batch_id": [42],
        "source": ["pjm.da_hrl_lmps"],
        "fetched_at": ["2024-11-02T17:31:05Z"],
        "content_sha256": ["9f2c…(64 hex digits)"],
        "rows_received": [264],
        "rows_inserted": [264],
        "rows_revised": [0],
        "rows_unchanged": [0],
        "instruments_created": [0],
        "status": ["committed"],
        "error": [None],
        "started_at": ["2024-11-02T17:31:06Z"],
        "finished_at": ["2024-11-02T17:31:06Z"],
        "committed_at": ["2024-11-02T17:31:06Z"],
        "source_url": ["https://api.pjm.com/api/v1/da_hrl_lmps?… (+2 more)"],
    },
}
_JOB_EXAMPLE = {
    "filters": {"job": "pjm_da_ingestion", "status": "failed", "since": None},
    "limit": 100,
    "row_count": 1,
    "columns": {
        "run_id": [7],
        "job": ["pjm_da_ingestion"],
        "dataset": ["pjm.da_hrl_lmps"],
        "window_start": ["2024-11-03T04:00:00Z"],
        "window_end": ["2024-11-04T05:00:00Z"],
        "status": ["failed"],
        "attempts": [3],
        "rows": [None],
        "batch_id": [None],
        "error": ["pjm.da_hrl_lmps: HTTP 503 from api.pjm.com"],
        "started_at": ["2024-11-03T18:00:00Z"],
        "finished_at": ["2024-11-03T18:01:10Z"],
    },
}

Limit = Annotated[
    int,
    Query(
        description=f"Rows to return, newest first (1-{MAX_LIMIT}).",
        json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT},
    ),
]
Since = Annotated[
    str | None, Query(description=f"Keep what started at or after this instant. {INSTANT_HELP}")
]
Accept = Annotated[str | None, Header(include_in_schema=False)]


def check_name(text: str | None, param: str, errors: ParamErrors) -> str | None:
    """A free-text filter (a source or job name): trimmed, printable, not too long."""
    if text is None:
        return None
    value = text.strip()
    if not value or len(value) > _MAX_NAME or not value.isprintable():
        errors.add(
            param,
            f"{param} must be 1-{_MAX_NAME} printable characters, got {text[:_MAX_NAME]!r}",
            value=text[:_MAX_NAME],
        )
        return None
    return value


def check_limit(limit: int, errors: ParamErrors) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        # A problem body is JSON: an integer past 64 bits goes back as its text.
        value = limit if -(2**63) <= limit < 2**63 else str(limit)
        errors.add("limit", f"limit must be 1-{MAX_LIMIT}, got {limit}", value=value)


def check_since(text: str | None, errors: ParamErrors) -> datetime | None:
    """`since` as UTC, inside the span the store keeps (1990-2100)."""
    if text is None:
        return None
    since = parse_instant(text, "since", errors)
    if since is not None and not EARLIEST_INTERVAL <= since <= LATEST_INTERVAL:
        errors.add(
            "since",
            f"since {iso_z(since)} is outside {EARLIEST_INTERVAL.year}-{LATEST_INTERVAL.year}",
            value=text,
        )
        return None
    return since


@router.get(
    "/batches",
    summary="Ingest batches (lineage)",
    description=(
        "One row per store write, newest first: its `source` (the dataset name for "
        "ingested data), `source_url` (the first URL or file, `(+N more)` for paged "
        "feeds), the `content_sha256` of what was fetched, `fetched_at`, row counts "
        "(received, inserted, revised, unchanged), `status` and `committed_at` (the "
        "instant `as_of` queries compare with). Columnar JSON or, with "
        f"`Accept: {ARROW_STREAM}`, an Arrow IPC stream."
    ),
    responses={200: {"content": {JSON: {"example": _BATCH_EXAMPLE}, ARROW_STREAM: {}}}, **_ERRORS},
)
def get_batches(
    store: StoreDep,
    source: Annotated[
        str | None, Query(description="Keep one source's batches, e.g. `pjm.da_hrl_lmps`.")
    ] = None,
    since: Since = None,
    limit: Limit = 100,
    accept: Accept = None,
) -> Response:
    errors = ParamErrors()
    source_ = check_name(source, "source", errors)
    since_ = check_since(since, errors)
    check_limit(limit, errors)
    errors.raise_if_any()
    media_type = choose_media_type(accept, TABULAR_MEDIA_TYPES)
    table = store.batches(limit=limit, source=source_, since=since_)
    meta = {"filters": {"source": source_, "since": iso_z(since_)}, "limit": limit}
    return tabular_response(table, media_type, meta)


@router.get(
    "/jobs",
    summary="Ingestion job runs",
    description=(
        "One row per run of a scheduled job on one dataset and window, newest first: "
        "`window_start`/`window_end` (UTC; the end is narrowed to what the run could "
        "fetch completely), `status`, `attempts`, `rows`, the `batch_id` that holds its "
        "rows, `error`, `started_at`, `finished_at`. Columnar JSON or, with "
        f"`Accept: {ARROW_STREAM}`, an Arrow IPC stream."
    ),
    responses={200: {"content": {JSON: {"example": _JOB_EXAMPLE}, ARROW_STREAM: {}}}, **_ERRORS},
)
def get_jobs(
    store: StoreDep,
    job: Annotated[str | None, Query(description="Keep one job, e.g. `pjm_rt_ingestion`.")] = None,
    status: Annotated[
        Literal["running", "succeeded", "failed", "skipped"] | None,
        Query(description="Keep runs in this state."),
    ] = None,
    since: Since = None,
    limit: Limit = 100,
    accept: Accept = None,
) -> Response:
    errors = ParamErrors()
    job_ = check_name(job, "job", errors)
    since_ = check_since(since, errors)
    check_limit(limit, errors)
    errors.raise_if_any()
    media_type = choose_media_type(accept, TABULAR_MEDIA_TYPES)
    table = store.job_runs(job=job_, status=status, since=since_, limit=limit)
    meta = {"filters": {"job": job_, "status": status, "since": iso_z(since_)}, "limit": limit}
    return tabular_response(table, media_type, meta)
