"""Forward curves: the catalogue, a hub's monthly on-/off-peak curve, and users' marks.

`GET /api/v1/curves`, `GET /api/v1/curves/{instrument}`, and
`GET|POST /api/v1/curves/{instrument}/marks`. The instrument is the path's tail (a
location may hold `/`; encode `#` as `%23` and spaces as `%20`). The curve is built by
`service.curves.forward_curve`, the same function GraphQL serves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...analytics.curves import MAX_MONTHS
from ...core import InstrumentId, InvalidInstrumentId, Iso
from ...ingest.events import ChangeEvent
from ...store.base import PriceStore, UnknownInstrument
from ..curve_uploads import read_upload
from ..curves import (
    CURVE_PRODUCTS,
    DEFAULT_MONTHS,
    CurveUnavailable,
    curve_info,
    curve_meta,
    forward_curve,
)
from ..formats import JSON, SERIES_MEDIA_TYPES, iso_z, tabular_response
from ..negotiation import negotiate
from ..params import ParamErrors, parse_enum, parse_instant
from ..problems import PROBLEM_JSON, Problem, ProblemModel
from ..state import StoreDep
from ._tabular import AcceptHeader, AsOfParam, FormatParam, tabular_responses

__all__ = ["router"]

log = logging.getLogger("carbon254.service.curves")
router = APIRouter(prefix="/api/v1", tags=["curves"])

_CURVE_META = {
    "instrument": {"type": "string"},
    "method": {"type": "string", "enum": ["seasonal", "flat"]},
    "as_of": {"type": "string", "format": "date-time"},
    "history": {"type": "object"},
    "level": {"type": "object"},
}
_MARK_COLUMNS = [
    "month", "peak", "price", "version", "source", "committed_at", "superseded_by",
    "superseded_at",
]  # fmt: skip


CURVE_UNAVAILABLE = "urn:carbon254:problem:curve-unavailable"


@contextmanager
def _unavailable() -> Iterator[None]:
    """`CurveUnavailable` as a 422 problem that carries its `reason` code."""
    try:
        yield
    except CurveUnavailable as exc:
        raise Problem(422, str(exc), type=CURVE_UNAVAILABLE, reason=exc.reason) from None


def _instrument_id(text: str) -> str:
    """The canonical id of the path's instrument, or a 422 naming what is wrong."""
    errors = ParamErrors()
    try:
        return str(InstrumentId.parse(text))
    except InvalidInstrumentId as exc:
        errors.add("instrument", str(exc), value=text, part=exc.part)
        errors.errors[-1]["in"] = "path"
    errors.raise_if_any()
    raise AssertionError  # unreachable


def _as_of(text: str | None, errors: ParamErrors) -> datetime | None:
    at = parse_instant(text, "as_of", errors) if text is not None else None
    if at is not None and at > datetime.now(UTC):
        errors.add("as_of", f"as_of ({iso_z(at)}) is in the future", value=text)
    return at


def _month(text: str | None, errors: ParamErrors) -> date | None:
    if text is None:
        return None
    raw = text.strip()
    try:
        if len(raw) == 7:
            return date.fromisoformat(raw + "-01")
        day = date.fromisoformat(raw)
    except ValueError:
        errors.add("start", f"start {text!r} is not a month (YYYY-MM)", value=text)
        return None
    if day.day != 1:
        errors.add("start", f"start {text!r} is not the first day of a month", value=text)
        return None
    return day


def _months(text: str | None, errors: ParamErrors) -> int:
    if text is None:
        return DEFAULT_MONTHS
    try:
        months = int(text.strip())
    except ValueError:
        months = 0
    if not 1 <= months <= MAX_MONTHS:
        errors.add("months", f"months must be an integer 1-{MAX_MONTHS}, got {text!r}", value=text)
    return months


