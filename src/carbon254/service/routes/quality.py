"""`GET /api/v1/quality/completeness`: how complete each dataset is, per local market day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from ...connectors.dataset import Dataset
from ...connectors.registry import all_datasets
from ...core import Iso
from ...ingest.quality import TARGET, quality_report
from ..formats import ARROW_STREAM, JSON, TABULAR_MEDIA_TYPES, tabular_response
from ..negotiation import choose_media_type
from ..params import ParamErrors, parse_enum
from ..problems import Problem, ProblemModel
from ..state import StoreDep
from ._completeness import MAX_GAPS_LISTED, completeness_meta, completeness_table

__all__ = ["MAX_DAYS", "UNKNOWN_DATASET", "router"]

router = APIRouter(prefix="/api/v1", tags=["quality"])

MAX_DAYS = 92  # a quarter: the report reads every stored row of the period
DEFAULT_DAYS = 7
UNKNOWN_DATASET = "urn:carbon254:problem:unknown-dataset"
_FIRST_DAY, _LAST_DAY = date(1990, 1, 2), date(2099, 12, 30)  # the store's span, less a day

_EXAMPLE = {
    "start": "2024-11-03",
    "end": "2024-11-03",
    "target": TARGET,
    "passed": False,
    "generated_at": "2024-11-05T08:00:00Z",
    "component_violations": {"PJM": 0},
    "datasets": [
        {
            "dataset": "pjm.da_hrl_lmps",
            "iso": "PJM",
            "series": ["PJM.DA.LMP"],
            "status": "incomplete",
            "rows": 24,
            "expected_rows": 25,
            "completeness": 0.96,
            "gaps": [
                {
                    "instrument": "PJM.DA.LMP.51288",
                    "start": "2024-11-03T06:00:00Z",
                    "end": "2024-11-03T07:00:00Z",
                    "intervals": 1,
                }
            ],
            "gaps_not_listed": 0,
            "note": None,
        }
    ],
    "row_count": 1,
    "columns": {
        "dataset": ["pjm.da_hrl_lmps"],
        "iso": ["PJM"],
        "day": ["2024-11-03"],
        "expected_intervals": [25],
        "instruments": [1],
        "expected_rows": [25],
        "rows": [24],
        "missing_rows": [1],
        "completeness": [0.96],
        "missing_instruments": [[]],
        "gaps": [1],
        "iso_component_violations": [0],
        "provisional": [False],
    },
}

_DESCRIPTION = f"""\
Completeness of each price dataset per **local market day** (each dataset on its ISO's
clock): stored rows ÷ (expected intervals × expected instruments). Expected intervals
follow the market clock, so a spring-forward day expects 23 hours (276 five-minute
intervals) and a fall-back day 25 (300). Expected instruments are those the dataset
priced anywhere in the period, less those the location directory says were not in
effect that day.

One row per (dataset, day): `expected_intervals`, `instruments`, `expected_rows`, `rows`,
`missing_rows`, `completeness` (null when nothing is expected), `missing_instruments`
(up to 20 with no row at all that day), `gaps` (missing-interval ranges touching the
day), `iso_component_violations` (LMP rows of the ISO where value ≠ energy + congestion
+ loss, for LMP datasets) and `provisional` (true until a succeeded run of the dataset's
job has covered the whole day, so rows may still arrive or be restated; null when no
run of the dataset is recorded in the period, e.g. data loaded outside the jobs).

