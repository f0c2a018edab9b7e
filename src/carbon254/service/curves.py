"""Forward curves as the API serves them: history from the store, marks laid over it.

`forward_curve` is the one entry point REST and GraphQL share. It loads what the pure
builder (`analytics.curves`) needs, calls it, and overlays the user marks held at
`as_of`. Errors are store exceptions the problem handlers already map: an unknown
instrument is `UnknownInstrument` (404), anything else the request cannot have is
`CurveUnavailable` (an `InvalidArgument`, 422) with a `reason`.
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from ..store.base import InvalidArgument, PriceStore

__all__ = ["DEFAULT_MONTHS", "MAX_MONTHS", "CurveUnavailable", "forward_curve"]

DEFAULT_MONTHS = 24
MAX_MONTHS = 60


class CurveUnavailable(InvalidArgument):
    """The instrument exists but no curve can be built for this request (422)."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


def forward_curve(
    store: PriceStore,
    instrument: str,
    *,
    as_of: datetime | None = None,
    start: date | None = None,
    months: int = DEFAULT_MONTHS,
) -> pa.Table:
    """The monthly on-/off-peak curve of a hub: month, peak, price, source, years, hours.

    The curve's metadata (method, as_of, history window, level) is JSON in the schema
    metadata under `carbon254.curve` (`curve_meta(table)` reads it).
    """
    raise NotImplementedError("forward curves are being built (issue 4, CURVES part)")
