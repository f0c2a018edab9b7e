"""Every API operation as a `Call` or `Paged`: paths, parameter names and result types in
one place, used by both `Client` and `AsyncClient`.

Parameter names follow the server's query parameters exactly (see
`src/carbon254/service/routes/`); the SDK only adds `page_size` (the server's `limit`
on paginated series) and `wire`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pyarrow as pa
from pydantic import BaseModel

from ..core import PRICE_SCHEMA, RESAMPLE_SCHEMA, Iso
from ..core.api_models import (
    Batch,
    CompletenessDay,
    CurveInfo,
    CurveMark,
    Health,
    Instrument,
    JobRun,
    LatestPrice,
    Location,
    MarkUpload,
    Readiness,
)
from ..core.schema import BATCH_SCHEMA, INSTRUMENT_SCHEMA, LOCATION_SCHEMA
from ._core import Call, Instant, Paged, instant, instrument_list, query
from ._marks import mark_rows, month
from ._wire import ARROW_STREAM, Page, loads, media_type, read_page
from .errors import GraphQLError
from .frames import Completeness, CurveFrame, Frame, PriceFrame, Rows, concat

__all__ = [
    "batches",
    "completeness",
    "curve",
    "curves",
    "graphql",
    "health",
    "instruments",
    "jobs",
    "latest",
    "locations",
    "marks",
    "prices",
    "ready",
    "spreads",
    "upload_marks",
]

M = TypeVar("M", bound=BaseModel)


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    def parse(response: httpx.Response) -> M:
        return model.model_validate(loads(response.content))

    return parse


def _page(schema: pa.Schema | None = None) -> Callable[[httpx.Response], Page]:
    return lambda response: read_page(response, schema)


LOCAL_COLUMNS = frozenset({"interval_start_local", "interval_end_local"})
MARKET_TZ = "market"


def _zones(tz: str, instruments: Iterable[str]) -> list[str]:
    if tz != MARKET_TZ:
        return [tz]
    try:
        return sorted({Iso(str(i).split(".", 1)[0]).tz_name for i in instruments})
    except ValueError:  # an ISO this SDK does not know yet: leave the strings
        return []


def _localize(page: Page) -> Page:
    """JSON local-time columns typed as the Arrow wire types them: timestamps in the one
    zone when the request has one clock, strings with offsets when it spans several."""
    table, tz = page.table, page.meta.get("tz")
    present = [n for n in table.column_names if n in LOCAL_COLUMNS]
    if not tz or not present:
        return page
    named = page.meta.get("instruments") or ([page.meta["hub"]] if page.meta.get("hub") else [])
    if not named and "instrument" in table.column_names:
        named = table.column("instrument").unique().to_pylist()
    zones = _zones(str(tz), named or [])
    if len(zones) == 1:
        for name in present:
            local = table.column(name).cast(pa.timestamp("us", tz=zones[0]))
            table = table.set_column(table.column_names.index(name), name, local)
    return Page(table, page.meta, page.next_cursor, page.next_url)


def _series_page(schema: pa.Schema) -> Callable[[httpx.Response], Page]:
    def parse(response: httpx.Response) -> Page:
        page = read_page(response, schema, LOCAL_COLUMNS)
        return _localize(page) if media_type(response) != ARROW_STREAM else page

    return parse


def _meta(pages: Sequence[Page]) -> dict[str, Any]:
    meta = dict(pages[0].meta) if pages else {}
    meta.pop("next_cursor", None)
    if "row_count" in meta:
        meta["row_count"] = sum(p.table.num_rows for p in pages)
    return meta


def _rows(model: type[M]) -> Callable[[Sequence[Page]], Rows[M]]:
    def build(pages: Sequence[Page]) -> Rows[M]:
        return Rows(concat([p.table for p in pages]), model, _meta(pages), pages=len(pages))

    return build


def _frame(cls: type[Frame]) -> Callable[[Sequence[Page]], Any]:
    def build(pages: Sequence[Page]) -> Any:
        return cls(concat([p.table for p in pages]), _meta(pages), pages=len(pages))

    return build


def _prices_frame(request: dict[str, Any]) -> Callable[[Sequence[Page]], PriceFrame]:
    def build(pages: Sequence[Page]) -> PriceFrame:
        table = concat([p.table for p in pages])
        return PriceFrame(table, _meta(pages), pages=len(pages), request=request)

    return build


# -- probes ----------------------------------------------------------------------------
def health() -> Call[Health]:
    return Call("GET", "/api/v1/health", _model(Health))


def _readiness(response: httpx.Response) -> Readiness:
    body = loads(response.content)
    if response.status_code != 200 and isinstance(body, dict):
        body = {**body, "status": "unavailable"}
    return Readiness.model_validate(body)


def ready() -> Call[Readiness]:
    return Call("GET", "/ready", _readiness, ok=frozenset({503}), retry=False)


# -- catalogue ---------------------------------------------------------------------------
def instruments(
    accept: str,
    *,
    iso: Any = None,
    market: Any = None,
    product: Any = None,
    location_type: Any = None,
    name: str | None = None,
) -> Paged[Rows[Instrument]]:
    params = query(iso=iso, market=market, product=product, location_type=location_type, name=name)
    call = Call("GET", "/api/v1/instruments", _page(INSTRUMENT_SCHEMA), params, accept)
    return Paged(call, _rows(Instrument))


def locations(
    accept: str,
    *,
    iso: Any = None,
    location_type: Any = None,
    name: str | None = None,
    on: date | str | None = None,
) -> Paged[Rows[Location]]:
    # The server calls the location type `type` here (and `location_type` on /instruments).
    params = query(iso=iso, type=location_type, name=name, on=on)
    call = Call("GET", "/api/v1/locations", _page(LOCATION_SCHEMA), params, accept)
    return Paged(call, _rows(Location))


# -- series ------------------------------------------------------------------------------
def _series_request(
    start: Instant, end: Instant, as_of: Instant | None, **options: str | None
) -> dict[str, Any]:
    return {
        "start": instant(start, "start"),
        "end": instant(end, "end"),
        "as_of": instant(as_of, "as_of") if as_of is not None else None,
        **options,
    }


def prices(
    accept: str,
    instruments: str | Iterable[object],
    start: Instant,
    end: Instant,
    *,
    as_of: Instant | None = None,
    resample: str | None = None,
    agg: str | None = None,
    peak: str | None = None,
    tz: str | None = None,
    page_size: int | None = None,
) -> Paged[PriceFrame]:
    request = {
        "instruments": instrument_list(instruments),
        **_series_request(start, end, as_of, resample=resample, agg=agg, peak=peak, tz=tz),
    }
    params = query(**request, limit=page_size)
    schema = PRICE_SCHEMA if resample is None else RESAMPLE_SCHEMA
    call = Call("GET", "/api/v1/prices", _series_page(schema), params, accept)
    return Paged(call, _prices_frame({k: v for k, v in request.items() if v is not None}))


def latest(
    accept: str,
    instruments: str | Iterable[object] | None = None,
    *,
    iso: Any = None,
    market: Any = None,
    product: Any = None,
    tz: str | None = None,
) -> Paged[Rows[LatestPrice]]:
    ids = instrument_list(instruments) if instruments is not None else None
    params = query(instruments=ids, iso=iso, market=market, product=product, tz=tz)
    call = Call("GET", "/api/v1/prices/latest", _series_page(PRICE_SCHEMA), params, accept)
    return Paged(call, _rows(LatestPrice))


def spreads(
    accept: str,
    hub: str | object,
    nodes: str | Iterable[object],
    start: Instant,
    end: Instant,
    *,
    as_of: Instant | None = None,
    resample: str | None = None,
    agg: str | None = None,
    peak: str | None = None,
    tz: str | None = None,
) -> Paged[PriceFrame]:
    request = {
        "hub": instrument_list([str(hub)], "hub"),
        "nodes": instrument_list(nodes, "nodes"),
        **_series_request(start, end, as_of, resample=resample, agg=agg, peak=peak, tz=tz),
    }
    call = Call("GET", "/api/v1/spreads", _series_page(None), query(**request), accept)
    return Paged(call, _prices_frame({k: v for k, v in request.items() if v is not None}))


# -- curves ------------------------------------------------------------------------------
def _curve_path(instrument: object, tail: str = "") -> str:
    # The id is the path's tail: keep '/', escape what a URL path cannot hold (# ? % space).
    text = str(instrument).strip()
    if not text:
        raise ValueError("instrument must not be empty")
    return f"/api/v1/curves/{quote(text, safe='/')}{tail}"


def curves(accept: str, *, iso: Any = None) -> Paged[Rows[CurveInfo]]:
    call = Call("GET", "/api/v1/curves", _page(), query(iso=iso), accept)
    return Paged(call, _rows(CurveInfo))


def curve(
    accept: str,
    instrument: object,
    *,
    as_of: Instant | None = None,
    start: date | str | None = None,
    months: int | None = None,
) -> Paged[CurveFrame]:
    begin = month(start) if start is not None else None
    params = query(as_of=_opt_instant(as_of, "as_of"), start=begin, months=months)
    call = Call("GET", _curve_path(instrument), _page(), params, accept)
    return Paged(call, _frame(CurveFrame))


def marks(
    accept: str, instrument: object, *, as_of: Instant | None = None, revisions: bool = False
) -> Paged[Rows[CurveMark]]:
    params = query(as_of=_opt_instant(as_of, "as_of"), revisions=revisions or None)
    call = Call("GET", _curve_path(instrument, "/marks"), _page(), params, accept)
    return Paged(call, _rows(CurveMark))


def upload_marks(
    instrument: object, marks: object, *, source: str | None = None
) -> Call[MarkUpload]:
    body: dict[str, Any] = {"marks": mark_rows(marks)}
    if source is not None:
        body["source"] = source
    return Call("POST", _curve_path(instrument, "/marks"), _model(MarkUpload), json=body)


# -- quality and lineage ---------------------------------------------------------------------
def completeness(
    accept: str,
    *,
    dataset: str | Iterable[str] | None = None,
    iso: Any = None,
    start: date | str | None = None,
    end: date | str | None = None,
) -> Paged[Completeness]:
    names = dataset if isinstance(dataset, str) or dataset is None else ",".join(dataset)
    params = query(dataset=names, iso=iso, start=start, end=end)
    call = Call("GET", "/api/v1/quality/completeness", _page(), params, accept)
    return Paged(call, _completeness)


def _completeness(pages: Sequence[Page]) -> Completeness:
    table = concat([p.table for p in pages])
    return Completeness(table, CompletenessDay, _meta(pages), pages=len(pages))


def batches(
    accept: str, *, source: str | None = None, since: Instant | None = None, limit: int = 100
) -> Paged[Rows[Batch]]:
    params = query(source=source, since=_opt_instant(since, "since"), limit=limit)
    call = Call("GET", "/api/v1/batches", _page(BATCH_SCHEMA), params, accept)
    return Paged(call, _rows(Batch))


def jobs(
    accept: str,
    *,
    job: str | None = None,
    status: str | None = None,
    since: Instant | None = None,
    limit: int = 100,
) -> Paged[Rows[JobRun]]:
    params = query(job=job, status=status, since=_opt_instant(since, "since"), limit=limit)
    call = Call("GET", "/api/v1/jobs", _page(), params, accept)
    return Paged(call, _rows(JobRun))


def _opt_instant(value: Instant | None, name: str) -> str | None:
    return None if value is None else instant(value, name)


# -- GraphQL ---------------------------------------------------------------------------------
def _graphql_data(response: httpx.Response) -> dict[str, Any]:
    body = loads(response.content)
    if not isinstance(body, dict):
        raise ValueError("a GraphQL response must be a JSON object")
    errors = body.get("errors") or []
    if errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        code = (first.get("extensions") or {}).get("code")
        message = str(first.get("message") or "GraphQL error")
        raise GraphQLError(
            f"{message} [{code}]" if code else message,
            errors=[e for e in errors if isinstance(e, dict)],
            data=body.get("data"),
            status=response.status_code,
            method=response.request.method,
            url=str(response.request.url),
        )
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def graphql(
    query: str, variables: Mapping[str, Any] | None = None, operation_name: str | None = None
) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = dict(variables)
    if operation_name:
        body["operationName"] = operation_name
    return Call("POST", "/graphql", _graphql_data, json=body)
