"""Response bodies to Arrow tables: Arrow IPC streams as they are, columnar JSON rebuilt.

The API sends tables either as an Arrow IPC stream (`application/vnd.apache.arrow.stream`)
or as columnar JSON (`{..., "columns": {name: [values]}}`, times as ISO-8601 strings).
Both become the same `pyarrow.Table`, so everything after this module is wire-agnostic.
JSON times are recognised by shape (an ISO-8601 date-time string with an offset) and
converted to tz-aware UTC timestamps in one vectorized Arrow cast, never row by row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyarrow as pa

__all__ = [
    "ARROW_STREAM",
    "JSON",
    "PROBLEM_JSON",
    "Page",
    "columns_to_table",
    "loads",
    "media_type",
    "next_link",
    "read_page",
]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
UTC_US = pa.timestamp("us", tz="UTC")

# 2024-11-03T04:00:00Z, 2024-11-03T04:00:00.5+00:00, 2024-11-03T00:00-04:00
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")

try:  # orjson decodes large bodies ~3x faster; optional (the server extra installs it)
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None


def loads(content: bytes) -> Any:
    """Decode JSON bytes (orjson when installed, else the standard library)."""
    if _orjson is not None:
        return _orjson.loads(content)
    return json.loads(content)


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


class Page:
    """One response of a tabular endpoint: the table, the JSON envelope, the next cursor."""

    __slots__ = ("meta", "next_cursor", "next_url", "table")

    def __init__(
        self,
        table: pa.Table,
        meta: dict[str, Any],
        next_cursor: str | None,
        next_url: str | None = None,
    ) -> None:
        self.table = table
        self.meta = meta
        self.next_cursor = next_cursor
        self.next_url = next_url

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor or self.next_url)


def _first_value(values: list[Any]) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _column(values: list[Any], field: pa.Field | None, infer: bool = True) -> pa.Array:
    if not infer:
        return pa.array(values, pa.string())
    if field is not None:
        kind = field.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            return pa.array(values, pa.string()).cast(kind)
        if pa.types.is_dictionary(kind):
            return pa.array(values, kind.value_type).dictionary_encode()
        return pa.array(values, kind)
    sample = _first_value(values)
    if isinstance(sample, str):
        if _INSTANT.match(sample):
            return pa.array(values, pa.string()).cast(UTC_US)
        if _DATE.match(sample):
            return pa.array(values, pa.string()).cast(pa.date32())
    return pa.array(values)


def columns_to_table(
    columns: Mapping[str, list[Any]],
    schema: pa.Schema | None = None,
    strings: frozenset[str] = frozenset(),
) -> pa.Table:
    """Columnar JSON to Arrow. Columns in `schema` take its types, those in `strings`
    stay strings; others are inferred (ISO date-times with an offset become UTC
    timestamps, ISO dates become dates)."""
    arrays = []
    names = []
    for name, values in columns.items():
        field = schema.field(name) if schema is not None and name in schema.names else None
        arrays.append(_column(values, field, infer=name not in strings))
        names.append(name)
    if schema is not None and names == schema.names:
        # Exactly the hinted table: take its schema whole (nullability, metadata), so
        # both wires give equal tables.
        return pa.Table.from_arrays(arrays, schema=schema)
    return pa.Table.from_arrays(arrays, names=names)


def next_link(header: str | None) -> str | None:
    """The target of `rel="next"` in a `Link` header (RFC 8288), or None."""
    if not header:
        return None
    for match in _LINK.finditer(header):
        params = match.group(2).lower()
        if re.search(r';\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?', params):
            return match.group(1)
    return None


def cursor_of(url: str) -> str | None:
    """The `cursor` query parameter of a URL, or None."""
    values = parse_qs(urlsplit(url).query).get("cursor")
    return values[0] if values else None


def _arrow_table(content: bytes) -> pa.Table:
    with pa.ipc.open_stream(content) as reader:
        return reader.read_all()


def _schema_meta(table: pa.Table) -> dict[str, Any]:
    """The JSON envelope an Arrow response carries in its schema metadata: the keys
    `carbon254` and `carbon254.<part>` (e.g. `carbon254.curve`), merged."""
    meta: dict[str, Any] = {}
    for key, raw in (table.schema.metadata or {}).items():
        if key != b"carbon254" and not key.startswith(b"carbon254."):
            continue
        try:
            value = loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict):
            meta.update(value)
    return meta


def read_page(
    response: httpx.Response,
    schema: pa.Schema | None = None,
    strings: frozenset[str] = frozenset(),
) -> Page:
    """A tabular response (Arrow stream or columnar JSON) as a `Page`.

    The next page is named by `X-Next-Cursor`, by a `Link: <...>; rel="next"` header,
    or (JSON) by the body's `next_cursor`; absent or empty means this was the last page.
    """
    kind = media_type(response)
    link = next_link(response.headers.get("link"))
    cursor = response.headers.get("x-next-cursor") or None
    if kind == ARROW_STREAM:
        table = _arrow_table(response.content)
        meta = _schema_meta(table)
    elif kind == JSON or kind.endswith("+json"):
        body = loads(response.content)
        if not isinstance(body, dict) or not isinstance(body.get("columns"), dict):
            raise ValueError("expected a columnar JSON body with a 'columns' object")
        meta = {k: v for k, v in body.items() if k != "columns"}
        table = columns_to_table(body["columns"], schema, strings)
        cursor = cursor or meta.get("next_cursor") or None
    else:
        raise ValueError(f"unexpected content type {kind or '(none)'!r} for a table")
    if cursor is None and link is not None:
        cursor = cursor_of(link)
    return Page(table, meta, cursor, link)