The JSON body adds, per dataset, its status (`ok`, `incomplete`, `no data`, `n/a`) and
gap ranges (up to {MAX_GAPS_LISTED}). With `Accept: {ARROW_STREAM}` the table comes as
an Arrow IPC stream and the same per-dataset summary as JSON in the schema metadata key
`carbon254`. At most {MAX_DAYS} days per request.
"""


def _day(text: str | None, param: str, errors: ParamErrors) -> date | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        errors.add(param, f"{param} {text!r} is not a date (YYYY-MM-DD)", value=text)
        return None
    if not _FIRST_DAY <= day <= _LAST_DAY:
        errors.add(param, f"{param} {day} is outside {_FIRST_DAY} .. {_LAST_DAY}", value=text)
        return None
    return day


def _days(start: str | None, end: str | None, errors: ParamErrors) -> tuple[date, date]:
    """The inclusive day range; either end defaults from the other (a week), both from
    yesterday (UTC)."""
    first, last = _day(start, "start", errors), _day(end, "end", errors)
    week = timedelta(days=DEFAULT_DAYS - 1)
    if first is None and last is None:
        last = datetime.now(UTC).date() - timedelta(days=1)
    if first is None:
        first = (last or _FIRST_DAY) - week
    if last is None:
        last = first + week
    first, last = max(first, _FIRST_DAY), min(last, _LAST_DAY)
    if last < first:
        errors.add("end", f"end ({last}) is before start ({first})")
    elif (last - first).days + 1 > MAX_DAYS:
        errors.add(
            "end",
            f"start..end spans {(last - first).days + 1} days; at most {MAX_DAYS} per request",
        )
    return first, last


def _datasets(names: list[str] | None, iso: Iso | None) -> list[Dataset]:
    """The named datasets (404 naming any unknown one), or all; then those of `iso`."""
    known = {d.name: d for d in all_datasets()}
    if names and any(n.strip(", ") for n in names):
        parts = (n.strip() for value in names for n in value.split(","))
        wanted = list(dict.fromkeys(n for n in parts if n))
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise Problem(
                404,
                f"unknown dataset(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                type=UNKNOWN_DATASET,
                datasets=unknown,
                known=sorted(known),
            )
        chosen = [known[n] for n in wanted]
    else:
        chosen = list(known.values())
    if iso is None:
        return chosen
    kept = [d for d in chosen if Iso(d.iso) is iso]
    if names and not kept:
        others = ", ".join(f"{d.name} ({d.iso})" for d in chosen)
        errors = ParamErrors()
        errors.add("iso", f"iso {iso.value}: no {iso.value} dataset among {others}")
        errors.raise_if_any()
    return kept


@router.get(
    "/quality/completeness",
    summary="Completeness per dataset and local market day",
    description=_DESCRIPTION,
    responses={
        200: {"content": {JSON: {"example": _EXAMPLE}, ARROW_STREAM: {}}},
        404: {"model": ProblemModel, "description": "an unknown dataset (the known ones listed)"},
        406: {"model": ProblemModel, "description": "no acceptable media type"},
        422: {"model": ProblemModel, "description": "invalid parameters"},
    },
)
def get_completeness(
    store: StoreDep,
    dataset: Annotated[
        list[str] | None,
        Query(
            description="Dataset names, comma-separated or repeated (e.g. `pjm.da_hrl_lmps`); "
            "default: every registered dataset."
        ),
    ] = None,
    iso: Annotated[
        str | None, Query(description="Keep the datasets of one ISO, e.g. `PJM`.")
    ] = None,
    start: Annotated[
        str | None,
        Query(description="First local market day, `YYYY-MM-DD` (default: a week before end)."),
    ] = None,
    end: Annotated[
        str | None,
        Query(description="Last local market day, inclusive (default: yesterday, UTC)."),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    errors = ParamErrors()
    iso_ = parse_enum(iso, Iso, "iso", errors)
    first, last = _days(start, end, errors)
    errors.raise_if_any()
    media_type = choose_media_type(accept, TABULAR_MEDIA_TYPES)
    chosen = _datasets(dataset, iso_)
    report = quality_report(store, chosen, first, last, required=bool(dataset))
    table = completeness_table(store, report, chosen)
    meta = completeness_meta(report)
    if media_type == ARROW_STREAM:
        table = table.replace_schema_metadata({"carbon254": orjson.dumps(meta)})
    return tabular_response(table, media_type, meta)