@router.get(
    "/curves",
    summary="Curve catalogue",
    description=(
        "Hubs that can have forward curves (energy prices, LMP or SPP, at a location whose "
        "directory type is HUB) and every curve that holds marks, with the count of "
        "current marks and when the latest was committed."
    ),
    responses=tabular_responses(problems=(406, 422)),
)
def get_curves(
    store: StoreDep,
    iso: Annotated[str | None, Query(description="Keep one ISO's curves.")] = None,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> Response:
    errors = ParamErrors()
    iso_ = parse_enum(iso, Iso, "iso", errors)
    errors.raise_if_any()
    media_type = negotiate(accept, format, SERIES_MEDIA_TYPES)
    table = store.curve_catalogue()
    energy = pc.is_in(table["product"], value_set=pa.array(sorted(CURVE_PRODUCTS)))
    keep = pc.or_(pc.and_(table["hub"], energy), pc.greater(table["marks"], 0))
    if iso_ is not None:
        keep = pc.and_(keep, pc.equal(table["iso"], iso_.value))
    table = table.filter(keep)
    meta = {"iso": iso_}
    return tabular_response(table, media_type, meta, filename="curves")


@router.get(
    "/curves/{instrument:path}/marks",
    summary="A curve's marks",
    description=(
        "The marks held at `as_of` (default now), one per delivery month and peak type, "
        "with the version that wrote each and its source; `revisions=true` adds every "
        "earlier mark held by then, with the version that superseded it."
    ),
    responses=tabular_responses(),
)
def get_marks(
    store: StoreDep,
    instrument: str,
    as_of: AsOfParam = None,
    revisions: Annotated[
        bool, Query(description="Include superseded marks (the upload history).")
    ] = False,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> Response:
    canonical = _instrument_id(instrument)
    errors = ParamErrors()
    at = _as_of(as_of, errors)
    errors.raise_if_any()
    media_type = negotiate(accept, format, SERIES_MEDIA_TYPES)
    if store.curve_catalogue([canonical]).num_rows == 0:
        raise UnknownInstrument([canonical])
    table = store.read_curve_marks(canonical, as_of=at, revisions=revisions)
    meta = {"instrument": canonical, "as_of": iso_z(at), "revisions": revisions}
    return tabular_response(table.select(_MARK_COLUMNS), media_type, meta, filename="marks")


class MarkUploadResult(BaseModel):
    """What an upload did. An identical re-upload answers 200 with the same version."""

    instrument: str
    version: int
    committed_at: datetime
    changed: bool
    source: str
    rows_received: int
    rows_inserted: int
    rows_superseded: int
    rows_unchanged: int


_UPLOAD_BODY = {
    "required": True,
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "required": ["marks"],
                "properties": {
                    "marks": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["month", "peak", "price"],
                            "properties": {
                                "month": {"type": "string", "example": "2027-01"},
                                "peak": {"type": "string", "enum": ["on", "off"]},
                                "price": {"type": "number"},
                            },
                        },
                    },
                    "source": {"type": "string", "example": "desk-x"},
                },
            },
            "example": {
                "marks": [{"month": "2027-01", "peak": "on", "price": 55.1}],
                "source": "desk-x",
            },
        },
        "text/csv": {
            "schema": {"type": "string"},
            "example": "month,peak,price\n2027-01,on,55.1\n",
        },
    },
}
_PROBLEM_BODY = {PROBLEM_JSON: {"schema": ProblemModel.model_json_schema()}}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "an instrument the store has never seen", "content": _PROBLEM_BODY},
    413: {"description": "a body over 1 MiB", "content": _PROBLEM_BODY},
    415: {"description": "a body that is neither JSON nor CSV", "content": _PROBLEM_BODY},
    422: {
        "description": "bad marks (every bad row listed in `errors`) or a non-hub instrument",
        "content": _PROBLEM_BODY,
    },
}


