"""Encoding Arrow tables into response bodies: columnar JSON, CSV, Arrow IPC and Parquet.

Every encoder is vectorized: timestamps become ISO-8601 strings through numpy (UTC with
`Z`; a column typed with another zone gets that zone's offset, e.g. `-04:00`), floats go
to orjson as numpy arrays (null becomes NaN becomes JSON null), CSV is written by
pyarrow.csv and Parquet by pyarrow.parquet. Nothing walks rows in Python.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from starlette.responses import Response

__all__ = [
    "ARROW_STREAM",
    "CSV",
    "FORMATS",
    "JSON",
    "PARQUET",
    "SERIES_MEDIA_TYPES",
    "TABULAR_MEDIA_TYPES",
    "arrow_stream",
    "column_values",
    "columnar_json",
    "csv_bytes",
    "encode",
    "iso_z",
    "parquet_bytes",
    "tabular_response",
]

JSON = "application/json"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
TABULAR_MEDIA_TYPES = (JSON, ARROW_STREAM)
"""What every tabular route offers (JSON first: the default)."""
SERIES_MEDIA_TYPES = (JSON, CSV, ARROW_STREAM, PARQUET)
"""What the REST resources offer; `format=` names them for browsers and Excel."""
FORMATS = {"json": JSON, "csv": CSV, "arrow": ARROW_STREAM, "parquet": PARQUET}

_EXTENSIONS = {CSV: "csv", PARQUET: "parquet"}


def iso_z(instant: datetime | None) -> str | None:
    """An aware datetime as ISO-8601 in UTC with a `Z` suffix."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


_TICKS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_UTC_NAMES = ("UTC", "Etc/UTC", "Z", "+00:00")


def _with_nulls(column: pa.ChunkedArray, strings: np.ndarray) -> list[str | None]:
    if not column.null_count:
        return strings.tolist()
    out = strings.astype(object)
    out[column.is_null().to_numpy(zero_copy_only=False)] = None
    return out.tolist()


def _wall_strings(ticks: np.ndarray, unit: str) -> np.ndarray:
    """Naive ISO-8601 strings of integer ticks, to the second when no tick has a fraction."""
    whole_seconds = not np.any(ticks % _TICKS_PER_SECOND[unit])
    values = ticks.astype(f"datetime64[{unit}]")
    return np.datetime_as_string(values, unit="s" if whole_seconds else unit)


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _iso_strings(column: pa.ChunkedArray) -> np.ndarray:
    """ISO-8601 strings of a tz-aware timestamp column: `Z` for UTC, else the offset."""
    kind = column.type
    unit = kind.unit
    utc_ticks = column.cast(pa.int64()).fill_null(0).to_numpy()
    if kind.tz in _UTC_NAMES:
        return np.char.add(_wall_strings(utc_ticks, unit), "Z")
    filled = pc.fill_null(column, pa.scalar(0, kind)) if column.null_count else column
    wall = pc.local_timestamp(filled)
    wall_ticks = wall.cast(pa.int64()).to_numpy()
    offsets = (wall_ticks - utc_ticks) // (60 * _TICKS_PER_SECOND[unit])
    distinct, position = np.unique(offsets, return_inverse=True)
    suffix = np.array([_offset_text(int(m)) for m in distinct])[position]
    return np.char.add(_wall_strings(wall_ticks, unit), suffix)


def column_values(column: pa.ChunkedArray) -> Any:
    """One column as something orjson serializes fast (a list or a numpy array)."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise TypeError("naive timestamp column; the store must return UTC")
        if len(column) == 0:
            return []
        return _with_nulls(column, _iso_strings(column))
    if pa.types.is_date(kind):
        days = column.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy()
        return _with_nulls(column, np.datetime_as_string(days.astype("datetime64[D]")))
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


def csv_bytes(table: pa.Table) -> bytes:
    """CSV with a header row; times written as in JSON (ISO-8601, `Z` or the offset)."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type) and len(column):
            column = pa.array(_iso_strings(column), pa.string(), mask=_null_mask(column))
        columns.append(column)
    sink = io.BytesIO()
    # Our column names need no quotes; values are quoted only where needed.
    options = pacsv.WriteOptions(quoting_style="needed", quoting_header="none")
    pacsv.write_csv(pa.table(columns, names=table.column_names), sink, options)
    return sink.getvalue()


def _null_mask(column: pa.ChunkedArray) -> np.ndarray | None:
    if not column.null_count:
        return None
    return column.is_null().to_numpy(zero_copy_only=False)


def parquet_bytes(table: pa.Table) -> bytes:
    """A Parquet file (zstd) in memory; the Arrow schema, time zones included, survives."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def encode(table: pa.Table, media_type: str, meta: Mapping[str, Any]) -> bytes:
    """`table` as `media_type`; `meta` goes into the JSON body only."""
    if media_type == ARROW_STREAM:
        return arrow_stream(table)
    if media_type == CSV:
        return csv_bytes(table)
    if media_type == PARQUET:
        return parquet_bytes(table)
    return columnar_json(table, meta)


def tabular_response(
    table: pa.Table,
    media_type: str,
    meta: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
) -> Response:
    """`table` in the negotiated format. CSV and Parquet name a download `filename`."""
    out = {"Vary": "Accept", **(headers or {})}
    if filename and media_type in _EXTENSIONS:
        out["Content-Disposition"] = f'attachment; filename="{filename}.{_EXTENSIONS[media_type]}"'
    return Response(encode(table, media_type, meta), media_type=media_type, headers=out)
