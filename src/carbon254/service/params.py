"""Parsing and checking of query parameters, shared by every route that reads prices.

Errors are collected across parameters and raised together as one 422 problem whose
`detail` names each bad parameter and value, and whose `errors` member lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request

from ..core import InstrumentId, InvalidInstrumentId
from .problems import INVALID_PARAMETER, Problem

__all__ = [
    "Limits",
    "ParamErrors",
    "PriceQuery",
    "check_range",
    "parse_enum",
    "parse_instant",
    "parse_instruments",
    "price_query",
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
    max_rows: int = 1_000_000  # ~100 MB of JSON; pagination comes with the API issue


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


def parse_instruments(values: list[str], errors: ParamErrors, *, limit: int) -> tuple[str, ...]:
    """Instrument ids from one or more comma-separated lists, canonical and de-duplicated."""
    texts = [t.strip() for value in values for t in value.split(",")]
    if not any(texts):
        errors.add("instruments", "instruments must list at least one instrument id")
        return ()
    ids: dict[str, None] = {}
    for position, text in enumerate(texts, 1):
        if not text:
            errors.add("instruments", f"instruments: empty id at position {position}")
            continue
        try:
            ids[str(InstrumentId.parse(text))] = None
        except InvalidInstrumentId as exc:
            errors.add("instruments", str(exc), value=text, part=exc.part)
    if len(ids) > limit:
        errors.add("instruments", f"at most {limit} instruments per request, got {len(ids)}")
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
    limits: Limits = request.app.state.limits
    errors = ParamErrors()
    ids = parse_instruments(instruments, errors, limit=limits.max_instruments)
    first = parse_instant(start, "start", errors)
    last = parse_instant(end, "end", errors)
    at = parse_instant(as_of, "as_of", errors) if as_of is not None else None
    if first is not None and last is not None:
        check_range(first, last, limits, errors)
    if at is not None and at > datetime.now(UTC):
        errors.add("as_of", f"as_of ({_z(at)}) is in the future")
    errors.raise_if_any()
    assert first is not None and last is not None
    return PriceQuery(ids, first, last, at)
