"""`InstrumentId`: the name of one priced series, `ISO.MARKET.PRODUCT.LOCATION`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .markets import Iso, Market, Product

__all__ = ["InstrumentId", "InvalidInstrumentId", "check_location"]

# A location may contain dots (MISO "AMIL.BGS6", NYISO "N.Y.C."), so it is everything
# after the third dot. Commas are reserved as the list separator in URLs.
_LOCATION = re.compile(r"[A-Za-z0-9_\-.+/#&()' ]{1,100}")


class InvalidInstrumentId(ValueError):
    """A string that is not a valid instrument id; `part` names the offending part."""

    def __init__(self, text: str, part: str, reason: str) -> None:
        self.text = text
        self.part = part
        self.reason = reason
        super().__init__(f"invalid instrument id {text!r}: {part} {reason}")


@dataclass(frozen=True, slots=True, order=True)
class InstrumentId:
    iso: Iso
    market: Market
    product: Product
    location: str

    def __post_init__(self) -> None:
        # Coerce plain strings so that InstrumentId("pjm", "rt5", "lmp", "1") works too.
        # (`str(self)` needs the enums, so name the id from the raw parts.)
        text = f"{self.iso}.{self.market}.{self.product}.{self.location}"
        for name, enum in (("iso", Iso), ("market", Market), ("product", Product)):
            value = getattr(self, name)
            if not isinstance(value, enum):
                object.__setattr__(self, name, _member(enum, str(value), name, text))
        _check_location(self.location, text)

    @classmethod
    def parse(cls, text: str) -> InstrumentId:
        """Parse `ISO.MARKET.PRODUCT.LOCATION`; ISO, market and product are case-insensitive."""
        if not isinstance(text, str):
            raise InvalidInstrumentId(repr(text), "id", "must be a string")
        if cls is InstrumentId:  # ids are immutable: a batch of 13,000 nodes parses once
            return _parse_cached(text)
        return cls._parse(text)

    @classmethod
    def _parse(cls, text: str) -> InstrumentId:
        parts = text.strip().split(".", 3)
        if len(parts) < 4:
            raise InvalidInstrumentId(
                text, "id", "must have four dot-separated parts ISO.MARKET.PRODUCT.LOCATION"
            )
        iso, market, product, location = parts
        return cls(
            _member(Iso, iso, "iso", text),
            _member(Market, market, "market", text),
            _member(Product, product, "product", text),
            _check_location(location, text),
        )

    def __str__(self) -> str:
        return f"{self.iso.value}.{self.market.value}.{self.product.value}.{self.location}"

    @classmethod
    def coerce(cls, value: Any) -> InstrumentId:
        return value if isinstance(value, InstrumentId) else cls.parse(value)


@lru_cache(maxsize=1 << 17)
def _parse_cached(text: str) -> InstrumentId:
    return InstrumentId._parse(text)


def _member(enum: Any, raw: str, part: str, text: str) -> Any:
    try:
        return enum(raw.upper())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInstrumentId(text, part, f"{raw!r} is not one of {allowed}") from None


def check_location(location: str) -> str:
    """Return `location` if it can be the LOCATION part of an instrument id, else raise."""
    if not isinstance(location, str):
        raise InvalidInstrumentId(repr(location), "location", "must be a string")
    return _check_location(location, location)


def _check_location(location: str, text: str) -> str:
    if not location:
        raise InvalidInstrumentId(text, "location", "is empty")
    if location != location.strip():
        raise InvalidInstrumentId(text, "location", "has leading or trailing spaces")
    if not _LOCATION.fullmatch(location):
        raise InvalidInstrumentId(
            text,
            "location",
            f"{location!r} must be 1-100 characters of letters, digits, spaces and _-.+/#&()'",
        )
    return location
