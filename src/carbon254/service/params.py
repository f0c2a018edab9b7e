"""Parsing and checking of query parameters, shared by every route that reads prices.

Errors are collected across parameters and raised together as one 422 problem whose
`detail` names each bad parameter and value, and whose `errors` member lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, TypeVar
from zoneinfo import available_timezones

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Query, Request

from ..core import InstrumentId, InvalidInstrumentId
from ..core.schema import EARLIEST_INTERVAL, LATEST_INTERVAL
from .problems import INVALID_PARAMETER, Problem

__all__ = [
    "AGGREGATES",
    "PEAKS",
    "RESAMPLE_FREQS",
    "RESAMPLE_STEPS",
    "Limits",
    "ParamErrors",
    "PriceQuery",
    "SeriesOptions",
    "check_range",
    "check_resample",
    "parse_choice",
    "parse_date",
    "parse_enum",
    "parse_instant",
    "parse_instruments",
    "parse_limit",
    "parse_zone",
    "price_query",
    "read_price_query",
    "read_series_options",
]

E = TypeVar("E", bound=StrEnum)

INSTANT_HELP = (
    "ISO-8601 date-time or date, e.g. `2024-11-03T04:00:00Z`, `2024-11-03T00:00-04:00` or "
    "`2024-11-03`. A date-time without an offset, and a plain date (its midnight), are "
    "interpreted as **UTC**, not as the market's local time. Encode `+` as `%2B` in URLs."
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request limits; kept on `app.state.limits`."""

    max_range: timedelta = timedelta(days=366)
    max_instruments: int = 100
    max_rows: int = 1_000_000  # ~100 MB of JSON: the largest page a client may ask for
    page_rows: int = 100_000  # the page size of `/prices` when the client names none


@dataclass(frozen=True, slots=True)
class PriceQuery:
    instruments: tuple[str, ...]  # canonical ids, de-duplicated, in request order
    start: datetime  # UTC
    end: datetime  # UTC
    as_of: datetime | None  # UTC


class ParamErrors:
    """Collects parameter errors; `raise_if_any` raises them as one 422 problem."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, param: str, detail: str, **extra: Any) -> None:
        self.errors.append({"param": param, "in": "query", "detail": detail, **extra})

    def raise_if_any(self) -> None:
        if self.errors:
            detail = "; ".join(e["detail"] for e in self.errors)
            raise Problem(422, detail, type=INVALID_PARAMETER, errors=self.errors)


def parse_instruments(
    values: list[str], errors: ParamErrors, *, limit: int, param: str = "instruments"
) -> tuple[str, ...]:
    """Instrument ids from one or more comma-separated lists, canonical and de-duplicated."""
    texts = [t.strip() for value in values for t in value.split(",")]
    if not any(texts):
        errors.add(param, f"{param} must list at least one instrument id")
        return ()
    ids: dict[str, None] = {}
    for position, text in enumerate(texts, 1):
        if not text:
            errors.add(param, f"{param}: empty id at position {position}")
            continue
        try:
            ids[str(InstrumentId.parse(text))] = None
        except InvalidInstrumentId as exc:
            errors.add(param, str(exc), value=text, part=exc.part)
    if len(ids) > limit:
        noun = "instrument" if limit == 1 else "instruments"
        errors.add(param, f"{param}: at most {limit} {noun} per request, got {len(ids)}")
    return tuple(ids)


def parse_instant(text: str, param: str, errors: ParamErrors) -> datetime | None:
    """An ISO-8601 date-time or date as an aware UTC datetime; naive means UTC."""
    raw = text.strip()
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        hint = " (a '+' in a URL must be encoded as %2B)" if " " in raw else ""
        errors.add(
            param, f"{param} {text!r} is not an ISO-8601 date-time or date{hint}", value=text
        )
        return None
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        errors.add(param, f"{param} {text!r} is out of range in UTC", value=text)
        return None


def parse_enum(text: str | None, enum: type[E], param: str, errors: ParamErrors) -> E | None:
    """A case-insensitive enum member, or None when the parameter is absent."""
    if text is None:
        return None
    try:
        return enum(text.strip().upper())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        errors.add(param, f"{param} {text!r} is not one of {allowed}", value=text)
        return None


def check_range(start: datetime, end: datetime, limits: Limits, errors: ParamErrors) -> None:
    for param, instant in (("start", start), ("end", end)):
        if not EARLIEST_INTERVAL <= instant <= LATEST_INTERVAL:
            errors.add(
                param,
                f"{param} ({_z(instant)}) is outside the supported span "
                f"{EARLIEST_INTERVAL.year}-{LATEST_INTERVAL.year}",
            )
    if start >= end:
        errors.add("start", f"start ({_z(start)}) must be before end ({_z(end)})")
    elif end - start > limits.max_range:
        errors.add(
            "end",
            f"range from start to end is {_days(end - start)} days; "
            f"at most {_days(limits.max_range)} days per request",
        )


def _z(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _days(span: timedelta) -> str:
    return f"{span / timedelta(days=1):g}"


def read_price_query(
    instruments: list[str],
    start: str,
    end: str,
    as_of: str | None,
    limits: Limits,
    errors: ParamErrors,
    param: str = "instruments",
) -> PriceQuery | None:
    """`instruments`, `start`, `end`, `as_of` checked into `errors`; None if any is bad."""
    before = len(errors.errors)
    ids = parse_instruments(instruments, errors, limit=limits.max_instruments, param=param)
    first = parse_instant(start, "start", errors)
    last = parse_instant(end, "end", errors)
    at = parse_instant(as_of, "as_of", errors) if as_of is not None else None
    if first is not None and last is not None:
        check_range(first, last, limits, errors)
    if at is not None and at > datetime.now(UTC):
        errors.add("as_of", f"as_of ({_z(at)}) is in the future")
    if len(errors.errors) > before or first is None or last is None:
        return None
    return PriceQuery(ids, first, last, at)


# -- resampling, peak, time zone, paging ------------------------------------------------
RESAMPLE_FREQS = ("5min", "15min", "hourly", "daily", "monthly")
RESAMPLE_STEPS = {
    "5min": timedelta(minutes=5),
    "15min": timedelta(minutes=15),
    "hourly": timedelta(hours=1),
}
"""Fixed bucket lengths; `daily` and `monthly` are local market days and months."""
AGGREGATES = ("mean", "min", "max")
PEAKS = ("all", "on", "off")
MARKET_TZ = "market"


def parse_choice(
    text: str | None, choices: Sequence[str], param: str, errors: ParamErrors
) -> str | None:
    """A case-insensitive choice among lower-case `choices`, or None when absent."""
    if text is None:
        return None
    value = text.strip().lower()
    if value not in choices:
        errors.add(param, f"{param} {text!r} is not one of {', '.join(choices)}", value=text)
        return None
    return value


def parse_date(text: str | None, param: str, errors: ParamErrors) -> date | None:
    """A calendar date `YYYY-MM-DD`, or None when absent."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors.add(param, f"{param} {text!r} is not a date (YYYY-MM-DD)", value=text)
        return None


