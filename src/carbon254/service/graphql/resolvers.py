"""Resolver helpers shared by the query root and `Instrument` (no GraphQL types here)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from .columns import Series
from .inputs import check_window_for, price_window

if TYPE_CHECKING:
    from strawberry.types import Info

__all__ = ["series_for", "window_for"]


def _value(member: Enum | None) -> str | None:
    return None if member is None else member.value


def window_for(
    info: Info,
    start: datetime,
    end: datetime,
    as_of: datetime | None,
    resample: Enum | None,
    agg: Enum | None,
    peak: Enum | None,
):
    """The checked `PriceWindow` of a `prices` field's arguments (or BAD_USER_INPUT)."""
    return price_window(
        start, end, as_of, _value(resample), _value(agg), _value(peak), info.context.limits
    )


async def series_for(
    info: Info,
    instrument: str,
    start: datetime,
    end: datetime,
    as_of: datetime | None,
    resample: Enum | None,
    agg: Enum | None,
    peak: Enum | None,
) -> Series:
    """One instrument's series, read together with every other instrument asking for the
    same window in this request (the prices DataLoader)."""
    window = window_for(info, start, end, as_of, resample, agg, peak)
    check_window_for([instrument], window)
    return Series(table=await info.context.loaders.prices.load((instrument, window)))