@router.post(
    "/curves/{instrument:path}/marks",
    summary="Upload marks",
    description=(
        "Marks for delivery months and peak types (`on`/`off`), as JSON "
        '`{"marks": [{"month": "2027-01", "peak": "on", "price": 55.1}], "source": "desk-x"}` '
        "or `text/csv` with the header `month,peak,price` (then `source` in the query). "
        "An upload is one version: a (month, peak) it changes supersedes the mark held "
        "(kept in the history); an identical re-upload changes nothing and answers 200 "
        "with the version already holding them. Needs scope `trade`."
    ),
    status_code=201,
    response_model=MarkUploadResult,
    responses={200: {"model": MarkUploadResult, "description": "nothing changed"}, **_PROBLEMS},
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def post_marks(
    request: Request,
    store: StoreDep,
    instrument: str,
    source: Annotated[
        str | None, Query(description="Who the marks are from (for CSV bodies).")
    ] = None,
) -> Response:
    canonical = _instrument_id(instrument)
    body = await request.body()
    # The store calls block (a write waits for the writer lock, behind a whole ingestion
    # batch on PostgreSQL): on a worker thread, never on the event loop.
    return await run_in_threadpool(_store_upload, request, store, canonical, body, source)


def _store_upload(
    request: Request, store: PriceStore, canonical: str, body: bytes, source: str | None
) -> Response:
    upload = read_upload(request.headers.get("content-type"), body, source)
    with _unavailable():
        curve_info(store, canonical)  # 404 unknown, 422 not a hub / not energy
    principal = getattr(request.state, "principal", None)
    subject = getattr(principal, "subject", None)
    uploader = subject if getattr(principal, "kind", "anonymous") != "anonymous" else None
    result = store.upsert_curve_marks(
        canonical, upload.marks, source=upload.source or uploader or "api", uploaded_by=uploader
    )
    if result.changed:
        _announce(request, canonical, result.version, result.committed_at)
    answer = {
        "instrument": canonical,
        "version": result.version,
        "committed_at": iso_z(result.committed_at),
        "changed": result.changed,
        "source": upload.source or uploader or "api",
        "rows_received": result.rows_received,
        "rows_inserted": result.rows_inserted,
        "rows_superseded": result.rows_superseded,
        "rows_unchanged": result.rows_unchanged,
    }
    return Response(orjson.dumps(answer), 201 if result.changed else 200, media_type=JSON)


def _announce(request: Request, instrument: str, version: int, at: datetime) -> None:
    """Tell caches and listeners the curve's marks changed; the marks are stored either way."""
    try:
        request.app.state.changes.publish(
            ChangeEvent((instrument,), dataset="curve_marks", batch_id=version, at=at)
        )
    except Exception:  # a feed that is down must not fail a committed upload
        log.warning("could not announce marks version %s of %s", version, instrument)


@router.get(
    "/curves/{instrument:path}",
    summary="Forward curve",
    description=(
        "Monthly on- and off-peak prices ($/MWh) of a hub for `months` delivery months "
        "from `start`: level x seasonal shape from the price history held at `as_of`, "
        "marks held then laid over (`source` = `mark`). Columns: month (first day), "
        "peak, price, source (`history`, `forecast` or `mark`), years (history years "
        "behind the shape), hours (of that peak type in the month, in the market clock). "
        "JSON carries the method, history window and level beside the columns; Arrow and "
        "Parquet carry them as schema metadata `carbon254.curve`. See docs/curves.md."
    ),
    responses=tabular_responses(extra_properties=_CURVE_META),
)
def get_curve(
    store: StoreDep,
    instrument: str,
    as_of: AsOfParam = None,
    start: Annotated[
        str | None,
        Query(description="First delivery month, `YYYY-MM` (default: the month after as_of)."),
    ] = None,
    months: Annotated[
        str | None, Query(description=f"Number of months, 1-{MAX_MONTHS} (default 24).")
    ] = None,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> Response:
    canonical = _instrument_id(instrument)
    errors = ParamErrors()
    at = _as_of(as_of, errors)
    first = _month(start, errors)
    count = _months(months, errors)
    errors.raise_if_any()
    media_type = negotiate(accept, format, SERIES_MEDIA_TYPES)
    with _unavailable():
        table = forward_curve(store, canonical, as_of=at, start=first, months=count)
    meta: dict[str, Any] = curve_meta(table)
    return tabular_response(table, media_type, meta, filename="curve")
