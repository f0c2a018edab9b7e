"""Canonical schemas of the ISO records kept beside prices, and their validation.

Binding constraints (shadow prices), per-resource dispatch telemetry and market
quantities are keyed records, not priced instruments: each row is identified by its
dataset, a name (facility, resource, series) and an interval start. Job runs are the
scheduler's bookkeeping.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .markets import Iso, Market
from .schema import EARLIEST_INTERVAL, LATEST_INTERVAL, UTC_TS, SchemaError, conform

__all__ = [
    "CONSTRAINT_KEY",
    "CONSTRAINT_SCHEMA",
    "JOB_RUN_SCHEMA",
    "JOB_STATUSES",
    "QUANTITY_KEY",
    "QUANTITY_SCHEMA",
    "TELEMETRY_KEY",
    "TELEMETRY_SCHEMA",
    "validate_constraints",
    "validate_quantities",
    "validate_telemetry",
]

# Binding transmission constraints (shadow prices), one row per (dataset, monitored
# facility, contingency, interval). `contingency_facility` is "" when the source names
# none (so the key never holds a NULL); `shadow_price` is null for event-only datasets
# (PJM da_transconstraints says *that* a constraint bound, not at what price).
CONSTRAINT_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("iso", pa.string(), nullable=False),
        pa.field("market", pa.string(), nullable=False),
        pa.field("monitored_facility", pa.string(), nullable=False),
        pa.field("contingency_facility", pa.string(), nullable=False),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("interval_end", UTC_TS, nullable=False),
        pa.field("shadow_price", pa.float64()),
        pa.field("penalty_factor", pa.float64()),
        pa.field("limit_control_pct", pa.float64()),
    ]
)
CONSTRAINT_KEY = ("dataset", "monitored_facility", "contingency_facility", "interval_start")

# Per-resource dispatch telemetry (ERCOT 60-day SCED disclosure): one row per
# (dataset, resource, SCED timestamp). SCED runs are not on a fixed grid, so there is no
# interval_end.
TELEMETRY_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("iso", pa.string(), nullable=False),
        pa.field("resource", pa.string(), nullable=False),
        pa.field("resource_type", pa.string()),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("base_point", pa.float64()),
        pa.field("telemetered_output", pa.float64()),
        pa.field("hsl", pa.float64()),
        pa.field("lsl", pa.float64()),
        pa.field("status", pa.string()),
    ]
)
TELEMETRY_KEY = ("dataset", "resource", "interval_start")

# Market quantities that are not prices (ERCOT 2-day AS disclosure: cleared and
# self-arranged MW per service and hour). `series` names the quantity, e.g.
# "cleared.REGUP"; one row per (dataset, series, interval).
QUANTITY_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("iso", pa.string(), nullable=False),
        pa.field("series", pa.string(), nullable=False),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("interval_end", UTC_TS, nullable=False),
        pa.field("value", pa.float64()),
    ]
)
QUANTITY_KEY = ("dataset", "series", "interval_start")

# One attempt of a scheduled ingestion job over one window (what the store returns).
JOB_RUN_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.int64(), nullable=False),
        pa.field("job", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("window_start", UTC_TS, nullable=False),
        pa.field("window_end", UTC_TS, nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("attempts", pa.int64(), nullable=False),
        pa.field("rows", pa.int64()),
        pa.field("batch_id", pa.int64()),
        pa.field("error", pa.string()),
        pa.field("started_at", UTC_TS, nullable=False),
        pa.field("finished_at", UTC_TS),
    ]
)
JOB_STATUSES = ("running", "succeeded", "failed", "skipped")


def validate_constraints(table: pa.Table) -> pa.Table:
    """Return `table` conformed to `CONSTRAINT_SCHEMA`, or raise `SchemaError` saying why.

    Checks: required columns present and typed, timestamps tz-aware (converted to UTC)
    within 1990-2100, known ISO and market, non-empty names, interval_end after
    interval_start, finite numbers (null is fine, NaN is not), and no duplicate
    (dataset, monitored_facility, contingency_facility, interval_start).
    """
    required = [f.name for f in CONSTRAINT_SCHEMA if not f.nullable]
    table = conform(table, CONSTRAINT_SCHEMA, required)
    if table.num_rows == 0:
        return table
    _check_record_labels(table, CONSTRAINT_KEY, ("dataset", "iso", "market", "monitored_facility"))
    _check_member(table, "market", [m.value for m in Market], CONSTRAINT_KEY)
    bad = pc.less_equal(table.column("interval_end"), table.column("interval_start"))
    if pc.any(bad).as_py():
        raise SchemaError(
            f"interval_end must be after interval_start: {_at(table, bad, CONSTRAINT_KEY)}"
        )
    _check_finite(table, ("shadow_price", "penalty_factor", "limit_control_pct"), CONSTRAINT_KEY)
    _check_unique_key(table, CONSTRAINT_KEY)
    return table


def validate_telemetry(table: pa.Table) -> pa.Table:
    """Return `table` conformed to `TELEMETRY_SCHEMA`, or raise `SchemaError` saying why.

    Checks: required columns present and typed, timestamps tz-aware (converted to UTC)
    within 1990-2100, known ISO, non-empty names, finite numbers (null is fine, NaN is
    not), and no duplicate (dataset, resource, interval_start).
    """
    required = [f.name for f in TELEMETRY_SCHEMA if not f.nullable]
    table = conform(table, TELEMETRY_SCHEMA, required)
    if table.num_rows == 0:
        return table
    _check_record_labels(table, TELEMETRY_KEY, ("dataset", "iso", "resource"))
    _check_finite(table, ("base_point", "telemetered_output", "hsl", "lsl"), TELEMETRY_KEY)
    _check_unique_key(table, TELEMETRY_KEY)
    return table


def validate_quantities(table: pa.Table) -> pa.Table:
    """Return `table` conformed to `QUANTITY_SCHEMA`, or raise `SchemaError` saying why:
    known ISO, non-empty names, interval_end after interval_start, finite values, and no
    duplicate (dataset, series, interval_start)."""
    required = [f.name for f in QUANTITY_SCHEMA if not f.nullable]
    table = conform(table, QUANTITY_SCHEMA, required)
    if table.num_rows == 0:
        return table
    _check_record_labels(table, QUANTITY_KEY, ("dataset", "iso", "series"))
    bad = pc.less_equal(table.column("interval_end"), table.column("interval_start"))
    if pc.any(bad).as_py():
        raise SchemaError(
            f"interval_end must be after interval_start: {_at(table, bad, QUANTITY_KEY)}"
        )
    _check_finite(table, ("value",), QUANTITY_KEY)
    _check_unique_key(table, QUANTITY_KEY)
    return table


def _at(table: pa.Table, mask: pa.Array | np.ndarray, key: tuple[str, ...]) -> str:
    """'row i (key values)' of the first row where `mask` is true, for error messages."""
    index = int(np.flatnonzero(np.asarray(mask))[0])
    return f"row {index} ({_key_text(table.slice(index, 1).to_pylist()[0], key)})"


def _key_text(row: dict, key: tuple[str, ...]) -> str:
    return ", ".join(
        row[k].isoformat() if isinstance(row[k], datetime) else repr(row[k]) for k in key
    )


def _check_record_labels(table: pa.Table, key: tuple[str, ...], names: tuple[str, ...]) -> None:
    for name in names:
        empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table.column(name))), 0)
        if pc.any(empty).as_py():
            raise SchemaError(f"column {name!r} is empty: {_at(table, empty, key)}")
    _check_member(table, "iso", [i.value for i in Iso], key)
    start = table.column("interval_start")
    outside = pc.or_(
        pc.less(start, pa.scalar(EARLIEST_INTERVAL, UTC_TS)),
        pc.greater_equal(start, pa.scalar(LATEST_INTERVAL, UTC_TS)),
    )
    if pc.any(outside).as_py():
        raise SchemaError(
            f"interval_start outside {EARLIEST_INTERVAL.year}-{LATEST_INTERVAL.year}: "
            + _at(table, outside, key)
        )


def _check_member(table: pa.Table, name: str, allowed: list[str], key: tuple[str, ...]) -> None:
    unknown = pc.invert(pc.is_in(table.column(name), value_set=pa.array(allowed)))
    if pc.any(unknown).as_py():
        value = table.column(name).filter(unknown)[0].as_py()
        raise SchemaError(
            f"unknown {name} {value!r} (expected one of {', '.join(allowed)}): "
            + _at(table, unknown, key)
        )


def _check_finite(table: pa.Table, names: tuple[str, ...], key: tuple[str, ...]) -> None:
    for name in names:
        column = table.column(name)
        # null means "not published"; NaN or infinity is a parsing bug upstream
        bad = pc.fill_null(pc.invert(pc.is_finite(column)), False)
        if pc.any(bad).as_py():
            raise SchemaError(
                f"{name} must be a finite number or null, got "
                f"{column.filter(bad)[0].as_py()}: {_at(table, bad, key)}"
            )


def _check_unique_key(table: pa.Table, key: tuple[str, ...]) -> None:
    counts = table.group_by(list(key), use_threads=False).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts.column("count_all"), 1))
    if repeated.num_rows:
        row = repeated.slice(0, 1).to_pylist()[0]
        raise SchemaError(
            f"duplicate ({', '.join(key)}): ({_key_text(row, key)}) appears "
            f"{row['count_all']} times"
        )
