"""Canonical Arrow schemas and their validation.

Every connector produces, and every store consumes, a price table in `PRICE_SCHEMA`:
one row per (instrument, interval), times tz-aware UTC, and for LMPs the energy,
congestion and loss components (plus GHG for CAISO) that add up to the price.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .instrument import InstrumentId, InvalidInstrumentId
from .markets import Iso, LocationType

__all__ = [
    "COMPONENT_TOLERANCE",
    "LOCATION_SCHEMA",
    "PRICE_SCHEMA",
    "SchemaError",
    "validate_locations",
    "validate_prices",
]

UTC_TS = pa.timestamp("us", tz="UTC")

PRICE_SCHEMA = pa.schema(
    [
        pa.field("instrument", pa.string(), nullable=False),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("interval_end", UTC_TS, nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("energy", pa.float64()),
        pa.field("congestion", pa.float64()),
        pa.field("loss", pa.float64()),
        pa.field("ghg", pa.float64()),
    ]
)
_REQUIRED = ("instrument", "interval_start", "interval_end", "value")
_COMPONENTS = ("energy", "congestion", "loss")

LOCATION_SCHEMA = pa.schema(
    [
        pa.field("iso", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("location_type", pa.string(), nullable=False),
        pa.field("zone", pa.string()),
        pa.field("effective_date", pa.date32(), nullable=False),
        pa.field("termination_date", pa.date32()),
    ]
)

# value = energy + congestion + loss (+ ghg) must hold to a cent, plus float slack.
COMPONENT_TOLERANCE = 0.01 + 1e-9


class SchemaError(ValueError):
    """A table that does not meet a canonical schema; the message says what and where."""


def _conform(table: pa.Table, schema: pa.Schema, required: Iterable[str]) -> pa.Table:
    missing = [name for name in required if name not in table.column_names]
    if missing:
        raise SchemaError(f"missing required column(s): {', '.join(missing)}")
    unknown = [name for name in table.column_names if name not in schema.names]
    if unknown:
        raise SchemaError(f"unknown column(s): {', '.join(unknown)}")
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_timestamp(field.type):
            column = _utc(column, field.name)
        elif column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"column {field.name!r} has type {column.type}, expected {field.type}"
                ) from exc
        if not field.nullable and column.null_count:
            raise SchemaError(f"column {field.name!r} has {column.null_count} null value(s)")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def _utc(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    if not pa.types.is_timestamp(column.type):
        raise SchemaError(f"column {name!r} must be a timestamp, got {column.type}")
    if column.type.tz is None:
        raise SchemaError(f"column {name!r} must be tz-aware (UTC); got naive timestamps")
    # Any tz-aware timestamp is an instant; re-labelling it as UTC is lossless.
    try:
        return column.cast(pa.timestamp(column.type.unit, tz="UTC")).cast(UTC_TS)
    except pa.ArrowInvalid as exc:
        raise SchemaError(f"column {name!r} has sub-microsecond timestamps: {exc}") from exc


def _row(table: pa.Table, mask: pa.Array | np.ndarray) -> str:
    index = int(np.flatnonzero(np.asarray(mask))[0])
    row = table.slice(index, 1).to_pylist()[0]
    return f"row {index} ({row['instrument']} at {row['interval_start'].isoformat()})"


def validate_prices(table: pa.Table) -> pa.Table:
    """Return `table` conformed to `PRICE_SCHEMA`, or raise `SchemaError` saying what is wrong.

    Checks: required columns present and typed; timestamps tz-aware (converted to UTC);
    every instrument id parses; interval_end > interval_start and the interval length
    matches the market (capacity is priced per period and exempt); no duplicate
    (instrument, interval_start); no NaN prices; components all present or all absent,
    and value = energy + congestion + loss (+ ghg) within $0.01.
    """
    table = _conform(table, PRICE_SCHEMA, _REQUIRED)
    if table.num_rows == 0:
        return table
    instruments = pc.unique(table.column("instrument")).to_pylist()
    parsed: dict[str, InstrumentId] = {}
    for text in instruments:
        try:
            parsed[text] = InstrumentId.parse(text)
        except InvalidInstrumentId as exc:
            raise SchemaError(str(exc)) from None
        if str(parsed[text]) != text:
            raise SchemaError(
                f"instrument id {text!r} is not in canonical form; use {str(parsed[text])!r}"
            )

    start, end = table.column("interval_start"), table.column("interval_end")
    bad = pc.less_equal(end, start)
    if pc.any(bad).as_py():
        raise SchemaError(f"interval_end must be after interval_start: {_row(table, bad)}")
    _check_interval_lengths(table, parsed)

    value = table.column("value")
    nan = pc.is_nan(value)
    if pc.any(nan).as_py():
        raise SchemaError(f"value is NaN: {_row(table, nan)}")
    _check_components(table)
    _check_unique(table)
    return table


def _check_interval_lengths(table: pa.Table, parsed: dict[str, InstrumentId]) -> None:
    expected = {
        text: iid.market.interval
        for text, iid in parsed.items()
        if not iid.product.is_period_priced
    }
    if not expected:
        return
    lengths = pc.subtract(table.column("interval_end"), table.column("interval_start"))
    lengths = lengths.cast(pa.duration("us"))
    unique = pa.table({"instrument": table.column("instrument"), "length": lengths})
    pairs = unique.group_by(["instrument", "length"]).aggregate([]).to_pylist()
    for pair in pairs:
        want = expected.get(pair["instrument"])
        if want is not None and pair["length"] != want:
            raise SchemaError(
                f"{pair['instrument']}: interval length {pair['length']} does not match "
                f"its market ({want})"
            )


def _check_components(table: pa.Table) -> None:
    parts = [table.column(name) for name in _COMPONENTS]
    present = [pc.is_valid(col) for col in parts]
    some = pc.or_(pc.or_(present[0], present[1]), present[2])
    every = pc.and_(pc.and_(present[0], present[1]), present[2])
    partial = pc.and_(some, pc.invert(every))
    if pc.any(partial).as_py():
        raise SchemaError(
            "energy, congestion and loss must be given together or not at all: "
            + _row(table, partial)
        )
    if not pc.any(every).as_py():
        return
    total = pc.add(pc.add(parts[0], parts[1]), parts[2])
    total = pc.add(total, pc.fill_null(table.column("ghg"), 0.0))
    gap = pc.abs(pc.subtract(table.column("value"), total))
    # `not (gap <= tol)` rather than `gap > tol`, so that a NaN component is flagged too.
    off = pc.fill_null(pc.invert(pc.less_equal(gap, COMPONENT_TOLERANCE)), False)
    if pc.any(off).as_py():
        index = int(np.flatnonzero(off.to_numpy(zero_copy_only=False))[0])
        row = table.slice(index, 1).to_pylist()[0]
        raise SchemaError(
            "value must equal energy + congestion + loss (+ ghg) within $0.01: "
            f"{_row(table, off)} has value {row['value']} but components sum to "
            f"{row['energy'] + row['congestion'] + row['loss'] + (row['ghg'] or 0.0):.6g}"
        )


def _check_unique(table: pa.Table) -> None:
    keys = table.select(["instrument", "interval_start"])
    counts = keys.group_by(["instrument", "interval_start"]).aggregate(
        [("instrument", "count")]
    )
    if counts.num_rows == table.num_rows:
        return
    dup = counts.filter(pc.greater(counts.column("instrument_count"), 1)).slice(0, 1)
    row = dup.to_pylist()[0]
    raise SchemaError(
        f"duplicate (instrument, interval_start): {row['instrument']} at "
        f"{row['interval_start'].isoformat()} appears {row['instrument_count']} times"
    )


def validate_locations(table: pa.Table) -> pa.Table:
    """Conform a location directory table to `LOCATION_SCHEMA` and check its values."""
    table = _conform(table, LOCATION_SCHEMA, ("iso", "location", "location_type", "effective_date"))
    for iso in pc.unique(table.column("iso")).to_pylist():
        if iso not in Iso.__members__:
            raise SchemaError(f"unknown iso {iso!r} in location directory")
    for kind in pc.unique(table.column("location_type")).to_pylist():
        if kind not in LocationType.__members__:
            raise SchemaError(f"unknown location_type {kind!r} in location directory")
    ends = table.column("termination_date")
    bad = pc.fill_null(pc.less_equal(ends, table.column("effective_date")), False)
    if pc.any(bad).as_py():
        index = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
        row = table.slice(index, 1).to_pylist()[0]
        raise SchemaError(
            f"location {row['iso']}.{row['location']}: termination_date "
            f"{row['termination_date']} is not after effective_date {row['effective_date']}"
        )
    keys = table.group_by(["iso", "location", "effective_date"]).aggregate([])
    if keys.num_rows != table.num_rows:
        raise SchemaError("duplicate (iso, location, effective_date) in location directory")
    return table
