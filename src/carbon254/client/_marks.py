"""Marks for an upload, from what a desk has in hand: a DataFrame, an Arrow table or a
list of mappings with month, peak and price. The server checks the values; this only
shapes them into its JSON body (`{"marks": [{"month": "2027-01", ...}]}`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

__all__ = ["mark_rows", "month"]


def month(value: object) -> str:
    """`YYYY-MM` from a string (sent as it is), a date, datetime, Timestamp or Period."""
    if isinstance(value, str):
        return value.strip()
    year, number = getattr(value, "year", None), getattr(value, "month", None)
    if isinstance(year, int) and isinstance(number, int):
        return f"{year:04d}-{number:02d}"
    raise TypeError(f"a mark's month must be 'YYYY-MM' or a date, not {value!r}")


def _number(value: object) -> object:
    # numpy scalars become floats; anything else goes as it is, for the server to judge.
    if not hasattr(value, "__float__") or isinstance(value, str):
        return value
    number = float(value)  # type: ignore[arg-type]
    # JSON has no NaN or infinity: send those as text, which the server refuses by row.
    return number if math.isfinite(number) else str(number)


def mark_rows(marks: object) -> list[dict[str, Any]]:
    """Marks from a DataFrame, an Arrow table, or an iterable of mappings."""
    if hasattr(marks, "to_dict") and hasattr(marks, "columns"):  # pandas
        rows = marks.to_dict("records")  # type: ignore[attr-defined]
    elif isinstance(marks, pa.Table):
        rows = marks.to_pylist()
    elif isinstance(marks, Iterable) and not isinstance(marks, str | bytes | Mapping):
        rows = [dict(row) for row in marks]
    else:
        raise TypeError("marks must be a DataFrame, a pyarrow Table or a list of mappings")
    out = []
    for row in rows:
        missing = {"month", "peak", "price"} - set(row)
        if missing:
            raise ValueError(f"every mark needs month, peak and price; missing {sorted(missing)}")
        peak = str(row["peak"]).strip().lower()
        out.append({"month": month(row["month"]), "peak": peak, "price": _number(row["price"])})
    return out
