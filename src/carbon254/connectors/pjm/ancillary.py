"""PJM ancillary-service clearing prices from Data Miner 2.

Three feeds, one price each per (interval, location, service), no LMP components:

- `pjm.reg_prices`: 5-minute regulation prices by `area` → `PJM.RT5.REG.<area>`. The
  stored value is `market_clearing_price`, the regulation market clearing price (RMCP,
  $/MW of regulation per hour), which is what a regulation MW is paid before the
  performance score; the capability and performance parts (RMCCP, RMPCP) are kept in
  the raw bytes but not stored, as core has no product for them yet.
- `pjm.reserve_market_results`: real-time reserve market results by `locale`
  (PJM_RTO, MAD) and `service` (SR, PR, 30MIN, REG), value `mcp`. The feed is 5-minute
  from 2022-09-01 (EPT) and hourly from 2013-06-14 to 2022-08-31, so the market (RT5 or
  RTH) is chosen by the interval's date. Its five-minute REG rows are dropped: that
  series belongs to `pjm.reg_prices`.
- `pjm.da_reserve_market_results`: the day-ahead hourly reserve results, value `mcp`.

Every time comes from `datetime_beginning_utc` (never the ambiguous EPT column), so a
fall-back day has 300 five-minute or 25 hourly intervals and a spring-forward day 276 or
23, with no guessing about the repeated hour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.instrument import InvalidInstrumentId, check_location
from ...core.intervals import market_day
from ...core.markets import Iso, Market, Product
from ...core.schema import UTC_TS, SchemaError, validate_prices
from ..dataset import Components, RevisionPolicy, Window
from ..errors import PayloadError
from ..http import RawResponse
from ..registry import register
from ._feed import DataMinerFeed, constant, labelled, require_values, utc_column
from .dataminer import ARCHIVE_FIVE_MIN, ARCHIVE_HOURLY, chunking

__all__ = [
    "LOCALES",
    "RT_FIVE_MINUTE_FROM",
    "SERVICES",
    "DaReserveMarketResults",
    "RegPrices",
    "ReserveMarketResults",
]

# The real-time reserve results are 5-minute from this local day on, hourly before.
RT_FIVE_MINUTE_FROM = date(2022, 9, 1)
_FIVE_MINUTE_FROM = market_day(Iso.PJM, RT_FIVE_MINUTE_FROM)[0]

# Locale and service labels → instrument location and product. The real-time feed uses
# the short codes; the long names are accepted too (the day-ahead feed has been seen
# with them), matched case-insensitively. Anything else is an unknown label and fails.
LOCALES: Mapping[str, str] = {
    "PJM_RTO": "PJM_RTO",
    "MAD": "MAD",
    "PJM RTO RESERVE ZONE": "PJM_RTO",
    "MID-ATLANTIC/DOMINION RESERVE SUBZONE": "MAD",
}
SERVICES: Mapping[str, Product] = {
    "SR": Product.SYNC,
    "PR": Product.PRIMARY,
    "30MIN": Product.SUPP,
    "REG": Product.REG,
    "SYNCHRONIZED RESERVE": Product.SYNC,
    "PRIMARY RESERVE": Product.PRIMARY,
    "THIRTY MINUTES RESERVE": Product.SUPP,
    "REGULATION": Product.REG,
}

_MICROS = {m: m.interval // timedelta(microseconds=1) for m in Market}


def _schema(strings: Sequence[str], numbers: Sequence[str]) -> pa.Schema:
    return pa.schema([(n, pa.string()) for n in strings] + [(n, pa.float64()) for n in numbers])


_TIMES = ("datetime_beginning_utc", "datetime_beginning_ept")
_ENDS = ("datetime_ending_utc", "datetime_ending_ept")  # not asked for; allowed if sent


@register
class RegPrices(DataMinerFeed):
    name = "pjm.reg_prices"
    iso = Iso.PJM
    description = "PJM 5-minute regulation market clearing price (RMCP) by area"
    feed = "reg_prices"
    _numbers = (
        "reserve_quantity",
        "reserve_requirement",
        "market_clearing_price",
        "market_capped_clearing_price",
        "capability_clearing_price",
        "performance_clearing_price",
    )
    fields = (*_TIMES, "area", *_numbers)
    raw_schema = _schema((*_TIMES, *_ENDS, "area"), _numbers)
    raw_columns = tuple(raw_schema.names)
    required = ("datetime_beginning_utc", "area", "market_clearing_price")
    chunking = chunking(ARCHIVE_FIVE_MIN, max_days=7)
    components = Components.NONE
    revisions = RevisionPolicy.LATEST_WINS
    produces = ((Market.RT5, Product.REG),)

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        raw = self.read(raws)
        start = utc_column(self.name, raw, "datetime_beginning_utc")
        location = _area_location(self.name, raw.column("area"))
        instrument = pc.binary_join_element_wise("PJM.RT5.REG", location, ".")
        length = np.full(raw.num_rows, _MICROS[Market.RT5], dtype=np.int64)
        _check_ends(self.name, raw, start, length)
        return _prices(self.name, instrument, start, length, raw.column("market_clearing_price"))


class _ReserveResults(DataMinerFeed):
    """Reserve market results: one price per (interval, locale, service)."""

    iso = Iso.PJM
    components = Components.NONE
    revisions = RevisionPolicy.LATEST_WINS
    required = ("datetime_beginning_utc", "locale", "service", "mcp")

    def markets(self, start: pa.Array) -> pa.DictionaryArray:
        """The market of each row (`Market` values, dictionary-encoded)."""
        raise NotImplementedError

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        raw = self.read(raws)
        start = utc_column(self.name, raw, "datetime_beginning_utc")
        locale = _labels(self.name, raw.column("locale"), LOCALES, "locale")
        service = _labels(
            self.name, raw.column("service"), {k: v.value for k, v in SERVICES.items()}, "service"
        )
        market = self.markets(start)
        instrument = pc.binary_join_element_wise(
            "PJM", market.cast(pa.string()), service, locale, "."
        )
        length = np.array([_MICROS[Market(m)] for m in market.dictionary.to_pylist()])[
            market.indices.to_numpy(zero_copy_only=False)
        ]
        _check_ends(self.name, raw, start, length)
        value = raw.column("mcp").combine_chunks()
        # `pjm.reg_prices` owns PJM.RT5.REG.*: two feeds writing one series would turn any
        # difference between them into an endless churn of revisions.
        owned = pc.and_(
            pc.equal(market.cast(pa.string()), Market.RT5.value),
            pc.equal(service, Product.REG.value),
        )
        if pc.any(owned).as_py():
            keep = pc.invert(owned)
            instrument, start, value = (pc.filter(a, keep) for a in (instrument, start, value))
            length = length[keep.to_numpy(zero_copy_only=False)]
        return _prices(self.name, instrument, start, length, value)


_RT_NUMBERS = (
    "mcp",
    "mcp_capped",
    "reg_ccp",
    "reg_pcp",
    "as_req_mw",
    "total_mw",
    "as_mw",
    "ss_mw",
    "tier1_mw",
    "ircmwt2",
    "dsr_as_mw",
    "nsr_mw",
    "regd_mw",
)
_DA_NUMBERS = (
    "mcp",
    "mcp_capped",
    "as_req_mw",
    "total_mw",
    "as_mw",
    "ss_mw",
    "ircmwt2",
    "dsr_as_mw",
    "nsr_mw",
)
_RESERVE_PRODUCTS = (Product.SYNC, Product.PRIMARY, Product.SUPP, Product.REG)


@register
class ReserveMarketResults(_ReserveResults):
    name = "pjm.reserve_market_results"
    description = (
        "PJM real-time reserve market clearing prices (synchronized, primary, 30-minute, "
        "regulation) by reserve zone: 5-minute from 2022-09-01, hourly before"
    )
    feed = "reserve_market_results"
    fields = (*_TIMES, "locale", "service", *_RT_NUMBERS)
    raw_schema = _schema((*_TIMES, *_ENDS, "locale", "service"), _RT_NUMBERS)
    raw_columns = tuple(raw_schema.names)
    # 5-minute windows until the hourly history is older than the 5-minute archive.
    chunking = chunking(ARCHIVE_FIVE_MIN, max_days=7)
    # Five-minute regulation comes from `pjm.reg_prices`; hourly history only from here.
    produces = tuple(
        (m, p)
        for m in (Market.RT5, Market.RTH)
        for p in _RESERVE_PRODUCTS
        if (m, p) != (Market.RT5, Product.REG)
    )

    def windows(self, start: date, end: date, *, now: datetime | None = None) -> list[Window]:
        """As usual, but never one request across the hourly → 5-minute switch."""
        switch = RT_FIVE_MINUTE_FROM
        if start < switch <= end:
            before = self.chunking.split(self.iso, start, switch - timedelta(days=1), now=now)
            return before + self.chunking.split(self.iso, switch, end, now=now)
        return self.chunking.split(self.iso, start, end, now=now)

    def markets(self, start: pa.Array) -> pa.DictionaryArray:
        five = pc.greater_equal(start, pa.scalar(_FIVE_MINUTE_FROM, UTC_TS))
        codes = five.to_numpy(zero_copy_only=False).astype(np.int32)
        return labelled(codes, [Market.RTH.value, Market.RT5.value])


@register
class DaReserveMarketResults(_ReserveResults):
    name = "pjm.da_reserve_market_results"
    description = (
        "PJM day-ahead hourly reserve market clearing prices (synchronized, primary, "
        "30-minute) by reserve zone"
    )
    feed = "da_reserve_market_results"
    fields = (*_TIMES, "locale", "service", *_DA_NUMBERS)
    raw_schema = _schema((*_TIMES, *_ENDS, "locale", "service"), _DA_NUMBERS)
    raw_columns = tuple(raw_schema.names)
    chunking = chunking(ARCHIVE_HOURLY, max_days=31)
    # No day-ahead regulation market: a "Regulation" row would still map to REG.
    produces = tuple((Market.DA, p) for p in _RESERVE_PRODUCTS if p is not Product.REG)

    def markets(self, start: pa.Array) -> pa.DictionaryArray:
        return constant(Market.DA.value, len(start))


# ------------------------------------------------------------------------------ helpers


def _labels(
    dataset: str, column: pa.ChunkedArray, mapping: Mapping[str, str], what: str
) -> pa.Array:
    """Map upstream labels to our codes (vectorized); unknown labels raise."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(column.combine_chunks()))
    keys = pa.array(list(mapping), pa.string())
    index = pc.index_in(text, value_set=keys)
    if index.null_count:
        unknown = pc.unique(pc.filter(text, pc.is_null(index))).to_pylist()
        raise PayloadError(dataset, f"unknown {what} label(s): {', '.join(map(str, unknown))}")
    return pc.take(pa.array(list(mapping.values()), pa.string()), index)


