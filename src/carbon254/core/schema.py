"""Canonical Arrow schemas and their validation.

Every connector produces, and every store consumes, a price table in `PRICE_SCHEMA`:
one row per (instrument, interval), times tz-aware UTC, and for LMPs the energy,
congestion and loss components (plus GHG for CAISO) that add up to the price.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .instrument import InstrumentId, InvalidInstrumentId

__all__ = [
    "BATCH_SCHEMA",
    "COMPONENT_TOLERANCE",
    "EARLIEST_INTERVAL",
    "INSTRUMENT_SCHEMA",
    "LATEST_INTERVAL",
    "LOCATION_SCHEMA",
    "PRICE_SCHEMA",
    "RESAMPLE_SCHEMA",
    "UTC_TS",
    "SchemaError",
    "conform",
    "duplicate_error",
    "instrument_codes",
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

# The shapes the store returns and the API serves: one definition for server and SDK.
RESAMPLE_SCHEMA = pa.schema(
    [
        pa.field("instrument", pa.string(), nullable=False),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("interval_end", UTC_TS, nullable=False),
        pa.field("value", pa.float64()),
        pa.field("count", pa.int64(), nullable=False),
    ]
)
INSTRUMENT_SCHEMA = pa.schema(
    [
        pa.field("instrument", pa.string(), nullable=False),
        pa.field("iso", pa.string(), nullable=False),
        pa.field("market", pa.string(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("first_interval", UTC_TS),
        pa.field("last_interval", UTC_TS),
    ]
)
BATCH_SCHEMA = pa.schema(
    [
        pa.field("batch_id", pa.int64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("fetched_at", UTC_TS),
        pa.field("content_sha256", pa.string()),
        pa.field("rows_received", pa.int64()),
        pa.field("rows_inserted", pa.int64()),
        pa.field("rows_revised", pa.int64()),
        pa.field("rows_unchanged", pa.int64()),
        pa.field("instruments_created", pa.int64()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("started_at", UTC_TS),
        pa.field("finished_at", UTC_TS),
        pa.field("committed_at", UTC_TS),
        pa.field("source_url", pa.string()),  # lineage: where the bytes came from
    ]
)

# Interval starts outside this span are typos (a year 1900, 2202…), not market data.
EARLIEST_INTERVAL = datetime(1990, 1, 1, tzinfo=UTC)
LATEST_INTERVAL = datetime(2100, 1, 1, tzinfo=UTC)

# value = energy + congestion + loss (+ ghg) must hold to a cent, plus float slack.
COMPONENT_TOLERANCE = 0.01 + 1e-9


class SchemaError(ValueError):
    """A table that does not meet a canonical schema; the message says what and where."""


def conform(
    table: pa.Table,
    schema: pa.Schema,
    required: Iterable[str],
    keep_dictionary: tuple[str, ...] = (),
) -> pa.Table:
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
            if field.name in keep_dictionary and pa.types.is_string(column.type.value_type):
                columns.append(column.unify_dictionaries() if column.num_chunks > 1 else column)
                continue
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
    fields = [
        field.with_type(col.type) if pa.types.is_dictionary(col.type) else field
        for field, col in zip(schema, columns, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


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


def validate_prices(table: pa.Table, *, check_unique: bool = True) -> pa.Table:
    """Return `table` conformed to `PRICE_SCHEMA`, or raise `SchemaError` saying what is wrong.

    Checks: required columns present and typed; timestamps tz-aware (converted to UTC);
    every instrument id parses and is canonical; interval_end > interval_start and the
    interval length matches the market (capacity is priced per period and exempt); no
    duplicate (instrument, interval_start); no NaN prices; components all present or all
    absent, and value = energy + congestion + loss (+ ghg) within $0.01.

    A dictionary-encoded instrument column stays dictionary-encoded (the cheap form for
    millions of rows over a few thousand instruments); everything is vectorized.
    `check_unique=False` is for callers that sort the rows anyway and check duplicates
    there (the store does, with `duplicate_error`).
    """
    table = conform(table, PRICE_SCHEMA, _REQUIRED, keep_dictionary=("instrument",))
    if table.num_rows == 0:
        return table
    codes, names = instrument_codes(table)
    parsed = _parse_instruments(names)

    start = table.column("interval_start")
    end = table.column("interval_end")
    early = pc.less(start, pa.scalar(EARLIEST_INTERVAL, UTC_TS))
    late = pc.greater_equal(start, pa.scalar(LATEST_INTERVAL, UTC_TS))
    outside = pc.or_(early, late)
    if pc.any(outside).as_py():
        raise SchemaError(
            f"interval_start outside {EARLIEST_INTERVAL.year}-{LATEST_INTERVAL.year}: "
            + _row(table, outside)
        )
    bad = pc.less_equal(end, start)
    if pc.any(bad).as_py():
        raise SchemaError(f"interval_end must be after interval_start: {_row(table, bad)}")
    _check_interval_lengths(table, codes, parsed)

    value = table.column("value")
    nan = pc.is_nan(value)
    if pc.any(nan).as_py():
        raise SchemaError(f"value is NaN: {_row(table, nan)}")
    infinite = pc.is_inf(value)
    if pc.any(infinite).as_py():
        raise SchemaError(f"value is infinite: {_row(table, infinite)}")
    _check_components(table, codes, parsed)
    if check_unique:
        _check_unique(table, codes, names)
    return table


def instrument_codes(table: pa.Table) -> tuple[np.ndarray, list[str]]:
    """Integer code per row and the distinct instrument ids the codes index."""
    column = table.column("instrument")
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    if isinstance(column, pa.ChunkedArray):
        column = column.unify_dictionaries().combine_chunks()
    codes = column.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return codes, column.dictionary.to_pylist()


def _parse_instruments(names: list[str]) -> list[InstrumentId]:
    parsed = []
    for text in names:
        try:
            iid = InstrumentId.parse(text)
        except InvalidInstrumentId as exc:
            raise SchemaError(str(exc)) from None
        if str(iid) != text:
            raise SchemaError(f"instrument id {text!r} is not in canonical form; use {str(iid)!r}")
        parsed.append(iid)
    return parsed


def _micros(column: pa.ChunkedArray) -> np.ndarray:
    return column.cast(pa.int64()).to_numpy()


def _check_interval_lengths(table: pa.Table, codes: np.ndarray, parsed: list[InstrumentId]) -> None:
    # Expected length per instrument code, in microseconds; -1 where any length is fine.
    expected = np.array(
        [
            -1 if iid.product.is_period_priced else iid.market.interval // timedelta(microseconds=1)
            for iid in parsed
        ],
        dtype=np.int64,
    )
    lengths = _micros(table.column("interval_end")) - _micros(table.column("interval_start"))
    want = expected[codes]
    wrong = (want >= 0) & (lengths != want)
    if wrong.any():
        index = int(np.flatnonzero(wrong)[0])
        iid = parsed[codes[index]]
        raise SchemaError(
            f"{iid}: interval length {timedelta(microseconds=int(lengths[index]))} does not "
            f"match its market ({iid.market.interval}): {_row(table, wrong)}"
        )


def _check_components(table: pa.Table, codes: np.ndarray, parsed: list[InstrumentId]) -> None:
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
    ghg_alone = pc.and_(pc.is_valid(table.column("ghg")), pc.invert(every))
    if pc.any(ghg_alone).as_py():
        raise SchemaError(
            "ghg is a component of the LMP and needs energy, congestion and loss: "
            + _row(table, ghg_alone)
        )
    if not pc.any(every).as_py():
        return
    allowed = np.array([iid.product.has_components for iid in parsed], dtype=bool)[codes]
    foreign = every.to_numpy(zero_copy_only=False) & ~allowed
    if foreign.any():
        iid = parsed[codes[int(np.flatnonzero(foreign)[0])]]
        raise SchemaError(
            f"{iid}: {iid.product} prices have no energy/congestion/loss components: "
            + _row(table, foreign)
        )
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


def _check_unique(table: pa.Table, codes: np.ndarray, names: list[str]) -> None:
    starts = _micros(table.column("interval_start"))
    order = np.lexsort((starts, codes))
    c, t = codes[order], starts[order]
    same = (c[1:] == c[:-1]) & (t[1:] == t[:-1])
    if same.any():
        at = int(np.flatnonzero(same)[0])
        raise duplicate_error(
            names[c[at]], int(t[at]), int(((codes == c[at]) & (starts == t[at])).sum())
        )


def duplicate_error(instrument: str, start_us: int, count: int) -> SchemaError:
    """The error for a repeated (instrument, interval_start), `start_us` in epoch µs."""
    when = datetime.fromtimestamp(start_us / 1e6, tz=UTC).isoformat()
    return SchemaError(
        f"duplicate (instrument, interval_start): {instrument} at {when} appears {count} times"
    )
