"""`GET /api/v1/instruments`: the instrument catalogue, optionally filtered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from ...core import Iso, Market, Product
from ..formats import ARROW_STREAM, JSON, TABULAR_MEDIA_TYPES, tabular_response
from ..negotiation import choose_media_type
from ..params import ParamErrors, parse_enum
from ..problems import ProblemModel
from ..state import StoreDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["instruments"])


def _one_of(enum: type) -> str:
    return "Case-insensitive; one of " + ", ".join(f"`{m.value}`" for m in enum) + "."


@router.get(
    "/instruments",
    summary="Instrument catalogue",
    description=(
        "Every instrument the store holds (instrument, iso, market, product, location, "
        "first and last interval stored), as columnar JSON or, with "
        f"`Accept: {ARROW_STREAM}`, an Arrow IPC stream."
    ),
    responses={
        200: {"content": {JSON: {}, ARROW_STREAM: {}}},
        406: {"model": ProblemModel, "description": "no acceptable media type"},
        422: {"model": ProblemModel, "description": "invalid filter"},
    },
)
def get_instruments(
    store: StoreDep,
    iso: Annotated[str | None, Query(description=_one_of(Iso))] = None,
    market: Annotated[str | None, Query(description=_one_of(Market))] = None,
    product: Annotated[str | None, Query(description=_one_of(Product))] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    errors = ParamErrors()
    iso_ = parse_enum(iso, Iso, "iso", errors)
    market_ = parse_enum(market, Market, "market", errors)
    product_ = parse_enum(product, Product, "product", errors)
    errors.raise_if_any()
    media_type = choose_media_type(accept, TABULAR_MEDIA_TYPES)
    table = store.instruments(iso=iso_, market=market_, product=product_)
    meta = {"filters": {"iso": iso_, "market": market_, "product": product_}}
    return tabular_response(table, media_type, meta)
