"""Columnar decoding of a Data Miner `items` array without building Python objects.

A 5-minute LMP day is 3.7 M items (~800 MB of JSON). `json.loads` needs tens of seconds
for that and Arrow's JSON reader several, so pages in the shape Data Miner writes them
(compact, one flat object per row, the same keys in the same order in every row) are cut
into columns with numpy: find the commas, check that every field starts with its
expected key, point Arrow string views at the values in place, and let Arrow's casts
parse the numbers. Anything else (whitespace, escapes, a comma inside a text value,
a missing key) returns None and the caller uses the exact, slower readers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

__all__ = ["decode_items"]

_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
_LOW4 = np.uint64(0xFFFFFFFF)
_NULL = np.uint64(int.from_bytes(b"null", "little"))
_TRUE = np.uint64(int.from_bytes(b"true", "little"))
_FALS = np.uint64(int.from_bytes(b"fals", "little"))
_SHIFT = np.uint64(32)
_COMMA, _QUOTE, _OPEN, _CLOSE = 44, 34, 123, 125


def _word(text: bytes) -> np.uint64:
    return np.uint64(int.from_bytes(text[:8].ljust(8, b"\0"), "little"))


def decode_items(
    body: bytes, begin: int, end: int, schema: pa.Schema, keys: Sequence[str]
) -> pa.Table | None:
    """Columns of `schema` from the items in `body[begin:end]` (`{...},{...}`), whose
    rows carry `keys` in this order; None when the fast path does not apply."""
    if end <= begin or body[begin] != _OPEN or body[end - 1] != _CLOSE:
        return None
    if len(body) >= 2**31 - 16 or body.find(b"\\", begin, end) >= 0:
        return None  # escapes inside strings: let a real JSON parser handle them
    data = body if len(body) - end >= 16 else body + b"\0" * 16
    buf = np.frombuffer(data, np.uint8)
    # words[i] = the 8 bytes starting at byte i (overlapping, unaligned, zero copy)
    words = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    commas = np.flatnonzero(buf[begin:end] == _COMMA)
    commas += begin
    width = len(keys)
    fields = len(commas) + 1
    if fields % width:
        return None
    rows = fields // width
    row_ends = np.empty(rows, np.int64)  # position of each row's closing brace + 1
    row_ends[:-1] = commas[width - 1 :: width]
    row_ends[-1] = end
    labels = [json.dumps(key).encode() + b":" for key in keys]
    heads = [label[:8] for label in labels]
    columns: dict[str, pa.Array] = {}
    for k, key in enumerate(keys):
        if k == 0:
            starts = np.empty(rows, np.int64)
            starts[0] = begin
            starts[1:] = row_ends[:-1] + 1
            if not (buf[starts] == _OPEN).all():
                return None
            starts += 1
        else:
            starts = commas[k - 1 :: width] + 1
        if k == width - 1:
            stops = row_ends - 1
            if not (buf[stops] == _CLOSE).all():
                return None
        else:
            stops = commas[k::width]
        label = labels[k]
        size = len(label)
        values = starts + size
        # Every field must start with its key: a misaligned field (a comma inside a text
        # value) fails here. The first 8 bytes tell the keys apart; where two keys share
        # them (datetime_beginning_utc/_ept) the last 8 bytes are checked as well.
        ok = (words[starts] & _MASKS[min(size, 8)]) == _word(label)
        if size > 8 and heads.count(label[:8]) > 1:
            ok &= words[values - 8] == _word(label[-8:])
        if not ok.all():
            return None
        if key not in schema.names:
            continue
        array = _column(data, buf, words, values, stops, schema.field(key).type)
        if array is None:
            return None
        columns[key] = array
    out = []
    for field in schema:
        out.append(columns.get(field.name, pa.nulls(rows, field.type)))
    return pa.Table.from_arrays(out, schema=schema)


def _column(
    data: bytes,
    buf: np.ndarray,
    words: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    kind: pa.DataType,
) -> pa.Array | None:
    lengths = stops - starts
    if not (lengths > 0).all():  # an empty value: not JSON
        return None
    head = words[starts]
    null = (lengths == 4) & ((head & _LOW4) == _NULL)
    has_null = bool(null.any())
    if pa.types.is_boolean(kind):
        true = (lengths == 4) & ((head & _LOW4) == _TRUE)
        false = (lengths == 5) & ((head & _LOW4) == _FALS)
        if not (true | false | null).all():
            return None
        return pa.array(true, mask=null if has_null else None)
    if pa.types.is_string(kind) or pa.types.is_timestamp(kind):
        quoted = (buf[starts] == _QUOTE) & (buf[stops - 1] == _QUOTE) & (lengths >= 2)
        if pa.types.is_timestamp(kind) and not (quoted | null).all():
            return None
        # Text columns keep an unquoted value (a number where text was expected) as
        # written, rather than failing the page.
        if quoted.all():
            starts = starts + 1
            lengths = lengths - 2
        else:
            starts = np.where(quoted, starts + 1, starts)
            lengths = np.where(quoted, lengths - 2, lengths)
        head = words[starts]
    views = _views(data, words, starts, lengths, head, None if not has_null else ~null)
    try:
        if pa.types.is_timestamp(kind):
            parsed = views.cast(pa.string()).cast(pa.timestamp(kind.unit))
            return parsed.cast(kind) if kind.tz is not None else parsed
        return views.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _views(
    data: bytes,
    words: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    head: np.ndarray,
    valid: np.ndarray | None,
) -> pa.Array:
    """A string_view array over `data` (no copy): 16 bytes per value, the value inline
    when it fits in 12 bytes, else its 4-byte prefix and its offset in `data`."""
    first = head & _MASKS[np.minimum(lengths, 4)]
    low = lengths.astype(np.uint64) | (first << _SHIFT)
    if int(lengths.max(initial=0)) <= 12:
        high = words[starts + 4] & _MASKS[np.clip(lengths - 4, 0, 8)]
    elif int(lengths.min(initial=13)) > 12:
        high = starts.astype(np.uint64) << _SHIFT  # buffer 0 at this offset
    else:
        inline = words[starts + 4] & _MASKS[np.clip(lengths - 4, 0, 8)]
        high = np.where(lengths <= 12, inline, starts.astype(np.uint64) << _SHIFT)
    packed = np.empty(2 * len(starts), np.uint64)
    packed[0::2] = low
    packed[1::2] = high
    bitmap = None
    nulls = 0
    if valid is not None:
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int(len(valid) - np.count_nonzero(valid))
    return pa.Array.from_buffers(
        pa.string_view(),
        len(starts),
        [bitmap, pa.py_buffer(packed), pa.py_buffer(data)],
        null_count=nulls,
    )
