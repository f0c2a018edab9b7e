"""ERCOT NP6-323-CD: real-time ORDC and reliability deployment price adders by SCED run.

One MIS document (a zip holding one CSV) per SCED run, RTID 13221. The report changed
shape when RTC+B went live on operating day 2025-12-05: the ORDC adders (RTORPA,
RTORDPA) and the reserve columns gave way to reliability deployment adders per service
(RTRDPA, RTRDPARUS, ...), and BatchID was dropped. Which header a file must have is
decided by the date of its SCED runs, so a late re-publication in the old shape (or an
early one in the new) fails loudly instead of being read with the wrong meaning.

Prices written (market RT5, location SYSTEM): RTORPA and RTORDPA before go-live; RTRDPA
and the per-service RTRDPA* adders after. A run belongs to the 5-minute interval it
falls in; when several runs fall in one interval the last run wins (the rule of the SCED
LMP report too, in `timing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.intervals import market_day
from ...core.markets import Iso, Market, Product
from ...core.schema import PRICE_SCHEMA, UTC_TS, validate_prices
from ..dataset import Chunking, Components, RevisionPolicy, TimeRule
from ..errors import PayloadError
from ..http import RawResponse
from ..payload import check_columns, read_csv, read_zip_members
from ..registry import register
from .timing import floor_starts, last_run_rows, repeated_flags, sced_instants
from .transport import (
    ErcotReport,
    ReportSpec,
    Stamp,
    documents_in_order,
)

__all__ = [
    "LEGACY",
    "RTCB",
    "RTCB_GO_LIVE",
    "AdderSchema",
    "Np6323Adders",
    "parse_adders",
    "schema_for",
]

NAME = "ercot.np6-323-cd"
RTCB_GO_LIVE = date(2025, 12, 5)  # first operating day under real-time co-optimization
INTERVAL = timedelta(minutes=5)
_TIME = ("SCEDTimestamp", "RepeatedHourFlag")


@dataclass(frozen=True, slots=True)
class AdderSchema:
    """One shape of the report: its exact header and the columns written as prices."""

    name: str
    columns: tuple[str, ...]
    products: tuple[Product, ...]  # each is also the name of its column


LEGACY = AdderSchema(
    "pre-RTC+B",
    (
        *_TIME,
        "BatchID",
        "SystemLambda",
        "PRC",
        "RTORPA",
        "RTOFFPA",
        "RTOLCAP",
        "RTOFFCAP",
        "RTOLHSL",
        "RTBP",
        "RTCLRCAP",
        "RTCLRREG",
        "RTCLRBP",
        "RTCLRLSL",
        "RTCLRNS",
        "RTNCLRRRS",
        "RTOLNSRS",
        "RTCST30HSL",
        "RTOFFNSHSL",
        "RTRUCCST30HSL",
        "RTORDPA",
        "RTRRUC",
        "RTRRMR",
        "RTDNCLR",
        "RTDERS",
        "RTDCTIEIMPORT",
        "RTDCTIEEXPORT",
        "RTBLTIMPORT",
        "RTBLTEXPORT",
        "RTOLLASL",
        "RTOLHASL",
        "RTNCLRNSCAP",
        "RTNCLRECRS",
    ),
    (Product.RTORPA, Product.RTORDPA),
)
RTCB = AdderSchema(
    "RTC+B",
    (
        *_TIME,
        "SystemLambda",
        "RTRDPA",
        "RTRDPARUS",
        "RTRDPARDS",
        "RTRDPARRS",
        "RTRDPAECRS",
        "RTRDPANSS",
        "RTRRUC",
        "RTRRMR",
        "RTDNCLR",
        "RTDERS",
        "RTDCTIEIMPORT",
        "RTDCTIEEXPORT",
        "RTBLTIMPORT",
        "RTBLTEXPORT",
        "RTOLLSL",
        "RTOLHSL",
    ),
    (
        Product.RTRDPA,
        Product.RTRDPARUS,
        Product.RTRDPARDS,
        Product.RTRDPARRS,
        Product.RTRDPAECRS,
        Product.RTRDPANSS,
    ),
)
_ALL_COLUMNS = tuple(dict.fromkeys(LEGACY.columns + RTCB.columns))


def schema_for(day: date) -> AdderSchema:
    """The header a file of SCED runs on local operating day `day` must have."""
    return RTCB if day >= RTCB_GO_LIVE else LEGACY


def _instrument(product: Product) -> str:
    return f"{Iso.ERCOT}.{Market.RT5}.{product}.SYSTEM"


@dataclass(slots=True)
class _Runs:
    """Adder values of one CSV in long form: one entry per (run, product)."""

    instruments: np.ndarray  # object array of instrument ids
    starts: np.ndarray  # interval start, µs since epoch (UTC)
    runs: np.ndarray  # SCED run time, µs since epoch (UTC)
    values: np.ndarray  # float64


def read_adder_csv(dataset: str, content: bytes, *, where: str) -> _Runs:
    """The adders of one NP6-323 CSV, after checking its header against the schema its
    SCED run dates call for."""
    table = read_csv(dataset, content, _TIME, _ALL_COLUMNS, where=where, strings=_TIME)
    repeated = repeated_flags(dataset, table.column("RepeatedHourFlag"), column="RepeatedHourFlag")
    runs = sced_instants(dataset, table.column("SCEDTimestamp"), repeated)
    schema = _file_schema(dataset, table, runs, where)
    side = "on or after" if schema is RTCB else "before"
    expected = f"{where}; SCED runs {side} {RTCB_GO_LIVE} need the {schema.name} schema"
    check_columns(dataset, table.column_names, schema.columns, where=expected)
    run_us = runs.cast(pa.int64()).to_numpy(zero_copy_only=False)
    start_us = floor_starts(runs).cast(pa.int64()).to_numpy(zero_copy_only=False)
    instruments, values = [], []
    for product in schema.products:
        column = table.column(str(product))
        try:
            column = column.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise PayloadError(dataset, f"{product} in {where} is not numeric") from None
        if column.null_count:
            index = int(np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False))[0])
            raise PayloadError(dataset, f"{product} is empty in row {index + 1} of {where}")
        instruments.append(np.full(table.num_rows, _instrument(product), dtype=object))
        values.append(column.to_numpy())
    n = len(schema.products)
    return _Runs(
        np.concatenate(instruments) if instruments else np.zeros(0, dtype=object),
        np.tile(start_us, n),
        np.tile(run_us, n),
        np.concatenate(values) if values else np.zeros(0),
    )


def _file_schema(dataset: str, table: pa.Table, runs: pa.Array, where: str) -> AdderSchema:
    if table.num_rows == 0:  # no runs to date it: the header alone must be one of the two
        names = set(table.column_names)
        for schema in (RTCB, LEGACY):
            if names == set(schema.columns):
                return schema
        raise PayloadError(dataset, f"{where}: header matches neither NP6-323 schema")
    go_live = _local_midnight_us(RTCB_GO_LIVE)
    micros = runs.cast(pa.int64()).to_numpy(zero_copy_only=False)
    after = micros >= go_live
    if after.all():
        return RTCB
    if not after.any():
        return LEGACY
    raise PayloadError(
        dataset, f"{where} holds SCED runs on both sides of RTC+B go-live ({RTCB_GO_LIVE})"
    )


def _local_midnight_us(day: date) -> int:
    start = market_day(Iso.ERCOT, day)[0]
    return int(start.timestamp()) * 1_000_000


def parse_adders(dataset: str, raws: Sequence[RawResponse]) -> pa.Table:
    """PRICE_SCHEMA rows of every NP6-323 document in `raws` (each a zip of one CSV, or
    an archive bundle of such zips); the last SCED run in each 5-minute interval wins."""
    parts: list[_Runs] = []
    for raw in documents_in_order(raws):
        for member, content in read_zip_members(raw):
            parts.append(read_adder_csv(dataset, content, where=f"{member} from {raw.url}"))
    if not parts:
        return PRICE_SCHEMA.empty_table()
    instruments = np.concatenate([p.instruments for p in parts])
    starts = np.concatenate([p.starts for p in parts])
    runs = np.concatenate([p.runs for p in parts])
    values = np.concatenate([p.values for p in parts])
    codes = pc.dictionary_encode(pa.array(instruments, type=pa.string()))
    keep = last_run_rows([codes.indices.to_numpy(zero_copy_only=False), starts], runs)
    start_arr = pa.array(starts[keep], type=pa.int64()).cast(UTC_TS)
    end_us = starts[keep] + INTERVAL // timedelta(microseconds=1)
    table = pa.table(
        {
            "instrument": codes.take(pa.array(keep)),
            "interval_start": start_arr,
            "interval_end": pa.array(end_us, type=pa.int64()).cast(UTC_TS),
            "value": pa.array(values[keep], type=pa.float64()),
        }
    )
    return validate_prices(table)


SPEC = ReportSpec(emil="NP6-323-CD", report_type_id=13221, stamp=Stamp.NAME_START)


@register
class Np6323Adders(ErcotReport):
    name = NAME
    spec = SPEC
    description = (
        "Real-time ORDC and reliability deployment price adders by SCED interval "
        "(RTORPA/RTORDPA before RTC+B, RTRDPA and per-service adders after)"
    )
    # MIS keeps about five days of these; older windows go to the API archive.
    chunking = Chunking(max_days=1, archive_after=timedelta(days=4))
    raw_columns = _ALL_COLUMNS
    time_rule = TimeRule.LOCAL_DST_FLAG
    components = Components.NONE
    revisions = RevisionPolicy.LATEST_WINS
    produces = tuple((Market.RT5, product) for product in LEGACY.products + RTCB.products)

    def produces_on(self, day: date) -> tuple[tuple[Market, Product], ...]:
        """RTORPA/RTORDPA until RTC+B go-live, the RTRDPA adders from then on."""
        return tuple((Market.RT5, product) for product in schema_for(day).products)

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return parse_adders(self.name, raws)
