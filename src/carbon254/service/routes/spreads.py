"""`GET /api/v1/spreads`: hub-to-node spreads (node minus hub) per interval or bucket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ...core import InstrumentId
from ..formats import FORMATS, SERIES_MEDIA_TYPES, iso_z, tabular_response
from ..localtime import with_local_times
from ..negotiation import negotiate
from ..params import (
    ParamErrors,
    check_resample,
    parse_choice,
    parse_instruments,
    read_price_query,
    read_series_options,
)
from ..spreads import SPREAD_COLUMNS, spread_table
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
    tabular_responses,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["prices"])

_EXAMPLE = {
    "hub": "PJM.DA.LMP.WESTERN_HUB",
    "nodes": ["PJM.DA.LMP.51288"],
    "start": "2024-11-03T04:00:00Z",
    "end": "2024-11-03T05:00:00Z",
    "as_of": None,
    "resample": None,
    "agg": None,
    "peak": "all",
    "tz": None,
    "row_count": 1,
    "columns": {
        "instrument": ["PJM.DA.LMP.51288"],
        "hub": ["PJM.DA.LMP.WESTERN_HUB"],
        "interval_start": ["2024-11-03T04:00:00Z"],
        "interval_end": ["2024-11-03T05:00:00Z"],
        "spread": [-1.75],
        "node_value": [29.5],
        "hub_value": [31.25],
        "congestion_spread": [-1.5],
        "loss_spread": [-0.25],
    },
}


@router.get(
    "/spreads",
    summary="Hub-to-node spreads",
    description=(
        "Node minus hub for every interval both have (`start <= interval_start < end`). "
        f"Columns: {', '.join(SPREAD_COLUMNS)}; the component spreads are null where "
        "either side has no components. Hub and nodes must share ISO, market and product. "
        "With `resample`, each column is aggregated on its own over the intervals of the "
        "bucket (so `agg=max` is the widest spread, not max(node) - max(hub)) and `count` "
        "says how many intervals it holds. Formats: JSON (columnar), CSV, Arrow IPC, "
        "Parquet. Not paged: the result must fit the server's row limit."
    ),
    responses=tabular_responses(_EXAMPLE),
)
def get_spreads(
    request: Request,
    store: StoreDep,
    hub: Annotated[str, Query(description="The hub (reference) instrument id.")],
    nodes: Annotated[
        list[str],
        Query(description="Node instrument ids, comma-separated or repeated."),
    ],
    start: StartParam,
    end: EndParam,
    as_of: AsOfParam = None,
    resample: ResampleParam = None,
    agg: AggParam = None,
    peak: PeakParam = None,
    tz: TzParam = None,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> Response:
    limits = request.app.state.limits
    errors = ParamErrors()
    query = read_price_query(nodes, start, end, as_of, limits, errors, param="nodes")
    hubs = parse_instruments([hub], errors, limit=1, param="hub")
    options = read_series_options(resample, agg, peak, tz, errors)
    parse_choice(format, tuple(FORMATS), "format", errors)
    if query is not None and len(hubs) == 1:
        _check_same_market(hubs[0], query.instruments, errors)
        if options.resample is not None:
            check_resample([*hubs, *query.instruments], options.resample, errors)
    errors.raise_if_any()
    assert query is not None
    media_type = negotiate(accept, format, SERIES_MEDIA_TYPES)
    table = spread_table(
        store,
        hubs[0],
        list(query.instruments),
        query.start,
        query.end,
        as_of=query.as_of,
        peak=options.peak,  # type: ignore[arg-type]
        resample=options.resample,
        agg=options.agg,
        max_rows=limits.max_rows,
    )
    if options.tz is not None:
        table = with_local_times(table, options.tz, [hubs[0]])
    meta = {
        "hub": hubs[0],
        "nodes": list(query.instruments),
        "start": iso_z(query.start),
        "end": iso_z(query.end),
        "as_of": iso_z(query.as_of),
        "resample": options.resample,
        "agg": options.agg if options.resample else None,
        "peak": options.peak or "all",
        "tz": options.tz,
    }
    return tabular_response(table, media_type, meta, filename="spreads")


def _check_same_market(hub: str, nodes: tuple[str, ...], errors: ParamErrors) -> None:
    """A spread compares one market at two places: ISO, market and product must match."""
    ref = InstrumentId.parse(hub)
    for node in nodes:
        iid = InstrumentId.parse(node)
        if (iid.iso, iid.market, iid.product) != (ref.iso, ref.market, ref.product):
            errors.add(
                "nodes",
                f"{node} is not in the hub's market: a spread needs the same ISO, market "
                f"and product as {hub} ({ref.iso}.{ref.market}.{ref.product})",
                value=node,
            )