def _area_location(dataset: str, column: pa.ChunkedArray) -> pa.Array:
    """Regulation area → instrument location: upper case, runs of other characters "_"."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(column.combine_chunks()))
    text = pc.replace_substring_regex(text, r"[^A-Z0-9]+", "_")
    text = pc.utf8_trim(text, "_")
    for value in pc.unique(text).to_pylist():
        try:
            check_location(value)
        except InvalidInstrumentId as exc:
            raise PayloadError(
                dataset, f"area {value!r} cannot name an instrument: {exc}"
            ) from None
    return text


def _check_ends(dataset: str, raw: pa.Table, start: pa.Array, length: np.ndarray) -> None:
    """Starts on the market's grid; an end column, if the feed sent one, agrees."""
    micros = start.cast(pa.int64()).to_numpy(zero_copy_only=False)
    off = (micros % length) != 0
    if off.any():
        at = start[int(np.flatnonzero(off)[0])]
        raise PayloadError(dataset, f"interval start {at} is not on its market's grid")
    if raw.column("datetime_ending_utc").null_count < raw.num_rows:
        require_values(dataset, raw, ["datetime_ending_utc"])
        end = utc_column(dataset, raw, "datetime_ending_utc")
        gap = end.cast(pa.int64()).to_numpy(zero_copy_only=False) - micros
        if (gap != length).any():
            raise PayloadError(dataset, "datetime_ending_utc does not match the interval length")


def _prices(
    dataset: str, instrument: pa.Array, start: pa.Array, length: np.ndarray, value: pa.ChunkedArray
) -> pa.Table:
    end = pa.array(start.cast(pa.int64()).to_numpy(zero_copy_only=False) + length).cast(UTC_TS)
    table = pa.table(
        {
            "instrument": pc.dictionary_encode(instrument),
            "interval_start": start,
            "interval_end": end,
            "value": value,
        }
    )
    try:
        return validate_prices(table)
    except SchemaError as exc:
        raise PayloadError(dataset, str(exc)) from None
