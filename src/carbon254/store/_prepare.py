"""Turn incoming canonical price data into store-ready chunks: validated, keyed, ordered."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..core import validate_prices
from ..core.schema import duplicate_error, instrument_codes
from .base import PriceData

__all__ = ["Chunk", "ContentHasher", "iter_tables", "prepare_chunk"]

_DAY_US = 86_400_000_000
_VALUE_COLUMNS = ("value", "energy", "congestion", "loss", "ghg")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One validated piece of a batch, with one integer code per row into `names`."""

    table: pa.Table  # PRICE_SCHEMA, instrument possibly dictionary-encoded
    codes: np.ndarray  # int32 per row
    names: list[str]  # distinct instrument ids

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


def iter_tables(data: PriceData) -> Iterator[pa.Table]:
    """Yield the pieces of a batch as tables: a Table is one piece, a stream is many."""
    if isinstance(data, pa.Table):
        yield data
        return
    if isinstance(data, pa.RecordBatch):
        yield pa.Table.from_batches([data])
        return
    for piece in data:
        if isinstance(piece, pa.RecordBatch):
            yield pa.Table.from_batches([piece])
        elif isinstance(piece, pa.Table):
            yield piece
        else:
            raise TypeError(f"expected pyarrow Table or RecordBatch, got {type(piece).__name__}")


def prepare_chunk(table: pa.Table) -> Chunk:
    # Duplicates are found in `stage_table`, on rows it sorts anyway.
    validated = validate_prices(table, check_unique=False)
    codes, names = instrument_codes(validated)
    return Chunk(validated, codes, names)


def stage_table(
    chunk: Chunk,
    keys: np.ndarray,
    order: Callable[[np.ndarray, np.ndarray], np.ndarray | None],
    timestamp_type: pa.DataType,
) -> pa.Table:
    """The chunk as (instrument_key, times, values), rows in the backend's physical order.

    `keys[code]` is the store key of each distinct instrument; `order(row_keys, starts)`
    returns a permutation, or None when the rows are already in order.
    """
    row_keys = keys[chunk.codes].astype(np.int32, copy=False)
    start = chunk.table.column("interval_start").cast(pa.int64()).to_numpy()
    end = chunk.table.column("interval_end").cast(pa.int64()).to_numpy()
    perm = order(row_keys, start)
    _check_unique(chunk, row_keys, start, perm)
    columns: dict[str, pa.Array | np.ndarray] = {}
    if perm is None:
        columns["instrument_key"] = row_keys
        columns["interval_start"] = pa.array(start).cast(timestamp_type)
        columns["interval_end"] = pa.array(end).cast(timestamp_type)
        for name in _VALUE_COLUMNS:
            columns[name] = chunk.table.column(name).combine_chunks()
    else:
        take = pa.array(perm)
        columns["instrument_key"] = row_keys[perm]
        columns["interval_start"] = pa.array(start[perm]).cast(timestamp_type)
        columns["interval_end"] = pa.array(end[perm]).cast(timestamp_type)
        for name in _VALUE_COLUMNS:
            columns[name] = chunk.table.column(name).combine_chunks().take(take)
    return pa.table(columns)


def _check_unique(
    chunk: Chunk, row_keys: np.ndarray, starts: np.ndarray, perm: np.ndarray | None
) -> None:
    """Raise on a repeated (instrument, interval_start): in sorted rows they are adjacent."""
    keys, times = (row_keys, starts) if perm is None else (row_keys[perm], starts[perm])
    same = (keys[1:] == keys[:-1]) & (times[1:] == times[:-1])
    if same.any():
        at = int(np.flatnonzero(same)[0])
        row = at if perm is None else int(perm[at])
        count = int(((row_keys == keys[at]) & (starts == times[at])).sum())
        raise duplicate_error(chunk.names[chunk.codes[row]], int(times[at]), count)


def day_major_order(row_keys: np.ndarray, starts: np.ndarray) -> np.ndarray | None:
    """(day, instrument, time): each day's rows grouped per instrument (DuckDB layout).

    Days count from the chunk's first interval, not from UTC midnight, so a market day
    (04:00Z to 04:00Z for PJM) stays one sorted run rather than two.
    """
    days = (starts - starts.min()) // _DAY_US
    if _is_sorted(days, row_keys, starts):
        return None
    return np.lexsort((starts, row_keys, days))


def time_major_order(row_keys: np.ndarray, starts: np.ndarray) -> np.ndarray | None:
    """(time, instrument): rows in time order, which keeps a BRIN index tight (PostgreSQL)."""
    if _is_sorted(starts, row_keys):
        return None
    return np.lexsort((row_keys, starts))


def _is_sorted(*keys: np.ndarray) -> bool:
    """Whether rows are already in lexicographic order of `keys` (most significant first)."""
    if len(keys[0]) < 2:
        return True
    undecided = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        a, b = key[:-1], key[1:]
        if np.any(undecided & (a > b)):
            return False
        undecided &= a == b
    return True


class ContentHasher:
    """sha256 over the Arrow IPC stream of the validated batch (when no raw-bytes hash is given)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> int:
        self._sha.update(data)
        return len(data)

    def add(self, table: pa.Table) -> None:
        with pa.ipc.new_stream(self, _hash_schema(table.schema)) as writer:
            writer.write_table(_plain(table))

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    # pyarrow treats any object with write() as a sink; these make it a proper file-like.
    closed = False

    def flush(self) -> None:
        pass


def _plain(table: pa.Table) -> pa.Table:
    """Decode dictionaries so that identical content hashes identically however encoded."""
    if "instrument" not in table.column_names:  # records: conformed, never dictionaries
        return table
    index = table.schema.get_field_index("instrument")
    field = table.schema.field(index)
    if pa.types.is_dictionary(field.type):
        # keep the field's nullability: the stream's schema (`_hash_schema`) must match
        plain = field.with_type(pa.string())
        table = table.set_column(index, plain, table.column(index).cast(pa.string()))
    return table


def _hash_schema(schema: pa.Schema) -> pa.Schema:
    if "instrument" not in schema.names:
        return schema
    index = schema.get_field_index("instrument")
    field = schema.field(index)
    if pa.types.is_dictionary(field.type):
        schema = schema.set(index, field.with_type(pa.string()))
    return schema
