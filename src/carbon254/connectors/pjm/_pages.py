"""Reading Data Miner 2 pages: the envelope, the items, CSV exports, client-side filters.

`dataminer` fetches pages; this module turns their bytes into Arrow tables. Items are
decoded column by column without building a Python object per row (`_items`), with
Arrow's JSON reader and then `json` as exact fallbacks.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from ..errors import PayloadError
from ..http import RawResponse
from ..payload import check_payload, read_csv
from ._items import decode_items

__all__ = ["apply_filters", "read_items", "read_page", "read_pages"]

# Threads decoding a multi-page response (`read_items`).
_DECODE_THREADS = min(4, os.cpu_count() or 1)


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
