"""What the tabular REST resources share: parameter documentation, the OpenAPI
description of their responses (every media type, every problem), and paging headers.

The OpenAPI document is checked by schemathesis: each status and content type a route
can answer with is declared here, problems as `application/problem+json`.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Header, Query, Request

from ..formats import ARROW_STREAM, CSV, JSON, PARQUET
from ..negotiation import FORMAT_HELP
from ..params import AGGREGATES, INSTANT_HELP, PEAKS, RESAMPLE_FREQS
from ..problems import PROBLEM_JSON, ProblemModel

__all__ = [
    "AcceptHeader",
    "AggParam",
    "AsOfParam",
    "EndParam",
    "FormatParam",
    "PeakParam",
    "ResampleParam",
    "StartParam",
    "TzParam",
    "next_page_headers",
    "one_of",
    "tabular_responses",
]

_PROBLEM_SCHEMA = ProblemModel.model_json_schema()
_PROBLEM_WHY = {
    404: "an instrument the store has never seen (named in `detail` and `instruments`)",
    406: "no acceptable media type in `Accept`",
    422: "invalid parameters (each one listed in `errors`)",
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_TABLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["row_count", "columns"],
    "properties": {
        "row_count": {"type": "integer", "minimum": 0},
        "columns": {
            "type": "object",
            "description": "one array per column, all of length `row_count`",
            "additionalProperties": {"type": "array"},
        },
    },
}
_PAGE_HEADERS = {
    "Link": {
        "description": 'The next page, as `<url>; rel="next"`, when there is one.',
        "schema": {"type": "string"},
    },
    "X-Next-Cursor": {
        "description": "The `cursor` of the next page, when there is one.",
        "schema": {"type": "string"},
    },
}


def one_of(values: Iterable[str]) -> str:
    return "one of " + ", ".join(f"`{v}`" for v in values)


def tabular_responses(
    example: dict[str, Any] | None = None,
    *,
    problems: Iterable[int] = (404, 406, 422),
    paged: bool = False,
    extra_properties: dict[str, Any] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering a table in any of the four formats."""
    schema = dict(_TABLE_SCHEMA)
    if extra_properties:
        schema["properties"] = {**extra_properties, **schema["properties"]}
    json: dict[str, Any] = {"schema": schema}
    if example is not None:
        json["example"] = example
    ok: dict[str, Any] = {
        "description": "The table: columnar JSON, CSV, an Arrow IPC stream or Parquet.",
        "content": {JSON: json, CSV: _BINARY, ARROW_STREAM: _BINARY, PARQUET: _BINARY},
    }
    if paged:
        ok["headers"] = _PAGE_HEADERS
    responses: dict[int | str, dict[str, Any]] = {200: ok}
    for status in problems:
        responses[status] = {
            "description": _PROBLEM_WHY.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
        }
    return responses


def next_page_headers(request: Request, cursor: str | None) -> dict[str, str]:
    """`Link: <…>; rel="next"` (relative to this server) and `X-Next-Cursor`, or none."""
    if cursor is None:
        return {}
    url = request.url.include_query_params(cursor=cursor)
    return {"Link": f'<{url.path}?{url.query}>; rel="next"', "X-Next-Cursor": cursor}


StartParam = Annotated[str, Query(description=f"Inclusive start of the range. {INSTANT_HELP}")]
EndParam = Annotated[str, Query(description=f"Exclusive end of the range. {INSTANT_HELP}")]
AsOfParam = Annotated[
    str | None,
    Query(description=f"Return the values the store held at this instant. {INSTANT_HELP}"),
]
ResampleParam = Annotated[
    str | None,
    Query(
        description=f"Aggregate into buckets: {one_of(RESAMPLE_FREQS)}. 5-minute, 15-minute "
        "and hourly buckets are clock-aligned; `daily` and `monthly` are the market's "
        "local days and months (a fall-back day is one 25-hour bucket). A step finer "
        "than an instrument's own interval is refused (422)."
    ),
]
AggParam = Annotated[
    str | None,
    Query(description=f"How a bucket is aggregated (with `resample`): {one_of(AGGREGATES)}."),
]
PeakParam = Annotated[
    str | None,
    Query(
        description=f"{one_of(PEAKS)} (default `all`): keep on-peak or off-peak intervals by "
        "each ISO's calendar (PJM, NYISO, MISO: hours beginning 07-22 Mon-Fri; ERCOT, "
        "SPP: 06-21 Mon-Fri; CAISO: 06-21 Mon-Sat; NERC holidays off-peak), in the "
        "market's clock."
    ),
]
TzParam = Annotated[
    str | None,
    Query(
        description="Add `interval_start_local` and `interval_end_local` in this IANA time "
        "zone (e.g. `America/Chicago`), or `market` for each instrument's market clock. "
        "JSON and CSV show them as ISO-8601 with the offset; Arrow and Parquet as "
        "timestamps typed with the zone (strings with offsets when `market` spans clocks)."
    ),
]
FormatParam = Annotated[str | None, Query(description=FORMAT_HELP)]
AcceptHeader = Annotated[str | None, Header(include_in_schema=False)]
