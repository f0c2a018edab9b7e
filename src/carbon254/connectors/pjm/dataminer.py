"""PJM Data Miner 2: the transport every PJM dataset uses.

`https://api.pjm.com/api/v1/<feed>` answers paged JSON envelopes
`{"links": [...], "items": [...], "searchSpecification": {...}, "totalRows": N}`.
Three rules of the upstream shape everything here:

- The time filter is in local prevailing time (EPT) and its end is *inclusive*, so a
  window `[start, end)` is asked as `start .. end - 1 minute` (interval starts are whole
  minutes, so nothing of the next day comes back and nothing of this one is lost).
- Data older than the archive horizon (186 days for 5-minute feeds, 731 for hourly)
  cannot be filtered by node or type: for an archived window those filters are dropped
  from the request and applied to the rows on our side (recorded in each page's meta).
- A request may not span a year boundary or the archive horizon (`chunking`).

Pages are asked by explicit `startRow`, every page must report the same `totalRows`,
and the pages together must hold exactly that many rows; anything else is a
`PayloadError` rather than a silently short day.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from ...core.markets import Iso
from ..dataset import Auth, Chunking, Window
from ..errors import PayloadError
from ..http import HttpFetcher, RawResponse
from ..payload import check_payload, read_csv
from ..ratelimit import RateBudget
from ._items import decode_items

__all__ = [
    "API_KEY_ENV",
    "ARCHIVE_FIVE_MIN",
    "ARCHIVE_HOURLY",
    "AUTH",
    "BASE_URL",
    "BUDGET",
    "NODE_FILTERS",
    "PAGE_ROWS",
    "REQUESTS_PER_MINUTE",
    "apply_filters",
    "budget",
    "chunking",
    "ept_filter",
    "fetch_pages",
    "read_items",
    "read_page",
    "read_pages",
]

log = logging.getLogger("carbon254.connectors.pjm")

BASE_URL = "https://api.pjm.com/api/v1"
API_KEY_ENV = "PJM_API_KEY"
API_KEY_HEADER = "Ocp-Apim-Subscription-Key"
AUTH = Auth(env=(API_KEY_ENV,))

# Non-members get 6 data requests a minute (members 600), per a third-party guide; PJM's
# own terms were not checked. `PJM_REQUESTS_PER_MINUTE` overrides it (members: 600).
REQUESTS_PER_MINUTE = 6.0
PAGE_ROWS = 50_000

# Older than this, a feed is "archived": no node/type filters, download all and filter here.
ARCHIVE_FIVE_MIN = timedelta(days=186)
ARCHIVE_HOURLY = timedelta(days=731)
# Filters the archive refuses; they are applied client-side on archived windows.
NODE_FILTERS = frozenset({"pnode_id", "pnode_name", "type", "zone"})
EPT_FORMAT = "%m/%d/%Y %H:%M"
# Threads decoding a multi-page response (`read_items`).
_DECODE_THREADS = min(4, os.cpu_count() or 1)


def budget() -> RateBudget:
    """The request budget for api.pjm.com, from `PJM_REQUESTS_PER_MINUTE` if set."""
    text = os.environ.get("PJM_REQUESTS_PER_MINUTE", "").strip()
    rate = REQUESTS_PER_MINUTE
    if text:
        try:
            rate = float(text)
            if rate <= 0:
                raise ValueError(text)
        except ValueError:
            log.warning("PJM_REQUESTS_PER_MINUTE=%r is not a positive number; using 6", text)
            rate = REQUESTS_PER_MINUTE
    return RateBudget(rate, 60.0)


BUDGET = budget()


def chunking(archive_after: timedelta | None, *, max_days: int = 1) -> Chunking:
    """Windows of whole local days that never cross New Year or the archive horizon."""
    return Chunking(max_days=max_days, split_years=True, archive_after=archive_after)


def ept_filter(window: Window) -> str:
    """`datetime_beginning_ept` value for `window`: local wall times, end inclusive.

    The window's bounds are local midnights (never ambiguous, even on DST days); the end
    is asked as the minute before, because the upstream includes rows that start exactly
    at the end. A fall-back day's repeated 01:00-01:59 lies inside the range both times.
    """
    start = window.start.astimezone(Iso.PJM.tz)
    last = (window.end - timedelta(minutes=1)).astimezone(Iso.PJM.tz)
    return f"{start.strftime(EPT_FORMAT)}to{last.strftime(EPT_FORMAT)}"


def fetch_pages(
    http: HttpFetcher,
    dataset: str,
    feed: str,
    window: Window | None,
    *,
    fields: Sequence[str] = (),
    filters: Mapping[str, str] | None = None,
    time_filter: str | None = "datetime_beginning_ept",
    row_count: int = PAGE_ROWS,
    rate: RateBudget | None = None,
    client_filters: Mapping[str, str] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
) -> list[RawResponse]:
    """Every page of one Data Miner query, each a `RawResponse`.

    `filters` are query parameters (`pnode_id="1;2"`, `type="*HUB*"`,
    `row_is_current="TRUE"`). On an archived window the node filters in `NODE_FILTERS`
    and the `fields` selection are not sent (the archive serves whole rows, unfiltered);
    the node filters travel in each page's `meta["client_filters"]`, with any
    `client_filters` the feed never supports, and `read_items` applies them. A query that
    matches nothing returns one page with `totalRows` 0.
    """
    key = AUTH.values(dataset)[API_KEY_ENV]
    headers = {API_KEY_HEADER: key, "Accept": "application/json"}
    archived = window is not None and window.archived
    params: dict[str, Any] = {}
    client: dict[str, str] = dict(client_filters or {})
    for name, value in (filters or {}).items():
        if archived and name in NODE_FILTERS:
            client[name] = value
        else:
            params[name] = value
    wanted = list(fields)
    if wanted and client:
        wanted += [name for name in client if name not in wanted]
    if wanted and not archived:
        params["fields"] = ",".join(wanted)
    if window is not None and time_filter:
        params[time_filter] = ept_filter(window)
    url = f"{BASE_URL}/{feed}"
    base_meta: dict[str, Any] = {"feed": feed, "row_count": row_count}
    if window is not None:
        base_meta |= {
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "archived": window.archived,
        }
    if client:
        base_meta["client_filters"] = client
    base_meta |= dict(extra_meta or {})

    # Pages by explicit startRow rather than the `next` links: the query stays ours (the
    # links repeat it with the server's spelling), and every page can be checked against
    # the first one's totalRows: Data Miner can serve a query from a cached result set
    # while the feed loads new rows, and mixed pages would silently drop or repeat rows.
    pages: list[RawResponse] = []
    total: int | None = None
    received = 0
    start_row = 1
    while True:
        page_number = len(pages) + 1
        raw = http.get(
            dataset,
            url,
            params=params | {"startRow": start_row, "rowCount": row_count},
            headers=headers,
            budget=rate or budget(),
            meta=base_meta | {"page": page_number, "start_row": start_row},
        )
        envelope, count = _envelope(raw)
        page_total = envelope["totalRows"]
        if total is None:
            total = page_total
        elif page_total != total:
            raise PayloadError(
                dataset,
                f"{feed}: page {page_number} reports {page_total} total rows, page 1 "
                f"reported {total} (the feed changed while paging; fetch again)",
            )
        raw = _with_meta(raw, {"total_rows": total, "rows": count})
        pages.append(raw)
        received += count
        if count == 0 or received >= total:
            break
        start_row += row_count
    if received != total:
        raise PayloadError(
            dataset, f"{feed}: pages returned {received} rows but totalRows is {total}"
        )
    return pages


def _with_meta(raw: RawResponse, extra: Mapping[str, Any]) -> RawResponse:
    return RawResponse(
        dataset=raw.dataset,
        url=raw.url,
        fetched_at=raw.fetched_at,
        content=raw.content,
        content_type=raw.content_type,
        status=raw.status,
        meta=dict(raw.meta) | dict(extra),
        sha256=raw.sha256,  # same bytes: no second hash of a 20 MB page
    )


# ------------------------------------------------------------------------------ reading

_ITEMS_KEY = re.compile(rb'"items"\s*:\s*\[')
_TAIL_KEYS = (b'"searchSpecification"', b'"totalRows"', b'"links"')


def _split(raw: RawResponse) -> tuple[dict[str, Any], bytes, int, int]:
    """(envelope without items, body, begin, end) of a page: `body[begin:end]` is the
    inside of the items array, or begin == end == -1 when it could not be cut out.

    Parsing 3.7 M rows with `json.loads` takes many seconds, so the items array is cut
    out of the body and decoded column-wise; only the small envelope goes through `json`.
    """
    body = check_payload(raw)
    match = _ITEMS_KEY.search(body)
    if match is None:
        return _envelope_dict(raw, body), body, -1, -1
    begin = match.end()
    # The keys after the items are near the end: look there first (a full reverse scan
    # of a 12 MB page for a key that sits before the items costs more than the parse).
    near = max(begin, len(body) - 65_536)
    tail = [p for p in (body.rfind(k, near) for k in _TAIL_KEYS) if p > begin]
    if not tail and near > begin:
        tail = [p for p in (body.rfind(k, begin) for k in _TAIL_KEYS) if p > begin]
    stop = min(tail) if tail else body.rfind(b"}")
    end = body.rfind(b"]", begin, stop)
    if end < 0:
        return _envelope_dict(raw, body), body, -1, -1
    try:
        envelope = json.loads(body[: begin - 1] + b"[]" + body[end + 1 :])
    except ValueError:
        return _envelope_dict(raw, body), body, -1, -1
    if not isinstance(envelope, dict) or envelope.get("items") != []:
        return _envelope_dict(raw, body), body, -1, -1
    while begin < end and body[begin] in b" \t\r\n":
        begin += 1
    while end > begin and body[end - 1] in b" \t\r\n":
        end -= 1
    return envelope, body, begin, end


def _envelope_dict(raw: RawResponse, body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise PayloadError(
            raw.dataset, f"response from {raw.url} is not valid JSON: {exc}"
        ) from None
    if not isinstance(value, dict):
        raise PayloadError(raw.dataset, f"response from {raw.url} is not a Data Miner envelope")
    return value


def _check_envelope(raw: RawResponse, envelope: Mapping[str, Any]) -> None:
    missing = [k for k in ("items", "totalRows", "links") if k not in envelope]
    if missing:
        raise PayloadError(
            raw.dataset,
            f"response from {raw.url} is not a Data Miner page (no {', '.join(missing)})",
        )
    total = envelope["totalRows"]
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise PayloadError(raw.dataset, f"totalRows is not a count: {total!r}")
    if not isinstance(envelope["items"], list) or not isinstance(envelope["links"], list):
        raise PayloadError(raw.dataset, f"items/links of {raw.url} are not lists")


def _envelope(raw: RawResponse) -> tuple[dict[str, Any], int]:
    """The checked envelope of a page and how many items it holds (cheaply counted)."""
    envelope, body, begin, end = _split(raw)
    _check_envelope(raw, envelope)
    if begin < 0:
        return envelope, len(envelope["items"])
    if begin == end:
        return envelope, 0
    # Items are flat objects: one "{" per row outside strings. Count row starts cheaply,
    # and exactly (by parsing) only when a string could hold a brace.
    count = body.count(b"},{", begin, end) + 1
    if body.count(b"{", begin, end) != count:
        count = len(json.loads(b"[" + body[begin:end] + b"]"))
    return envelope, count


def read_page(
    raw: RawResponse,
    schema: pa.Schema,
    required: Sequence[str] = (),
    *,
    columns: Collection[str] | None = None,
) -> pa.Table:
    """The items of one page as a table of `schema`'s columns (in its order).

    An item key that is not in `schema` is an unknown column and raises; a `required`
    key absent from the first item raises. Columns of `schema` the page does not carry
    come back null (feeds differ: the unverified feed has no energy column). With
    `columns`, only those are decoded (the rest are still checked, and come back null
    when the fast decoder runs): text columns nobody reads cost time on 3.7 M rows.
    """
    envelope, body, begin, end = _split(raw)
    _check_envelope(raw, envelope)
    if begin < 0:
        rows = envelope["items"]
        _check_keys(raw, schema, required, rows[0] if rows else None)
        return _from_pylist(raw, rows, schema)
    if begin == end:
        return schema.empty_table()
    first = _first_item(raw, body, begin, end)
    _check_keys(raw, schema, required, first)
    table = decode_items(body, begin, end, schema, list(first), columns)
    if table is not None:
        return table
    items = body[begin:end]
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    try:
        table = pajson.read_json(io.BytesIO(items.replace(b"},{", b"}\n{")), parse_options=options)
    except pa.ArrowInvalid:
        # An unknown key, a string holding "},{", values Arrow cannot convert: the slow,
        # exact path, whose errors name the column.
        try:
            rows = json.loads(b"[" + items + b"]")
        except ValueError as err:
            raise PayloadError(
                raw.dataset, f"items of {raw.url} are not valid JSON: {err}"
            ) from None
        return _from_pylist(raw, rows, schema)
    return table.select(schema.names)


def _first_item(raw: RawResponse, body: bytes, begin: int, end: int) -> Any:
    """The first item, read alone (items are flat, so it ends at the first "}")."""
    close = body.find(b"}", begin, end)
    try:
        return json.loads(body[begin : close + 1])
    except ValueError:
        pass
    try:
        return json.JSONDecoder().raw_decode(body[begin:end].decode("utf-8"))[0]
    except ValueError as exc:
        raise PayloadError(raw.dataset, f"items of {raw.url} are not valid JSON: {exc}") from None


def _check_keys(raw: RawResponse, schema: pa.Schema, required: Sequence[str], first: Any) -> None:
    if first is None:
        return
    if not isinstance(first, dict):
        raise PayloadError(raw.dataset, f"items of {raw.url} are not objects")
    unknown = [k for k in first if k not in schema.names]
    if unknown:
        raise PayloadError(raw.dataset, f"unknown column(s) in {raw.url}: {', '.join(unknown)}")
    missing = [k for k in required if k not in first]
    if missing:
        raise PayloadError(raw.dataset, f"missing column(s) in {raw.url}: {', '.join(missing)}")


def _from_pylist(raw: RawResponse, rows: list[Any], schema: pa.Schema) -> pa.Table:
    if rows and not all(isinstance(r, dict) for r in rows):
        raise PayloadError(raw.dataset, f"items of {raw.url} are not objects")
    names = set(schema.names)
    for row in rows:
        extra = row.keys() - names
        if extra:
            raise PayloadError(
                raw.dataset, f"unknown column(s) in {raw.url}: {', '.join(sorted(extra))}"
            )
    columns = []
    for field in schema:
        values = [row.get(field.name) for row in rows]
        if pa.types.is_string(field.type):
            values = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        try:
            if pa.types.is_timestamp(field.type):
                # Data Miner times carry no zone; the column's type says which it is.
                naive = pa.array(values, pa.string()).cast(pa.timestamp(field.type.unit))
                columns.append(naive.cast(field.type))
            else:
                columns.append(pa.array(values, field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise PayloadError(
                raw.dataset, f"column {field.name} of {raw.url} has bad values: {exc}"
            ) from None
    return pa.Table.from_arrays(columns, schema=schema)


def read_items(
    raws: Sequence[RawResponse],
    schema: pa.Schema,
    required: Sequence[str] = (),
    *,
    csv_format: Mapping[str, str] | None = None,
    columns: Collection[str] | None = None,
) -> pa.Table:
    """Every row of `raws` (JSON pages or Data Miner CSV exports) as one table.

    CSV exports (what the Data Miner site downloads) have the same columns as the API
    items; `csv_format` maps a timestamp column to its strptime format there
    ("%m/%d/%Y %I:%M:%S %p"). Client-side filters recorded for archived windows are
    applied here. `columns`: decode only these (see `read_page`), plus any filtered on.
    """

    def read(raw: RawResponse) -> pa.Table:
        client = raw.meta.get("client_filters") if raw.meta else None
        wanted = None if columns is None else set(columns) | set(client or ())
        if _is_csv(raw):
            table = _read_export(raw, schema, required, csv_format or {})
        else:
            table = read_page(raw, schema, required, columns=wanted)
        if client:
            table = apply_filters(raw.dataset, table, client)
        return table

    if len(raws) > 1 and _DECODE_THREADS > 1:
        # Pages decode independently and mostly in numpy/Arrow, which release the GIL:
        # a 75-page day decodes in about two thirds of the time on two cores. Order kept.
        with ThreadPoolExecutor(_DECODE_THREADS, thread_name_prefix="carbon254-pjm") as pool:
            tables = list(pool.map(read, raws))
    else:
        tables = [read(raw) for raw in raws]
    if not tables:
        return schema.empty_table()
    return pa.concat_tables(tables)


def read_pages(raws: Sequence[RawResponse]) -> list[dict[str, Any]]:
    """The envelopes (without items) of JSON pages: totalRows, links, searchSpecification."""
    out = []
    for raw in raws:
        envelope = _split(raw)[0]
        _check_envelope(raw, envelope)
        out.append({k: v for k, v in envelope.items() if k != "items"})
    return out


def _is_csv(raw: RawResponse) -> bool:
    kind = (raw.content_type or "").lower()
    if "csv" in kind:
        return True
    if "json" in kind:
        return False
    name = str((raw.meta or {}).get("filename", "") or raw.url).lower()
    if name.endswith(".csv"):
        return True
    return raw.content.lstrip()[:1] not in (b"{", b"[", b"<", b"")


def _read_export(
    raw: RawResponse, schema: pa.Schema, required: Sequence[str], formats: Mapping[str, str]
) -> pa.Table:
    body = check_payload(raw)
    strings = [f.name for f in schema if pa.types.is_string(f.type) or f.name in formats]
    table = read_csv(
        raw.dataset,
        body,
        required,
        [n for n in schema.names if n not in required],
        where=raw.url,
        strings=strings,
    )
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        try:
            if field.name in formats:
                column = pc.strptime(column, format=formats[field.name], unit="us")
                if field.type.tz is not None:
                    column = column.cast(pa.timestamp("us", tz=field.type.tz))
            elif pa.types.is_boolean(field.type) and not pa.types.is_boolean(column.type):
                column = pc.equal(pc.utf8_upper(column.cast(pa.string())), "TRUE")
            column = column.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise PayloadError(
                raw.dataset, f"column {field.name} of {raw.url} has bad values: {exc}"
            ) from None
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def apply_filters(dataset: str, table: pa.Table, filters: Mapping[str, str]) -> pa.Table:
    """Rows matching Data Miner filter values: `a;b;c` alternatives, `*` wildcards."""
    mask = None
    for name, value in filters.items():
        if name not in table.column_names:
            raise PayloadError(dataset, f"cannot filter on {name}: the rows have no such column")
        column = table.column(name).cast(pa.string())
        options = [v.strip() for v in str(value).split(";") if v.strip()]
        exact = [v for v in options if "*" not in v]
        hit = pc.is_in(column, value_set=pa.array(exact, pa.string()))
        for pattern in (v for v in options if v not in exact):
            regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
            hit = pc.or_(hit, pc.match_substring_regex(column, regex, ignore_case=True))
        hit = pc.fill_null(hit, False)
        mask = hit if mask is None else pc.and_(mask, hit)
    return table if mask is None else table.filter(mask)
