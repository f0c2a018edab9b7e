"""Checking resolver arguments, with the same rules and messages as the REST parameters.

Every problem with one argument list is reported at once (like `params.ParamErrors`), as
one BAD_USER_INPUT error whose `extensions.errors` names each argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ...core import InstrumentId, InvalidInstrumentId
from ..params import Limits, ParamErrors, check_resample
from .errors import bad_input

__all__ = [
    "ArgErrors",
    "PriceWindow",
    "check_window_for",
    "instrument_id",
    "instrument_ids",
    "price_window",
]


class ArgErrors:
    """Collects argument errors; `raise_if_any` raises them as one BAD_USER_INPUT."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, argument: str, detail: str) -> None:
        self.errors.append({"argument": argument, "detail": detail})

    def raise_if_any(self) -> None:
        if self.errors:
            raise bad_input("; ".join(e["detail"] for e in self.errors), errors=self.errors)


@dataclass(frozen=True, slots=True)
class PriceWindow:
    """What one series read asks for besides the instrument (a DataLoader key part).

    Instruments asked for with equal windows are read together in one store call.
    """

    start: datetime
    end: datetime
    as_of: datetime | None = None
    freq: str | None = None  # store.base.Freq; None = stored intervals
    how: str = "mean"
    peak: str | None = None


def _z(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def instrument_id(text: str, argument: str = "id") -> str:
    """The canonical form of one instrument id, or BAD_USER_INPUT."""
    try:
        return str(InstrumentId.parse(text))
    except InvalidInstrumentId as exc:
        raise bad_input(str(exc), argument=argument) from None


def instrument_ids(values: list[str], limits: Limits, argument: str = "instruments") -> list[str]:
    """Canonical, de-duplicated ids in request order; at most `limits.max_instruments`."""
    errors = ArgErrors()
    ids: dict[str, None] = {}
    for text in values:
        try:
            ids[str(InstrumentId.parse(text))] = None
        except InvalidInstrumentId as exc:
            errors.add(argument, str(exc))
    if not values:
        errors.add(argument, f"{argument} must list at least one instrument id")
    if len(ids) > limits.max_instruments:
        errors.add(
            argument, f"at most {limits.max_instruments} instruments per request, got {len(ids)}"
        )
    errors.raise_if_any()
    return list(ids)


def price_window(
    start: datetime,
    end: datetime,
    as_of: datetime | None,
    resample: str | None,
    agg: str | None,
    peak: str | None,
    limits: Limits,
) -> PriceWindow:
    """A checked window: start < end, at most `limits.max_range`, as_of not in the future;
    `agg` and `peak` only with `resample` (the store aggregates only when resampling)."""
    errors = ArgErrors()
    if start >= end:
        errors.add("start", f"start ({_z(start)}) must be before end ({_z(end)})")
    elif end - start > limits.max_range:
        errors.add(
            "end",
            f"range from start to end is {(end - start) / timedelta(days=1):g} days; "
            f"at most {limits.max_range / timedelta(days=1):g} days per request",
        )
    if as_of is not None and as_of > datetime.now(UTC):
        errors.add("asOf", f"asOf ({_z(as_of)}) is in the future")
    if resample is None:
        if agg is not None:
            errors.add("agg", "agg applies only with resample")
        if peak is not None:
            errors.add("peak", "peak applies only with resample")
    errors.raise_if_any()
    return PriceWindow(start, end, as_of, resample, agg or "mean", peak)


def check_window_for(instruments: Sequence[str], window: PriceWindow) -> None:
    """The REST rule for `resample`: no bucket finer than an instrument's own interval,
    and none for period-priced products (either would mislabel the intervals)."""
    if window.freq is None:
        return
    found = ParamErrors()
    check_resample(instruments, window.freq, found)
    errors = ArgErrors()
    for error in found.errors:
        errors.add("resample", error["detail"])
    errors.raise_if_any()
