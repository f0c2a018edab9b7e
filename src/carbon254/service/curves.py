"""Forward curves as the API serves them: history from the store, marks laid over it.

`forward_curve` is the one entry point REST and GraphQL share. It loads what the pure
builder (`analytics.curves`) needs, calls it, and overlays the user marks held at
`as_of`. Errors are store exceptions the problem handlers already map: an unknown
instrument is `UnknownInstrument` (404), anything else the request cannot have is
`CurveUnavailable` (an `InvalidArgument`, 422) with a `reason`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..analytics.curves import (
    MAX_MONTHS,
    CurveMethod,
    InsufficientHistory,
    add_months,
    apply_marks,
    build_curve,
    month_bounds,
)
from ..core import InstrumentId, InvalidInstrumentId, Product
from ..store.base import InvalidArgument, PriceStore, UnknownInstrument

__all__ = [
    "CURVE_PRODUCTS",
    "DEFAULT_MONTHS",
    "MAX_MONTHS",
    "CurveUnavailable",
    "curve_info",
    "curve_meta",
    "forward_curve",
]

DEFAULT_MONTHS = 24
CURVE_PRODUCTS = frozenset({Product.LMP, Product.SPP})
"""Energy prices: what a power forward curve is of."""
METHOD = CurveMethod()
_META_KEY = b"carbon254.curve"


class CurveUnavailable(InvalidArgument):
    """The request is well formed but no curve can be served for it (422); `reason` is a
    short code: invalid-instrument, not-a-hub, not-energy, invalid-months, invalid-start,
    invalid-as-of, no-history, no-recent-prices."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


def curve_info(store: PriceStore, instrument: str) -> dict[str, Any]:
    """The catalogue row of a curve-able instrument (canonical id in `instrument`), or the
    error: malformed id or not a hub / not energy -> `CurveUnavailable`, unknown ->
    `UnknownInstrument`."""
    try:
        canonical = str(InstrumentId.parse(instrument))
    except InvalidInstrumentId as exc:
        raise CurveUnavailable(str(exc), "invalid-instrument") from None
    rows = store.curve_catalogue([canonical]).to_pylist()
    if not rows or rows[0]["last_interval"] is None:
        raise UnknownInstrument([canonical])
    info = rows[0]
    if not info["hub"]:
        raise CurveUnavailable(
            f"{canonical} is not a hub: forward curves are built for hub locations "
            "(location type HUB in the directory)",
            "not-a-hub",
        )
    if InstrumentId.parse(canonical).product not in CURVE_PRODUCTS:
        raise CurveUnavailable(
            f"{canonical} is not an energy price: curves are built for LMP and SPP",
            "not-energy",
        )
    return info


def forward_curve(
    store: PriceStore,
    instrument: str,
    *,
    as_of: datetime | None = None,
    start: date | None = None,
    months: int = DEFAULT_MONTHS,
) -> pa.Table:
    """The monthly on-/off-peak curve of a hub: month, peak, price, source, years, hours.

    History is what the store held at `as_of` (default: now); marks held then replace
    the built price of their (month, peak). `start` (default: the month after as_of's,
    in the market's clock) must be the first day of a month. The curve's metadata
    (method, as_of, history window, level, marks) is JSON in the schema metadata under
    `carbon254.curve`; `curve_meta(table)` reads it.
    """
    info = curve_info(store, instrument)
    iid = InstrumentId.parse(info["instrument"])
    now = datetime.now(UTC)
    at = _check_request(iid, as_of, start, months, now)
    # What the builder can use: up to max_years blocks before the last complete month,
    # plus that month and the one running. Sub-hourly prices are read as hourly means,
    # each weighted by the time its intervals cover.
    last_end = info["last_interval"] + iid.market.interval
    cutoff = min(at, last_end)
    first = month_bounds(iid.iso, add_months(_month_of(iid, cutoff), -12 * METHOD.max_years - 1))
    hourly = store.resample(
        [str(iid)], first[0], max(cutoff, first[0] + timedelta(hours=1)),
        freq="hourly", as_of=as_of,
    )  # fmt: skip
    step = iid.market.interval / timedelta(hours=1)
    history = pa.table(
        {
            "interval_start": hourly["interval_start"],
            "interval_end": hourly["interval_end"],
            "value": hourly["value"],
            "hours": pc.multiply(hourly["count"].cast(pa.float64()), step),
        }
    )
    try:
        curve = build_curve(history, iid.iso, as_of=at, start=start, months=months, method=METHOD)
    except InsufficientHistory as exc:
        raise CurveUnavailable(f"{iid}: {exc}", exc.reason) from None
    marks = store.read_curve_marks(str(iid), as_of=as_of)
    table = apply_marks(curve.table, marks.select(["month", "peak", "price"]))
    marked = pc.equal(table["source"], "mark")
    used = marks.filter(pc.is_in(marks["month"], value_set=table["month"]))
    meta = {
        "instrument": str(iid),
        **curve.meta,
        "marks": {
            "rows": int(pc.sum(marked).as_py() or 0),
            "versions": sorted(set(used["version"].to_pylist())),
        },
    }
    return table.replace_schema_metadata({_META_KEY: orjson.dumps(meta)})


def curve_meta(table: pa.Table) -> dict[str, Any]:
    """The metadata `forward_curve` put on its table (empty for any other table)."""
    raw = (table.schema.metadata or {}).get(_META_KEY)
    return orjson.loads(raw) if raw else {}


def _month_of(iid: InstrumentId, instant: datetime) -> date:
    local = instant.astimezone(iid.iso.tz)
    return date(local.year, local.month, 1)


def _check_request(
    iid: InstrumentId, as_of: datetime | None, start: date | None, months: int, now: datetime
) -> datetime:
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise CurveUnavailable(f"months must be 1-{MAX_MONTHS}, got {months!r}", "invalid-months")
    at = now
    if as_of is not None:
        if as_of.tzinfo is None:
            raise CurveUnavailable("as_of must be timezone-aware", "invalid-as-of")
        if as_of > now:
            raise CurveUnavailable(f"as_of {as_of.isoformat()} is in the future", "invalid-as-of")
        at = as_of.astimezone(UTC)
    if start is not None:
        if isinstance(start, datetime) or start.day != 1:
            raise CurveUnavailable(
                f"start {start.isoformat()} must be the first day of a month (a date)",
                "invalid-start",
            )
        if start < _month_of(iid, at):
            raise CurveUnavailable(
                f"start {start:%Y-%m} is before the month of as_of ({_month_of(iid, at):%Y-%m}"
                f" in {iid.iso.value}'s clock): a forward curve starts no earlier",
                "invalid-start",
            )
        if (start.year * 12 + start.month - 1 + months - 1) // 12 > 2099:  # no date past 9999
            raise CurveUnavailable("the curve must end by 2099", "invalid-start")
    return at
