"""ERCOT ancillary services: day-ahead clearing prices (NP4-188-CD) and the 2-day AS
disclosure of cleared, self-arranged and offered quantities (NP3-911-ER).

NP4-188-CD, one zipped CSV per operating day posted the day before:
`DeliveryDate, HourEnding ("01:00".."24:00"), AncillaryType, MCPC, DSTFlag`, written as
ERCOT.DA.<REGUP|REGDN|RRS|NSPIN|ECRS>.SYSTEM. A fall-back day repeats HE 02:00 with
DSTFlag Y (25 hours); a spring-forward day skips HE 02:00 (23 hours, see `timing`).

NP3-911-ER, one zip per operating day posted two days later, 26 CSVs named
`2d_<kind>_<AS>-<posted DD-MON-YY>.csv` (`48h_` in older files). Hours are counted
1..23/24/25 from local midnight with no DST flag ("Hour Ending" 25 on a fall-back day),
so they are read with the elapsed-hour rule. These are quantities and offer curves, not
prices: `read_two_day_as` returns one tidy table per kind, and the dataset's `parse`
returns cleared and self-arranged MW in `QUANTITY_SCHEMA`, stored in the store's
`market_quantities` table. The offer curves are parsed but not stored yet.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.markets import Iso, Market, Product
from ...core.records import QUANTITY_SCHEMA
from ...core.schema import PRICE_SCHEMA, UTC_TS, validate_prices
from .. import clock
from ..dataset import (
    Chunking,
    Components,
    RevisionPolicy,
    Target,
    TimeRule,
)
from ..errors import PayloadError
from ..http import RawResponse
from ..payload import read_csv, read_zip_members
from ..registry import register
from .settlement_points import parse_dates
from .timing import hour_ending_starts, last_run_rows, repeated_flags
from .transport import (
    ErcotReport,
    ReportSpec,
    Stamp,
    documents_in_order,
)

__all__ = [
    "AS_OFFER_SCHEMA",
    "AS_QUANTITY_SCHEMA",
    "MCPC_COLUMNS",
    "QUANTITY_SCHEMA",
    "TWO_DAY_AS_TYPES",
    "Np3911TwoDayAs",
    "Np4188Mcpc",
    "TwoDayAs",
    "parse_mcpc",
    "quantities",
    "read_two_day_as",
]

MCPC_NAME = "ercot.np4-188-cd"
TWO_DAY_NAME = "ercot.np3-911-er"
HOUR = timedelta(hours=1)
_HOUR_US = HOUR // timedelta(microseconds=1)

# ---------------------------------------------------------------- NP4-188-CD (prices)

MCPC_COLUMNS = ("DeliveryDate", "HourEnding", "AncillaryType", "MCPC", "DSTFlag")
MCPC_PRODUCTS = {
    "REGUP": Product.REGUP,
    "REGDN": Product.REGDN,
    "RRS": Product.RRS,
    "NSPIN": Product.NSPIN,
    "ECRS": Product.ECRS,
}


def _mcpc_csv(dataset: str, content: bytes, where: str) -> pa.Table:
    table = read_csv(
        dataset,
        content,
        MCPC_COLUMNS,
        where=where,
        strings=("DeliveryDate", "HourEnding", "AncillaryType", "DSTFlag"),
    )
    kinds = pc.utf8_upper(pc.utf8_trim_whitespace(table.column("AncillaryType")))
    known = pc.is_in(kinds, value_set=pa.array(list(MCPC_PRODUCTS)))
    if not pc.all(known).as_py():
        bad = kinds.filter(pc.invert(known))[0].as_py()
        raise PayloadError(dataset, f"unknown AncillaryType {bad!r} in {where}")
    days = parse_dates(dataset, table.column("DeliveryDate"), f"DeliveryDate in {where}")
    hours = clock.parse_hour_ending(dataset, table.column("HourEnding"))
    repeated = repeated_flags(dataset, table.column("DSTFlag"), column="DSTFlag")
    starts = hour_ending_starts(dataset, days, hours, repeated)
    try:
        values = table.column("MCPC").cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise PayloadError(dataset, f"MCPC in {where} is not numeric") from None
    if values.null_count:
        raise PayloadError(dataset, f"empty MCPC in {where}")
    instruments = pc.binary_join_element_wise(f"{Iso.ERCOT}.{Market.DA}", kinds, "SYSTEM", ".")
    _check_one_per_hour(dataset, instruments, starts, where)
    return pa.table(
        {
            "instrument": instruments,
            "interval_start": starts,
            "interval_end": _plus_hour(starts),
            "value": values,
        }
    )


def _plus_hour(starts: pa.Array) -> pa.Array:
    micros = starts.cast(pa.int64()).to_numpy(zero_copy_only=False) + _HOUR_US
    return pa.array(micros, type=pa.int64()).cast(UTC_TS)


def _check_one_per_hour(dataset: str, keys: pa.Array, starts: pa.Array, where: str) -> None:
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    codes = pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False)
    micros = starts.cast(pa.int64()).to_numpy(zero_copy_only=False)
    pairs = np.stack([codes.astype(np.int64), micros], axis=1)
    _, first, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        at = int(first[np.flatnonzero(counts > 1)[0]])
        raise PayloadError(
            dataset, f"{keys[at].as_py()} at {starts[at].as_py()} appears twice in {where}"
        )


def parse_mcpc(dataset: str, raws: Sequence[RawResponse]) -> pa.Table:
    """PRICE_SCHEMA rows of NP4-188 documents; a re-published day replaces the earlier."""
    tables = [
        _mcpc_csv(dataset, content, f"{member} from {raw.url}")
        for raw in documents_in_order(raws)
        for member, content in read_zip_members(raw)
    ]
    if not tables:
        return PRICE_SCHEMA.empty_table()
    return validate_prices(_later_wins(tables, "instrument"))


def _later_wins(tables: list[pa.Table], key: str) -> pa.Table:
    """The tables stacked, one row per (`key`, interval_start): the later table wins."""
    table = pa.concat_tables(tables)
    codes = pc.dictionary_encode(table.column(key)).combine_chunks().indices
    starts = table.column("interval_start").cast(pa.int64()).to_numpy()
    document = np.repeat(np.arange(len(tables)), [t.num_rows for t in tables])
    keep = last_run_rows([codes.to_numpy(zero_copy_only=False), starts], document)
    return table.take(pa.array(keep))


MCPC_SPEC = ReportSpec(
    emil="NP4-188-CD",
    report_type_id=12329,
    stamp=Stamp.POSTED,
    post_from=-timedelta(days=1),  # the DAM for day D is posted on D-1
    post_to=-timedelta(days=1),
)


@register
class Np4188Mcpc(ErcotReport):
    name = MCPC_NAME
    spec = MCPC_SPEC
    description = "Day-ahead ancillary service market clearing prices for capacity (MCPC)"
    chunking = Chunking(max_days=1, archive_after=timedelta(days=7))
    raw_columns = MCPC_COLUMNS
    time_rule = TimeRule.HOUR_ENDING
    components = Components.NONE
    revisions = RevisionPolicy.LATEST_WINS
    produces = tuple((Market.DA, product) for product in MCPC_PRODUCTS.values())

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return parse_mcpc(self.name, raws)


# ------------------------------------------------------ NP3-911-ER (2-day AS disclosure)

# Every AS code seen in the file names; the AS code names the product, the column labels
# vary ("RegUp", "RegDown", "NonSpin" for the older services).
TWO_DAY_AS_TYPES = (
    "REGUP",
    "REGDN",
    "RRSPFR",
    "RRSUFR",
    "RRSFFR",
    "ECRSM",
    "ECRSS",
    "ONNS",
    "OFFNS",
    "NSPIN",
    "NSPNM",
)
_LABELS = {"REGUP": "RegUp", "REGDN": "RegDown", "NSPIN": "NonSpin"}
_KINDS = {
    "Cleared_DAM_AS": "cleared",
    "Self_Arranged_AS": "self_arranged",
    "Agg_AS_Offers": "offers",
}
_MEMBER = re.compile(
    r"^(?:2d|48h)_(?P<kind>" + "|".join(_KINDS) + r")_(?P<as>[A-Z]+)-\d{2}-[A-Z]{3}-\d{2}\.csv$",
    re.IGNORECASE,
)
_TIME_COLUMNS = ("Delivery Date", "Hour Ending")

AS_QUANTITY_SCHEMA = pa.schema(
    [
        pa.field("as_type", pa.string(), nullable=False),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("interval_end", UTC_TS, nullable=False),
        pa.field("mw", pa.float64()),
    ]
)
AS_OFFER_SCHEMA = pa.schema(
    [
        pa.field("as_type", pa.string(), nullable=False),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("interval_end", UTC_TS, nullable=False),
        pa.field("mw_offered", pa.float64(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
    ]
)


@dataclass(frozen=True, slots=True)
class TwoDayAs:
    """The 2-day AS disclosure as tidy tables: MW cleared in the DAM, MW self-arranged
    (both `AS_QUANTITY_SCHEMA`), and the aggregated offer curves (`AS_OFFER_SCHEMA`,
    points in file order within each hour)."""

    cleared: pa.Table
    self_arranged: pa.Table
    offers: pa.Table


def _hours(dataset: str, table: pa.Table, where: str) -> tuple[pa.Array, pa.Array]:
    days = parse_dates(dataset, table.column("Delivery Date"), f"Delivery Date in {where}")
    hours = clock.parse_hour_ending(dataset, table.column("Hour Ending"))
    starts = clock.elapsed_hour_starts(dataset, Iso.ERCOT, days, hours)
    return starts, _plus_hour(starts)


def _numbers(dataset: str, table: pa.Table, name: str, where: str) -> pa.Array:
    column = table.column(name)
    try:
        return column.cast(pa.float64()).combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise PayloadError(dataset, f"{name!r} in {where} is not numeric") from None


def _member(dataset: str, kind: str, code: str, content: bytes, where: str) -> pa.Table:
    label = _LABELS.get(code, code)
    if kind == "offers":
        value_columns = ("MW Offered", f"{code} Offer Price")
    elif kind == "cleared":
        value_columns = (f"Total Cleared AS - {label}",)
    else:
        value_columns = (f"Total Self-Arranged AS - {label}",)
    table = read_csv(
        dataset, content, _TIME_COLUMNS + value_columns, where=where, strings=_TIME_COLUMNS
    )
    starts, ends = _hours(dataset, table, where)
    as_type = pa.array(np.full(table.num_rows, code, dtype=object), type=pa.string())
    if kind == "offers":
        mw = _numbers(dataset, table, value_columns[0], where)
        price = _numbers(dataset, table, value_columns[1], where)
        if mw.null_count or price.null_count:
            raise PayloadError(dataset, f"offer curve point without MW or price in {where}")
        return pa.Table.from_arrays([as_type, starts, ends, mw, price], schema=AS_OFFER_SCHEMA)
    mw = _numbers(dataset, table, value_columns[0], where)
    _check_one_per_hour(dataset, as_type, starts, where)
    return pa.Table.from_arrays([as_type, starts, ends, mw], schema=AS_QUANTITY_SCHEMA)


def read_two_day_as(dataset: str, raws: Sequence[RawResponse]) -> TwoDayAs:
    """Every CSV of every 2-day AS disclosure zip in `raws`, by kind. A file whose name is
    not one of the known kinds and AS types, or that appears twice, is a `PayloadError`:
    a new product or report must be looked at, not skipped."""
    parts: dict[str, list[pa.Table]] = {kind: [] for kind in _KINDS.values()}
    for raw in documents_in_order(raws):
        seen: set[str] = set()
        for member, content in read_zip_members(raw):
            base = posixpath.basename(member.replace("\\", "/"))
            where = f"{base} from {raw.url}"
            match = _MEMBER.match(base)
            if match is None or match["as"].upper() not in TWO_DAY_AS_TYPES:
                raise PayloadError(dataset, f"unknown file {base!r} in the 2-day AS zip {raw.url}")
            if base.lower() in seen:
                raise PayloadError(dataset, f"{where} appears twice")
            seen.add(base.lower())
            kind = next(v for k, v in _KINDS.items() if k.lower() == match["kind"].lower())
            parts[kind].append(_member(dataset, kind, match["as"].upper(), content, where))
    if not parts["cleared"] and not parts["self_arranged"]:
        raise PayloadError(dataset, "2-day AS documents hold no cleared or self-arranged file")

    def hourly(kind: str) -> pa.Table:
        # one row per (AS, hour): a later document restating a day replaces it
        tables = parts[kind]
        return _later_wins(tables, "as_type") if tables else AS_QUANTITY_SCHEMA.empty_table()

    offers = parts["offers"]
    return TwoDayAs(
        cleared=hourly("cleared"),
        self_arranged=hourly("self_arranged"),
        offers=pa.concat_tables(offers) if offers else AS_OFFER_SCHEMA.empty_table(),
    )


def quantities(dataset: str, disclosure: TwoDayAs) -> pa.Table:
    """Cleared and self-arranged MW as `QUANTITY_SCHEMA` rows ("cleared.REGUP", ...)."""
    tables = []
    kinds = (("cleared", disclosure.cleared), ("self_arranged", disclosure.self_arranged))
    for kind, table in kinds:
        n = table.num_rows
        series = pc.binary_join_element_wise(
            pa.array(np.full(n, kind, dtype=object), type=pa.string()),
            table.column("as_type"),
            ".",
        )
        tables.append(
            pa.Table.from_arrays(
                [
                    pa.array(np.full(n, dataset, dtype=object), type=pa.string()),
                    pa.array(np.full(n, str(Iso.ERCOT), dtype=object), type=pa.string()),
                    series,
                    table.column("interval_start"),
                    table.column("interval_end"),
                    table.column("mw"),
                ],
                schema=QUANTITY_SCHEMA,
            )
        )
    return pa.concat_tables(tables)


TWO_DAY_SPEC = ReportSpec(
    emil="NP3-911-ER",
    report_type_id=13057,
    stamp=Stamp.POSTED,
    post_from=timedelta(days=2),  # operating day D is disclosed on D+2 (~03:15)
    post_to=timedelta(days=2),
)


@register
class Np3911TwoDayAs(ErcotReport):
    name = TWO_DAY_NAME
    spec = TWO_DAY_SPEC
    description = "2-day ancillary services disclosure: cleared and self-arranged MW per AS"
    target = Target.QUANTITIES
    # posted two days after the operating day; MIS keeps it about a week after that
    chunking = Chunking(max_days=1, archive_after=timedelta(days=9))
    raw_columns = (*_TIME_COLUMNS, "MW Offered")  # plus one value column per file, by AS
    time_rule = TimeRule.HOUR_ENDING_ELAPSED
    components = Components.NONE
    revisions = RevisionPolicy.FINAL

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return quantities(self.name, read_two_day_as(self.name, raws))
