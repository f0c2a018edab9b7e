"""Encoding Arrow tables into response bodies: columnar JSON (orjson) and Arrow IPC.

Both are vectorized: timestamps become ISO-8601 `Z` strings through numpy, floats go to
orjson as numpy arrays (null becomes NaN becomes JSON null), never row by row in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from starlette.responses import Response

__all__ = [
    "ARROW_STREAM",
    "JSON",
    "TABULAR_MEDIA_TYPES",
    "arrow_stream",
    "column_values",
    "columnar_json",
    "iso_z",
    "tabular_response",
]

JSON = "application/json"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
TABULAR_MEDIA_TYPES = (JSON, ARROW_STREAM)


def iso_z(instant: datetime | None) -> str | None:
    """An aware datetime as ISO-8601 in UTC with a `Z` suffix."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


_TICKS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _iso_strings(column: pa.ChunkedArray, values: np.ndarray, unit: str) -> list[str | None]:
    tz = "UTC" if unit != "D" else "naive"
    strings = np.datetime_as_string(values, unit=unit, timezone=tz)
    if not column.null_count:
        return strings.tolist()
    out = strings.astype(object)
    out[column.is_null().to_numpy(zero_copy_only=False)] = None
    return out.tolist()


def _timestamps(column: pa.ChunkedArray) -> list[str | None]:
    unit = column.type.unit
    ticks = column.cast(pa.int64()).fill_null(0).to_numpy()
    whole_seconds = not np.any(ticks % _TICKS_PER_SECOND[unit])
    values = ticks.astype(f"datetime64[{unit}]")
    return _iso_strings(column, values, "s" if whole_seconds else unit)


def column_values(column: pa.ChunkedArray) -> Any:
    """One column as something orjson serializes fast (a list or a numpy array)."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise TypeError("naive timestamp column; the store must return UTC")
        return _timestamps(column)
    if pa.types.is_date(kind):
        days = column.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy()
        return _iso_strings(column, days.astype("datetime64[D]"), "D")
    if pa.types.is_floating(kind):
        return column.to_numpy()  # nulls become NaN, which orjson writes as null
    if (pa.types.is_integer(kind) or pa.types.is_boolean(kind)) and not column.null_count:
        return column.to_numpy()
    return column.to_pylist()


def columnar_json(table: pa.Table, meta: Mapping[str, Any]) -> bytes:
    """`{**meta, "row_count": n, "columns": {name: [...]}}` as JSON bytes."""
    columns = {name: column_values(table.column(name)) for name in table.column_names}
    body = {**meta, "row_count": table.num_rows, "columns": columns}
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def arrow_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def tabular_response(table: pa.Table, media_type: str, meta: Mapping[str, Any]) -> Response:
    """`table` in the negotiated format; `meta` goes into the JSON body only."""
    content = arrow_stream(table) if media_type == ARROW_STREAM else columnar_json(table, meta)
    return Response(content, media_type=media_type, headers={"Vary": "Accept"})