_NOT_ZONES = frozenset({"localtime", "posixrules"})
"""Files of a tz database that are not IANA zones: `localtime` is the host's own clock."""


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() - _NOT_ZONES}


@cache
def _arrow_knows(zone: str) -> bool:
    try:
        pc.local_timestamp(pa.array([0], pa.timestamp("us", tz=zone)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def parse_zone(text: str | None, errors: ParamErrors) -> str | None:
    """`market`, or an IANA time zone name (case-insensitive, returned canonical)."""
    if text is None:
        return None
    value = text.strip()
    if value.lower() == MARKET_TZ:
        return MARKET_TZ
    zone = _zone_names().get(value.lower())
    if zone is None or not _arrow_knows(zone):
        errors.add(
            "tz",
            f"tz {text!r} is not an IANA time zone (e.g. America/New_York) or 'market'",
            value=text,
        )
        return None
    return zone


def parse_limit(limit: int | None, limits: Limits, errors: ParamErrors) -> int:
    """Rows per page: default `limits.page_rows`, at most `limits.max_rows`."""
    if limit is None:
        return min(limits.page_rows, limits.max_rows)
    if not 1 <= limit <= limits.max_rows:
        errors.add("limit", f"limit must be between 1 and {limits.max_rows:,}; got {limit}")
    return max(1, min(limit, limits.max_rows))


def check_resample(instruments: Sequence[str], freq: str, errors: ParamErrors) -> None:
    """A bucket finer than an instrument's own interval would invent data: refuse it."""
    step = RESAMPLE_STEPS.get(freq)
    for text in instruments:
        iid = InstrumentId.parse(text)
        if iid.product.is_period_priced:
            errors.add(
                "resample",
                f"{iid} is priced per delivery period ({iid.product}); it cannot be resampled",
            )
        elif step is not None and step < iid.market.interval:
            errors.add(
                "resample",
                f"resample {freq!r} is finer than {iid}'s interval "
                f"({_minutes(iid.market.interval)}); use a step of at least that",
            )


def _minutes(span: timedelta) -> str:
    minutes = int(span / timedelta(minutes=1))
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


async def price_query(
    request: Request,
    instruments: Annotated[
        list[str],
        Query(
            description="Instrument ids `ISO.MARKET.PRODUCT.LOCATION`, comma-separated "
            "(the parameter may also be repeated), e.g. `PJM.DA.LMP.51288,PJM.RT5.LMP.51288`."
        ),
    ],
    start: Annotated[str, Query(description=f"Inclusive start of the range. {INSTANT_HELP}")],
    end: Annotated[str, Query(description=f"Exclusive end of the range. {INSTANT_HELP}")],
    as_of: Annotated[
        str | None,
        Query(description=f"Return the values the store held at this instant. {INSTANT_HELP}"),
    ] = None,
) -> PriceQuery:
    """FastAPI dependency: the validated `instruments`, `start`, `end`, `as_of`."""
    errors = ParamErrors()
    query = read_price_query(instruments, start, end, as_of, request.app.state.limits, errors)
    errors.raise_if_any()
    assert query is not None
    return query


@dataclass(frozen=True, slots=True)
class SeriesOptions:
    """How a price series is shaped: bucketed, peak-filtered, with local-time columns."""

    resample: str | None  # a RESAMPLE_FREQS member, or None for stored rows
    agg: str  # an AGGREGATES member
    peak: str | None  # "on", "off", or None for every interval
    tz: str | None  # an IANA zone, "market", or None for UTC only


def read_series_options(
    resample: str | None,
    agg: str | None,
    peak: str | None,
    tz: str | None,
    errors: ParamErrors,
) -> SeriesOptions:
    """`resample`, `agg`, `peak`, `tz` checked into `errors` (a bad one reads as absent)."""
    freq = parse_choice(resample, RESAMPLE_FREQS, "resample", errors)
    how = parse_choice(agg, AGGREGATES, "agg", errors)
    if agg is not None and resample is None:
        errors.add("agg", "agg applies only with resample (e.g. resample=hourly&agg=max)")
    block = parse_choice(peak, PEAKS, "peak", errors)
    zone = parse_zone(tz, errors)
    return SeriesOptions(freq, how or "mean", None if block == "all" else block, zone)
