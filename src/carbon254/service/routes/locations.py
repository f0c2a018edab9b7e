"""`GET /api/v1/locations`: the location directory, versioned by effective dates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from ...core import Iso, LocationType
from ...core.schema import LOCATION_SCHEMA
from ..formats import FORMATS, SERIES_MEDIA_TYPES, tabular_response
from ..negotiation import negotiate
from ..params import ParamErrors, parse_choice, parse_date, parse_enum
from ..state import StoreDep
from ._tabular import AcceptHeader, FormatParam, one_of, tabular_responses
from .instruments import MAX_SEARCH, check_search

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["instruments"])

_EXAMPLE = {
    "filters": {"iso": "PJM", "type": None, "name": "aldene", "on": None},
    "row_count": 2,
    "columns": {
        "iso": ["PJM", "PJM"],
        "location": ["51288", "51288"],
        "name": ["ALDENE 230 KV T-10", "ALDENE 230 KV T10"],
        "location_type": ["BUS", "BUS"],
        "zone": ["PSEG", "PSEG"],
        "effective_date": ["2015-01-01", "2020-06-01"],
        "termination_date": ["2020-06-01", None],
    },
}


@router.get(
    "/locations",
    summary="Location directory",
    description=(
        f"Directory versions ({', '.join(LOCATION_SCHEMA.names)}), ordered by iso, "
        "location and effective date. A version is in effect from `effective_date` "
        "(inclusive) to `termination_date` (exclusive; null: still in effect). Retired "
        "nodes are listed with every version, unless `on` asks for the versions in effect "
        "on one day. Formats: JSON (columnar), CSV, Arrow IPC, Parquet."
    ),
    responses=tabular_responses(_EXAMPLE, problems=(406, 422)),
)
def get_locations(
    store: StoreDep,
    iso: Annotated[str | None, Query(description=f"Case-insensitive; {one_of(Iso)}.")] = None,
    type: Annotated[
        str | None,
        Query(description=f"Location type, case-insensitive; {one_of(LocationType)}."),
    ] = None,
    name: Annotated[
        str | None,
        Query(
            description="Case-insensitive substring of the location id or name; at most "
            f"{MAX_SEARCH} characters."
        ),
    ] = None,
    on: Annotated[
        str | None,
        Query(description="Only the versions in effect on this day (`YYYY-MM-DD`)."),
    ] = None,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> Response:
    errors = ParamErrors()
    iso_ = parse_enum(iso, Iso, "iso", errors)
    type_ = parse_enum(type, LocationType, "type", errors)
    search = check_search(name, errors)
    day = parse_date(on, "on", errors)
    parse_choice(format, tuple(FORMATS), "format", errors)
    errors.raise_if_any()
    media_type = negotiate(accept, format, SERIES_MEDIA_TYPES)
    table = store.locations(iso=iso_, on=day, location_type=type_, search=search)
    filters = {"iso": iso_, "type": type_, "name": search, "on": day.isoformat() if day else None}
    return tabular_response(table, media_type, {"filters": filters}, filename="locations")
