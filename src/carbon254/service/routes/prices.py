"""`GET /api/v1/prices`: price series as columnar JSON or an Arrow IPC stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import Response

from ..formats import ARROW_STREAM, JSON, TABULAR_MEDIA_TYPES, iso_z, tabular_response
from ..negotiation import choose_media_type
from ..params import PriceQuery, price_query
from ..problems import ProblemModel
from ..state import StoreDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["prices"])

_COLUMNS = "instrument, interval_start, interval_end, value, energy, congestion, loss, ghg"
_EXAMPLE = {
    "instruments": ["PJM.DA.LMP.51288"],
    "start": "2024-11-03T04:00:00Z",
    "end": "2024-11-03T05:00:00Z",
    "as_of": None,
    "row_count": 1,
    "columns": {
        "instrument": ["PJM.DA.LMP.51288"],
        "interval_start": ["2024-11-03T04:00:00Z"],
        "interval_end": ["2024-11-03T05:00:00Z"],
        "value": [31.25],
        "energy": [30.0],
        "congestion": [1.0],
        "loss": [0.25],
        "ghg": [None],
    },
}


@router.get(
    "/prices",
    summary="Price series",
    description=(
        "Rows with `start <= interval_start < end`, ordered by instrument then time; the "
        "latest revision, or the values held at `as_of`. JSON is columnar (one array per "
        f"column: {_COLUMNS}; times are UTC ISO-8601 with `Z`). Send "
        f"`Accept: {ARROW_STREAM}` for an Arrow IPC stream of the same table."
    ),
    responses={
        200: {"content": {JSON: {"example": _EXAMPLE}, ARROW_STREAM: {}}},
        404: {"model": ProblemModel, "description": "an instrument the store has never seen"},
        406: {"model": ProblemModel, "description": "no acceptable media type"},
        422: {"model": ProblemModel, "description": "invalid parameters"},
    },
)
def get_prices(
    request: Request,
    store: StoreDep,
    query: Annotated[PriceQuery, Depends(price_query)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    media_type = choose_media_type(accept, TABULAR_MEDIA_TYPES)
    limits = request.app.state.limits
    table = store.read_prices(
        list(query.instruments), query.start, query.end, as_of=query.as_of,
        max_rows=limits.max_rows,
    )  # fmt: skip
    meta = {
        "instruments": list(query.instruments),
        "start": iso_z(query.start),
        "end": iso_z(query.end),
        "as_of": iso_z(query.as_of),
    }
    return tabular_response(table, media_type, meta)
