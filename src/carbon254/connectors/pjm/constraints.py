"""PJM binding transmission constraints from Data Miner 2.

- `pjm.rt_marginal_value`: every 5-minute interval in which a constraint bound in
  real time, with its shadow price, penalty factor and limit control percentage.
- `pjm.da_marginal_value`: the same for each day-ahead hour (shadow price only).
- `pjm.da_transconstraints`: day-ahead binding *events*: one row per facility and
  contingency spanning `duration` hours, with no shadow price (null).

Rows go to the constraints table (`CONSTRAINT_SCHEMA`), keyed by dataset, monitored
and contingency facility and interval start. Times come from the UTC columns, so the
repeated hour of a fall-back day is two distinct hours, never a duplicate.
`facility_summary` condenses a parsed table to how often, and how expensively, each
monitored facility bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.markets import Iso, Market
from ...core.records import CONSTRAINT_SCHEMA, validate_constraints
from ...core.schema import SchemaError
from ..dataset import RevisionPolicy, Target
from ..errors import PayloadError
from ..http import RawResponse
from ..registry import register
from ._feed import DataMinerFeed, constant, utc_column
from .dataminer import ARCHIVE_FIVE_MIN, ARCHIVE_HOURLY, chunking

__all__ = [
    "SUMMARY_SCHEMA",
    "DaMarginalValue",
    "DaTransconstraints",
    "RtMarginalValue",
    "facility_summary",
]

_HOUR_US = 3_600_000_000
_EPT = ("datetime_beginning_ept", "datetime_ending_ept")  # allowed if sent, never used
_FACILITIES = ("monitored_facility", "contingency_facility")
_UTC = ("datetime_beginning_utc", "datetime_ending_utc")


def _schema(strings: Sequence[str], numbers: Sequence[str], ints: Sequence[str] = ()) -> pa.Schema:
    return pa.schema(
        [(n, pa.string()) for n in strings]
        + [(n, pa.float64()) for n in numbers]
        + [(n, pa.int64()) for n in ints]
    )


class _Constraints(DataMinerFeed):
    """A constraint feed: facilities and a UTC start/end per binding interval or event."""

    iso = Iso.PJM
    target = Target.CONSTRAINTS
    revisions = RevisionPolicy.LATEST_WINS
    market: Market

    def lengths(self, raw: pa.Table) -> np.ndarray:
        """The interval length each row must have, in microseconds."""
        return np.full(raw.num_rows, self.market.interval // timedelta(microseconds=1))

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        raw = self.read(raws)
        start = utc_column(self.name, raw, "datetime_beginning_utc")
        end = utc_column(self.name, raw, "datetime_ending_utc")
        begin_us = start.cast(pa.int64()).to_numpy(zero_copy_only=False)
        length = end.cast(pa.int64()).to_numpy(zero_copy_only=False) - begin_us
        wrong = length != self.lengths(raw)
        if wrong.any():
            at = int(np.flatnonzero(wrong)[0])
            raise PayloadError(
                self.name,
                f"interval {start[at]} .. {end[at]} of {raw.column('monitored_facility')[at]} "
                f"is not {self._length_words()}",
            )
        step = self.market.interval // timedelta(microseconds=1)
        if (begin_us % step).any():
            raise PayloadError(self.name, "interval starts off the market's grid")
        n = raw.num_rows
        columns = {
            "dataset": constant(self.name, n),
            "iso": constant(Iso.PJM.value, n),
            "market": constant(self.market.value, n),
            "monitored_facility": raw.column("monitored_facility"),
            "contingency_facility": pc.fill_null(raw.column("contingency_facility"), ""),
            "interval_start": start,
            "interval_end": end,
        }
        for ours, theirs in (
            ("shadow_price", "shadow_price"),
            ("penalty_factor", "transmission_constraint_penalty_factor"),
            ("limit_control_pct", "limit_control_percentage"),
        ):
            if theirs in raw.column_names:
                columns[ours] = raw.column(theirs)
        try:
            return validate_constraints(pa.table(columns))
        except SchemaError as exc:
            raise PayloadError(self.name, str(exc)) from None

    def _length_words(self) -> str:
        return f"one {self.market.value} interval ({self.market.interval})"


@register
class RtMarginalValue(_Constraints):
    name = "pjm.rt_marginal_value"
    description = "PJM real-time 5-minute binding constraints with shadow prices"
    feed = "rt_marginal_value"
    market = Market.RT5
    _numbers = (
        "transmission_constraint_penalty_factor",
        "limit_control_percentage",
        "shadow_price",
    )
    fields = (*_UTC, *_FACILITIES, *_numbers)
    raw_schema = _schema((*_UTC, *_EPT, *_FACILITIES), _numbers)
    raw_columns = tuple(raw_schema.names)
    required = (*_UTC, "monitored_facility", "shadow_price")
    chunking = chunking(ARCHIVE_FIVE_MIN, max_days=7)


@register
class DaMarginalValue(_Constraints):
    name = "pjm.da_marginal_value"
    description = "PJM day-ahead hourly binding constraints with shadow prices"
    feed = "da_marginal_value"
    market = Market.DA
    fields = (*_UTC, *_FACILITIES, "shadow_price")
    raw_schema = _schema((*_UTC, *_EPT, *_FACILITIES), ("shadow_price",))
    raw_columns = tuple(raw_schema.names)
    required = (*_UTC, "monitored_facility", "shadow_price")
    chunking = chunking(ARCHIVE_HOURLY, max_days=31)


@register
class DaTransconstraints(_Constraints):
    name = "pjm.da_transconstraints"
    description = (
        "PJM day-ahead binding transmission constraint events (start, end, duration in "
        "hours; no shadow price)"
    )
    feed = "da_transconstraints"
    market = Market.DA
    fields = (*_UTC, "duration", "day_ahead_congestion_event", *_FACILITIES)
    raw_schema = _schema(
        (*_UTC, *_EPT, "day_ahead_congestion_event", *_FACILITIES), (), ("duration",)
    )
    raw_columns = tuple(raw_schema.names)
    required = (*_UTC, "duration", "monitored_facility")
    chunking = chunking(ARCHIVE_HOURLY, max_days=31)

    def lengths(self, raw: pa.Table) -> np.ndarray:
        """An event lasts `duration` whole hours."""
        return raw.column("duration").to_numpy() * _HOUR_US

    def _length_words(self) -> str:
        return "its duration in hours"


# ------------------------------------------------------------------------------ summary

SUMMARY_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("market", pa.string(), nullable=False),
        pa.field("monitored_facility", pa.string(), nullable=False),
        pa.field("rows", pa.int64(), nullable=False),  # (interval, contingency) pairs
        pa.field("intervals", pa.int64(), nullable=False),  # distinct binding intervals
        pa.field("hours", pa.float64(), nullable=False),  # distinct binding time, hours
        pa.field("mean_shadow_price", pa.float64()),  # mean over rows; null if none priced
        pa.field("min_shadow_price", pa.float64()),  # the most negative (most binding)
        pa.field("max_shadow_price", pa.float64()),
        pa.field("first_start", CONSTRAINT_SCHEMA.field("interval_start").type),
        pa.field("last_end", CONSTRAINT_SCHEMA.field("interval_end").type),
    ]
)


def facility_summary(table: pa.Table) -> pa.Table:
    """How often and how hard each monitored facility bound, per dataset and market.

    A facility can bind under several contingencies in one interval: `rows` counts
    every (interval, contingency) pair, `intervals` the distinct intervals and `hours`
    their distinct duration; the shadow-price statistics are over rows. Sorted by
    `intervals`, most frequent first.
    """
    keys = ["dataset", "market", "monitored_facility"]
    micros = pc.subtract(
        table.column("interval_end").cast(pa.int64()),
        table.column("interval_start").cast(pa.int64()),
    )
    base = table.select([*keys, "interval_start", "interval_end", "shadow_price"])
    base = base.append_column("length_us", micros)
    stats = base.group_by(keys).aggregate(
        [
            ([], "count_all"),
            ("shadow_price", "mean"),
            ("shadow_price", "min"),
            ("shadow_price", "max"),
            ("interval_start", "min"),
            ("interval_end", "max"),
        ]
    )
    distinct = (
        base.group_by([*keys, "interval_start"])
        .aggregate([("length_us", "max")])
        .group_by(keys)
        .aggregate([([], "count_all"), ("length_us_max", "sum")])
        .rename_columns([*keys, "intervals", "length_us"])
    )
    joined = stats.join(distinct, keys)
    out = pa.table(
        {
            "dataset": joined.column("dataset"),
            "market": joined.column("market"),
            "monitored_facility": joined.column("monitored_facility"),
            "rows": joined.column("count_all"),
            "intervals": joined.column("intervals"),
            "hours": pc.divide(joined.column("length_us").cast(pa.float64()), float(_HOUR_US)),
            "mean_shadow_price": joined.column("shadow_price_mean"),
            "min_shadow_price": joined.column("shadow_price_min"),
            "max_shadow_price": joined.column("shadow_price_max"),
            "first_start": joined.column("interval_start_min"),
            "last_end": joined.column("interval_end_max"),
        },
        schema=SUMMARY_SCHEMA,
    )
    return out.sort_by([("intervals", "descending"), ("monitored_facility", "ascending")])
