"""`GET /api/v1/instruments`: the instrument catalogue, searched and filtered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from ...core import Iso, LocationType, Market, Product
from ...core.schema import INSTRUMENT_SCHEMA
from ..formats import FORMATS, SERIES_MEDIA_TYPES, tabular_response
from ..negotiation import negotiate
from ..params import ParamErrors, parse_choice, parse_enum
from ..state import StoreDep
from ._tabular import AcceptHeader, FormatParam, one_of, tabular_responses

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["instruments"])

_EXAMPLE = {
    "filters": {
        "iso": "PJM",
        "market": "DA",
        "product": "LMP",
        "location_type": "HUB",
        "name": "western",
    },
    "row_count": 1,
    "columns": {
        "instrument": ["PJM.DA.LMP.51288"],
        "iso": ["PJM"],
        "market": ["DA"],
        "product": ["LMP"],
        "location": ["51288"],
        "first_interval": ["2020-01-01T05:00:00Z"],
        "last_interval": ["2025-11-30T04:00:00Z"],
    },
}
MAX_SEARCH = 200


@router.get(
    "/instruments",
    summary="Instrument catalogue and search",
    description=(
        f"Every instrument the store holds ({', '.join(INSTRUMENT_SCHEMA.names)}), "
        "optionally filtered. `location_type` and `name` look the location up in the "
        "location directory (any of its versions, so a renamed or retired node is still "
        "found); an instrument whose location the directory does not know matches `name` "
        "on its location id only. Formats: JSON (columnar), CSV, Arrow IPC, Parquet."
    ),
    responses=tabular_responses(_EXAMPLE, problems=(406, 422)),
)
def get_instruments(
    store: StoreDep,
    iso: Annotated[str | None, Query(description=f"Case-insensitive; {one_of(Iso)}.")] = None,
    market: Annotated[str | None, Query(description=f"Case-insensitive; {one_of(Market)}.")] = None,
    product: Annotated[
        str | None, Query(description=f"Case-insensitive; {one_of(Product)}.")
    ] = None,
    location_type: Annotated[
        str | None, Query(description=f"Case-insensitive; {one_of(LocationType)}.")
    ] = None,
    name: Annotated[
        str | None,
        Query(
            description="Case-insensitive substring of the location id or of its directory "
            f"name (e.g. `western`, `hb_`); at most {MAX_SEARCH} characters."
        ),
    ] = None,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> Response:
    errors = ParamErrors()
    iso_ = parse_enum(iso, Iso, "iso", errors)
    market_ = parse_enum(market, Market, "market", errors)
    product_ = parse_enum(product, Product, "product", errors)
    type_ = parse_enum(location_type, LocationType, "location_type", errors)
    search = check_search(name, errors)
    parse_choice(format, tuple(FORMATS), "format", errors)
    errors.raise_if_any()
    media_type = negotiate(accept, format, SERIES_MEDIA_TYPES)
    table = store.instruments(
        iso=iso_, market=market_, product=product_, location_type=type_, search=search
    )
    filters = {
        "iso": iso_,
        "market": market_,
        "product": product_,
        "location_type": type_,
        "name": search,
    }
    return tabular_response(table, media_type, {"filters": filters}, filename="instruments")


def check_search(text: str | None, errors: ParamErrors, param: str = "name") -> str | None:
    """A search text: stripped, non-empty, printable and of sane length."""
    if text is None:
        return None
    value = text.strip()
    if not value:
        errors.add(param, f"{param} must not be empty")
    elif len(value) > MAX_SEARCH:
        errors.add(param, f"{param} is longer than {MAX_SEARCH} characters")
    elif not value.isprintable():
        errors.add(param, f"{param} contains control characters", value=text)
    else:
        return value
    return None
