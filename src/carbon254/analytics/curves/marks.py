"""User marks: checking uploaded rows, and laying marks over a built curve.

A mark is a price a desk asserts for one delivery month and peak type. Checking reports
every bad row at once (so a 120-row upload is fixed in one round trip); the overlay
replaces the built price of each marked (month, peak) and says so in `source`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pyarrow as pa

from .history import PEAKS

__all__ = ["MARK_SCHEMA", "MAX_MARK_ROWS", "apply_marks", "check_marks"]

MARK_SCHEMA = pa.schema(
    [
        pa.field("month", pa.date32(), nullable=False),
        pa.field("peak", pa.string(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
    ]
)
MAX_MARK_ROWS = 1000
_FIELDS = ("month", "peak", "price")
_MONTH = re.compile(r"(\d{4})-(\d{2})(?:-01)?")
_YEARS = (1990, 2099)


def _month(value: Any) -> tuple[date | None, str | None]:
    if isinstance(value, date):
        value = value.isoformat()
    match = _MONTH.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        return None, "month must be YYYY-MM (or YYYY-MM-01)"
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        return None, f"month {month:02d} is not 01-12"
    if not _YEARS[0] <= year <= _YEARS[1]:
        return None, f"year {year} is outside {_YEARS[0]}-{_YEARS[1]}"
    return date(year, month, 1), None


def _peak(value: Any) -> tuple[str | None, str | None]:
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in PEAKS:
        return None, "peak must be 'on' or 'off'"
    return text, None


def _price(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool) or value is None:
        return None, "price must be a number"
    try:
        price = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None, "price must be a number"
    if not math.isfinite(price):
        return None, "price must be finite"
    return price, None


def check_marks(rows: Sequence[Mapping[str, Any]]) -> tuple[pa.Table, list[dict[str, Any]]]:
    """(`MARK_SCHEMA` table, errors). Each error names its 1-based `row`, the `field` and
    the offending `value`; the table is only meaningful when there are no errors."""
    errors: list[dict[str, Any]] = []
    if not rows:
        errors.append({"row": None, "field": "marks", "detail": "marks must hold at least one row"})
    if len(rows) > MAX_MARK_ROWS:
        errors.append(
            {"row": None, "field": "marks", "detail": f"at most {MAX_MARK_ROWS} rows per upload"}
        )
    seen: dict[tuple[date, str], int] = {}
    out: dict[str, list[Any]] = {name: [] for name in _FIELDS}
    for n, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            errors.append({"row": n, "field": None, "detail": "a mark must be an object"})
            continue
        parsed: dict[str, Any] = {}
        for name, parse in (("month", _month), ("peak", _peak), ("price", _price)):
            if name not in row:
                errors.append({"row": n, "field": name, "detail": f"{name} is missing"})
                continue
            parsed[name], problem = parse(row[name])
            if problem:
                errors.append({"row": n, "field": name, "value": row[name], "detail": problem})
        extra = sorted(str(k) for k in row if k not in _FIELDS)
        if extra:
            detail = f"unknown field(s) {', '.join(extra)}; a mark has month, peak, price"
            errors.append({"row": n, "field": extra[0], "detail": detail})
        if parsed.get("month") is not None and parsed.get("peak") is not None:
            key = (parsed["month"], parsed["peak"])
            if key in seen:
                detail = f"duplicate of row {seen[key]}: {key[0]:%Y-%m} {key[1]}-peak appears twice"
                errors.append({"row": n, "field": "month", "detail": detail})
            else:
                seen[key] = n
        for name in _FIELDS:
            out[name].append(parsed.get(name))
    if errors:
        return MARK_SCHEMA.empty_table(), [_located(e) for e in errors]
    table = pa.table(out, schema=MARK_SCHEMA)
    return table.sort_by([("month", "ascending"), ("peak", "ascending")]), []


def _located(error: dict[str, Any]) -> dict[str, Any]:
    where = f"row {error['row']}: " if error.get("row") else ""
    return {**error, "detail": where + error["detail"]}


def apply_marks(curve: pa.Table, marks: pa.Table) -> pa.Table:
    """`curve` with each marked (month, peak)'s price replaced: source "mark", years null.
    Marks for months outside the curve are ignored."""
    if marks.num_rows == 0:
        return curve
    marked = {
        (m, p): price
        for m, p, price in zip(
            marks["month"].to_pylist(), marks["peak"].to_pylist(), marks["price"].to_pylist(),
            strict=True,
        )
    }  # fmt: skip
    months, peaks = curve["month"].to_pylist(), curve["peak"].to_pylist()
    hit = [(m, p) in marked for m, p in zip(months, peaks, strict=True)]
    if not any(hit):
        return curve
    prices = curve["price"].to_pylist()
    sources = curve["source"].to_pylist()
    years = curve["years"].to_pylist()
    for i, (m, p) in enumerate(zip(months, peaks, strict=True)):
        if hit[i]:
            prices[i], sources[i], years[i] = marked[(m, p)], "mark", None
    columns = {"price": prices, "source": sources, "years": years}
    arrays = [
        pa.array(columns[f.name], f.type) if f.name in columns else curve[f.name]
        for f in curve.schema
    ]
    return pa.Table.from_arrays(arrays, schema=curve.schema)
