"""ERCOT settlement points: names, location types, and the price table every ERCOT price
dataset builds (RT SPP, DAM SPP, SCED LMP).

Naming: the location is ERCOT's settlement point name, except that the energy-weighted
load zones of the real-time report (types `LZEW`, `LZ_DCEW`) carry the same name as the
plain zone; they get an `_EW` suffix (`LZ_NORTH_EW`), as gridstatus does, so both are
distinct instruments.

Typing: by `SettlementPointType` when the report has one (HU/SH/AH hubs, LZ/LZEW/LZ_DC/
LZ_DCEW load zones, RN/PCCRN/PUN resource nodes), otherwise by name: `HB_*` hub,
`LZ_*` and `DC_*` (DC-tie zones) load zone, anything else a resource node.

Precedence: rows of a later document (posting order, or the later SCED run) replace
rows of an earlier one for the same (location, interval); two rows for the same
(location, interval) inside one document are an upstream error and raise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.markets import Iso, LocationType, Market, Product
from ...core.schema import LOCATION_SCHEMA, UTC_TS, SchemaError, validate_prices
from ..errors import PayloadError
from ..http import RawResponse
from ..payload import read_csv, read_zip_members
from .timing import last_run_rows
from .transport import documents_in_order, read_document

__all__ = [
    "ENERGY_WEIGHTED_TYPES",
    "TYPE_BY_CODE",
    "Rows",
    "location_names",
    "location_types",
    "locations_table",
    "parse_dates",
    "price_table",
    "read_rows",
]

ENERGY_WEIGHTED_TYPES = frozenset({"LZEW", "LZ_DCEW"})
TYPE_BY_CODE: dict[str, LocationType] = {
    "HU": LocationType.HUB,
    "SH": LocationType.HUB,  # system-wide hub averages: HB_BUSAVG, HB_HUBAVG
    "AH": LocationType.HUB,
    "LZ": LocationType.LOAD_ZONE,
    "LZEW": LocationType.LOAD_ZONE,
    "LZ_DC": LocationType.LOAD_ZONE,
    "LZ_DCEW": LocationType.LOAD_ZONE,
    "RN": LocationType.RESOURCE_NODE,
    "PCCRN": LocationType.RESOURCE_NODE,
    "PUN": LocationType.RESOURCE_NODE,
}
_PREFIXES = (
    ("HB_", LocationType.HUB),
    ("LZ_", LocationType.LOAD_ZONE),
    ("DC_", LocationType.LOAD_ZONE),
)


def _text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.utf8_trim_whitespace(values.cast(pa.string()))


@dataclass(frozen=True, slots=True)
class Rows:
    """The rows of several documents, typed, with each row's document number (posting
    order: later documents win) and re-publication group."""

    table: pa.Table
    document: np.ndarray
    group: np.ndarray


def read_rows(
    dataset: str,
    raws: Sequence[RawResponse],
    columns: Mapping[str, pa.DataType],
    *,
    by_posting_day: bool = False,
) -> Rows:
    """Every document's CSV rows with exactly `columns` (cast to their types).

    A document's group is its friendly name without `_retry` (plus its posting day with
    `by_posting_day`, for reports whose name carries no time); a raw without names is a
    group of its own. Documents sharing one header are read as one CSV (a day is a few
    hundred small files, and a CSV read has a fixed cost); anything unusual is read
    document by document, so errors name the document.
    """
    if not raws:
        raise PayloadError(dataset, "no documents to parse")
    ordered = documents_in_order(raws)
    strings = [name for name, kind in columns.items() if pa.types.is_string(kind)]
    schema = pa.schema(list(columns.items()))
    joined = _read_joined(dataset, ordered, schema, strings)
    if joined is None:
        tables = [_read_one(dataset, raw, schema, strings) for raw in ordered]
        counts = [table.num_rows for table in tables]
        table = pa.concat_tables(tables).combine_chunks()
    else:
        table, counts = joined
    keys: dict[tuple[str, str], int] = {}
    group_ids = []
    for number, raw in enumerate(ordered):
        friendly = str(raw.meta.get("friendly_name") or "").replace("_retry", "")
        day = str(raw.meta.get("posted_local") or "")[:10] if by_posting_day else ""
        key = (friendly, day) if friendly else (f"#{number}", "")
        group_ids.append(keys.setdefault(key, len(keys)))
    sizes = np.asarray(counts, dtype=np.int64)
    document = np.repeat(np.arange(len(ordered), dtype=np.int64), sizes)
    return Rows(table, document, np.repeat(np.asarray(group_ids, dtype=np.int64), sizes))


def _read_one(
    dataset: str, raw: RawResponse, schema: pa.Schema, strings: Sequence[str]
) -> pa.Table:
    table = read_document(raw, schema.names, strings=strings)
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        where = raw.meta.get("friendly_name") or raw.url
        raise PayloadError(dataset, f"bad values in {where}: {exc}") from None


def _read_joined(
    dataset: str, raws: Sequence[RawResponse], schema: pa.Schema, strings: Sequence[str]
) -> tuple[pa.Table, list[int]] | None:
    """All documents as one CSV read, or None when they differ in header, hold blank
    lines or fail in any way (the caller then reads them one by one)."""
    header: bytes | None = None
    parts: list[bytes] = []
    counts: list[int] = []
    try:
        for raw in raws:
            rows = 0
            for _, content in read_zip_members(raw, suffix=".csv"):
                head, _, body = content.partition(b"\n")
                head = head.rstrip(b"\r")
                if header is None:
                    header = head
                elif head != header:
                    return None
                if body and not body.endswith(b"\n"):
                    body += b"\n"
                rows += body.count(b"\n")
                parts.append(body)
            counts.append(rows)
        if header is None:
            return None
        table = read_csv(dataset, header + b"\n" + b"".join(parts), schema.names, strings=strings)
        table = table.select(schema.names).cast(schema)
    except (PayloadError, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != sum(counts):  # blank lines: count per document instead
        return None
    return table.combine_chunks(), counts


def location_names(names: pa.Array, types: pa.Array | None = None) -> pa.Array:
    """Location per row: the settlement point name, `_EW` appended for energy-weighted zones."""
    names = _text(names)
    if types is None:
        return names
    weighted = pc.is_in(pc.utf8_upper(_text(types)), pa.array(sorted(ENERGY_WEIGHTED_TYPES)))
    if not pc.any(weighted).as_py():
        return names
    return pc.if_else(weighted, pc.binary_join_element_wise(names, "_EW", ""), names)


def location_types(names: pa.Array, types: pa.Array | None = None) -> pa.Array:
    """`LocationType` value per row, by type code when known, else by name prefix."""
    names = _text(names)
    out = pa.nulls(len(names), pa.string())
    if types is not None:
        codes = pc.utf8_upper(_text(types))
        for code, kind in TYPE_BY_CODE.items():
            out = pc.if_else(pc.equal(codes, code), kind.value, out)
    for prefix, kind in _PREFIXES:
        by_name = pc.and_kleene(pc.is_null(out), pc.starts_with(names, prefix))
        out = pc.if_else(by_name, kind.value, out)
    return pc.fill_null(out, LocationType.RESOURCE_NODE.value)


def parse_dates(dataset: str, values: pa.Array | pa.ChunkedArray, column: str) -> np.ndarray:
    """Local delivery dates "MM/DD/YYYY" (or ISO) as numpy days."""
    text = _text(values)
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            parsed = pc.strptime(text, format=fmt, unit="s")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if parsed.null_count == 0:
            return parsed.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    raise PayloadError(dataset, f"{column} has values that are not MM/DD/YYYY dates")


def _instrument_column(
    market: Market, product: Product, locations: pa.Array
) -> tuple[pa.DictionaryArray, np.ndarray]:
    encoded = pc.dictionary_encode(locations)
    names = [
        f"{Iso.ERCOT.value}.{market.value}.{product.value}.{name}"
        for name in encoded.dictionary.to_pylist()
    ]
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return pa.DictionaryArray.from_arrays(encoded.indices, pa.array(names, pa.string())), codes


def price_table(
    dataset: str,
    market: Market,
    product: Product,
    locations: pa.Array,
    starts: pa.Array,
    values: pa.Array,
    document: np.ndarray,
    *,
    rank: np.ndarray | None = None,
    group: np.ndarray | None = None,
) -> pa.Table:
    """The canonical price table, validated.

    `document` numbers each row's source document: two rows for one (location, interval)
    in one document raise. `rank` orders rows across documents (default: the document
    number) and the highest rank wins. With `group` (the re-publication group of each
    document), rows for one (location, interval) from different groups raise too: only
    a re-publication of the same document may replace rows.
    """
    values = values.cast(pa.float64()) if values.type != pa.float64() else values
    if values.null_count or (len(values) and pc.any(pc.is_nan(values)).as_py()):
        raise PayloadError(dataset, "empty or non-numeric price values")
    instruments, codes = _instrument_column(market, product, locations)
    micros = starts.cast(pa.int64()).to_numpy(zero_copy_only=False)
    document = np.asarray(document, dtype=np.int64)
    _refuse_collisions(dataset, locations, starts, codes, micros, document, "in one document")
    if group is not None:
        _refuse_collisions(
            dataset, locations, starts, codes, micros, np.asarray(group), "in two documents"
        )
    rank = document if rank is None else np.asarray(rank, dtype=np.int64)
    take = pa.array(last_run_rows([codes, micros], rank), pa.int64())
    start_col = starts.take(take).cast(UTC_TS)
    step = pa.scalar(int(market.interval.total_seconds() * 1_000_000), pa.duration("us"))
    table = pa.table(
        {
            "instrument": instruments.take(take),
            "interval_start": start_col,
            "interval_end": pc.add(start_col, step),
            "value": values.take(take),
        }
    )
    try:
        return validate_prices(table, check_unique=False)
    except SchemaError as exc:
        raise PayloadError(dataset, f"rows do not make valid prices: {exc}") from None


def _refuse_collisions(
    dataset: str,
    locations: pa.Array,
    starts: pa.Array,
    codes: np.ndarray,
    micros: np.ndarray,
    part: np.ndarray,
    where: str,
) -> None:
    """Raise if a (location, interval) has two rows from one `part` (`where` = "in one
    document"), or, for groups, rows from two different parts."""
    if len(codes) < 2:
        return
    inside = where == "in one document"
    order = np.lexsort((part, micros, codes))
    same = (codes[order][1:] == codes[order][:-1]) & (micros[order][1:] == micros[order][:-1])
    equal_part = part[order][1:] == part[order][:-1]
    bad = same & (equal_part if inside else ~equal_part)
    if bad.any():
        at = int(order[int(np.flatnonzero(bad)[0])])
        start = starts[at].as_py()
        raise PayloadError(
            dataset,
            f"two rows for {locations[at].as_py()} at {start:%Y-%m-%d %H:%M}Z {where}"
            " (a wrong or missing DST flag, or a skipped hour labelled twice?)",
        )


# The directory version every settlement point seen in the price reports gets: ERCOT's
# nodal market opened on 2010-12-01. The reports say only that a point is priced, not
# when it was created or retired (that is the NP4-160 mapping's job), so a version
# "effective from the day seen" would collide with itself the next day, and a backfill
# of earlier days would find the point not yet in effect.
NODAL_MARKET_START = date(2010, 12, 1)


def locations_table(names: pa.Array, types: pa.Array | None) -> pa.Table:
    """Directory rows (LOCATION_SCHEMA) for the settlement points seen, one open-ended
    version each from `NODAL_MARKET_START`; `name` is ERCOT's own settlement point name.
    Re-ingesting any day writes the same rows, so the directory stays idempotent."""
    location = location_names(names, types)
    kind = location_types(names, types)
    raw = _text(names)
    first = NODAL_MARKET_START
    table = pa.table({"location": location, "name": raw, "location_type": kind})
    table = table.group_by(["location"], use_threads=False).aggregate(
        [("name", "first"), ("location_type", "first")]
    )
    n = table.num_rows
    out = pa.table(
        {
            "iso": pa.array([Iso.ERCOT.value] * n, pa.string()),
            "location": table.column("location"),
            "name": table.column("name_first"),
            "location_type": table.column("location_type_first"),
            "zone": pa.nulls(n, pa.string()),
            "effective_date": pa.array([first] * n, pa.date32()),
            "termination_date": pa.nulls(n, pa.date32()),
        },
        schema=LOCATION_SCHEMA,
    )
    return out.sort_by("location")
