"""`GET /api/v1/prices` (series: raw or bucketed, paged) and `GET /api/v1/prices/latest`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ...core import Iso, Market, Product
from ...core.schema import PRICE_SCHEMA, RESAMPLE_SCHEMA
from ..cursor import decode_cursor, encode_cursor, fingerprint
from ..formats import FORMATS, SERIES_MEDIA_TYPES, iso_z, tabular_response
from ..localtime import with_local_times
from ..negotiation import negotiate
from ..paging import SeriesSpec, read_page
from ..params import (
    ParamErrors,
    check_resample,
    parse_choice,
    parse_enum,
    parse_instruments,
    parse_limit,
    parse_zone,
    read_price_query,
    read_series_options,
)
from ..state import StoreDep
from ._tabular import (
    AcceptHeader,
    AggParam,
    AsOfParam,
    EndParam,
    FormatParam,
    PeakParam,
    ResampleParam,
    StartParam,
    TzParam,
    next_page_headers,
    one_of,
    tabular_responses,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["prices"])

_EXAMPLE = {
    "instruments": ["PJM.DA.LMP.51288"],
    "start": "2024-11-03T04:00:00Z",
    "end": "2024-11-03T06:00:00Z",
    "as_of": None,
    "resample": None,
    "agg": None,
    "peak": "all",
    "tz": "market",
    "limit": 1,
    "next_cursor": "eyJ2IjoxLCJpIjoiUEpNLkRBLkxNUC41MTI4OCIsInQiOjE3MzA2MDY0MDAwMDAwMDB9",
    "row_count": 1,
    "columns": {
        "instrument": ["PJM.DA.LMP.51288"],
        "interval_start": ["2024-11-03T04:00:00Z"],
        "interval_start_local": ["2024-11-03T00:00:00-04:00"],
        "interval_end": ["2024-11-03T05:00:00Z"],
        "interval_end_local": ["2024-11-03T01:00:00-04:00"],
        "value": [31.25],
        "energy": [30.0],
        "congestion": [1.0],
        "loss": [0.25],
        "ghg": [None],
    },
}
_NULLABLE_STRING = {"type": ["string", "null"]}
_PAGE_META = {"next_cursor": _NULLABLE_STRING, "limit": {"type": "integer"}}
InstrumentsParam = Annotated[
    list[str],
    Query(
        description="Instrument ids `ISO.MARKET.PRODUCT.LOCATION`, comma-separated (the "
        "parameter may also be repeated), e.g. `PJM.DA.LMP.51288,PJM.RT5.LMP.51288`."
    ),
]


@router.get(
    "/prices",
    summary="Price series (raw or bucketed), paged",
    description=(
        "Rows with `start <= interval_start < end`, ordered by instrument then time: the "
        "latest revision, or the values held at `as_of`. Raw rows have the columns "
        f"{', '.join(PRICE_SCHEMA.names)}; with `resample`, "
        f"{', '.join(RESAMPLE_SCHEMA.names)} (`count`: intervals in the bucket). Times are "
        "UTC (`Z`); `tz` adds local-time columns.\n\n"
        "Pages: at most `limit` rows per response. When more follow, the JSON body's "
        '`next_cursor`, the `X-Next-Cursor` header and `Link: <…>; rel="next"` give the '
        "next page: repeat the request with `cursor=` (keep every other parameter; "
        "`limit` and `format` may change). Pass `as_of` for a walk that is consistent "
        "while ingestion runs.\n\n"
        "Formats: JSON (columnar), CSV, Arrow IPC stream, Parquet; by `Accept` or `format=`."
    ),
    responses=tabular_responses(_EXAMPLE, paged=True, extra_properties=_PAGE_META),
)
def get_prices(
    request: Request,
    store: StoreDep,
    instruments: InstrumentsParam,
    start: StartParam,
    end: EndParam,
    as_of: AsOfParam = None,
    resample: ResampleParam = None,
    agg: AggParam = None,
    peak: PeakParam = None,
    tz: TzParam = None,
    limit: Annotated[
        int | None,
        Query(ge=1, description="Rows per page (default 100,000; at most the server's limit)."),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(description="`next_cursor` of the previous page; omit for the first page."),
    ] = None,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> Response:
    limits = request.app.state.limits
    errors = ParamErrors()
    query = read_price_query(instruments, start, end, as_of, limits, errors)
    options = read_series_options(resample, agg, peak, tz, errors)
    page_size = parse_limit(limit, limits, errors)
    parse_choice(format, tuple(FORMATS), "format", errors)
    if query is not None and options.resample is not None:
        check_resample(query.instruments, options.resample, errors)
    identity = ""
    position = None
    if query is not None:
        identity = fingerprint(
            {
                "instruments": sorted(query.instruments),
                "start": iso_z(query.start),
                "end": iso_z(query.end),
                "as_of": iso_z(query.as_of),
                "resample": options.resample,
                "agg": options.agg if options.resample else None,
                "peak": options.peak,
                "tz": options.tz,
            }
        )
        if cursor is not None:
            position = decode_cursor(cursor, identity, errors)
    errors.raise_if_any()
    assert query is not None
    media_type = negotiate(accept, format, SERIES_MEDIA_TYPES)
    spec = SeriesSpec(
        query.instruments,
        query.start,
        query.end,
        as_of=query.as_of,
        peak=options.peak,  # type: ignore[arg-type]
        resample=options.resample,
        agg=options.agg,
    )
    page = read_page(store, spec, limit=page_size, after=position)
    table = page.table
    if options.tz is not None:
        table = with_local_times(table, options.tz, query.instruments)
    next_cursor = encode_cursor(page.next, identity) if page.next is not None else None
    meta = {
        "instruments": list(query.instruments),
        "start": iso_z(query.start),
        "end": iso_z(query.end),
        "as_of": iso_z(query.as_of),
        "resample": options.resample,
        "agg": options.agg if options.resample else None,
        "peak": options.peak or "all",
        "tz": options.tz,
        "limit": page_size,
        "next_cursor": next_cursor,
    }
    headers = next_page_headers(request, next_cursor)
    return tabular_response(table, media_type, meta, headers=headers, filename="prices")


@router.get(
    "/prices/latest",
    summary="Latest stored interval per instrument",
    description=(
        "The most recent interval stored for each instrument: those named in "
        "`instruments`, or every instrument matching `iso`, `market` and `product` (all "
        f"instruments without filters). Columns: {', '.join(PRICE_SCHEMA.names)}."
    ),
    responses=tabular_responses(),
)
def get_latest(
    store: StoreDep,
    request: Request,
    instruments: Annotated[
        list[str] | None,
        Query(description="Instrument ids, comma-separated; default: every match."),
    ] = None,
    iso: Annotated[str | None, Query(description=f"ISO, {one_of(Iso)}.")] = None,
    market: Annotated[str | None, Query(description=f"Market, {one_of(Market)}.")] = None,
    product: Annotated[str | None, Query(description=f"Product, {one_of(Product)}.")] = None,
    tz: TzParam = None,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> Response:
    limits = request.app.state.limits
    errors = ParamErrors()
    ids = (
        parse_instruments(instruments, errors, limit=limits.max_instruments) if instruments else ()
    )
    iso_ = parse_enum(iso, Iso, "iso", errors)
    market_ = parse_enum(market, Market, "market", errors)
    product_ = parse_enum(product, Product, "product", errors)
    zone = parse_zone(tz, errors)
    parse_choice(format, tuple(FORMATS), "format", errors)
    errors.raise_if_any()
    media_type = negotiate(accept, format, SERIES_MEDIA_TYPES)
    if ids or iso_ or market_ or product_:
        catalogue = store.instruments(
            iso=iso_, market=market_, product=product_, instruments=list(ids) or None
        )
        names = catalogue.column("instrument").to_pylist()
        table = store.latest(names) if names else PRICE_SCHEMA.empty_table()
    else:  # everything: one scan, not a list of every key
        table = store.latest(None)
        names = table.column("instrument").to_pylist()
    if zone is not None:
        table = with_local_times(table, zone, names)
    meta = {
        "instruments": list(ids) or None,
        "filters": {"iso": iso_, "market": market_, "product": product_},
        "tz": zone,
    }
    return tabular_response(table, media_type, meta, filename="latest")
