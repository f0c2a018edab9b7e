"""GraphQL object types of the catalogue: instruments, locations, latest prices.

`Instrument`'s nested fields (location, latest, prices) resolve through the request's
DataLoaders, so a list of N instruments costs one store read per field, not N.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from ...core import Iso as _Iso
from ...core import Market as _Market
from ...core import Product as _Product
from .columns import Series
from .inputs import PriceWindow
from .resolvers import series_for

__all__ = [
    "Agg",
    "Instrument",
    "InstrumentSeries",
    "Iso",
    "Location",
    "Market",
    "Peak",
    "Price",
    "Product",
    "Resample",
]


def _mirror(enum: type[Enum], description: str) -> Any:
    """A GraphQL enum with the members of a core enum (the core class stays untouched)."""
    mirror = Enum(enum.__name__, {m.name: m.value for m in enum})  # type: ignore[misc]
    return strawberry.enum(mirror, description=description)


Iso = _mirror(_Iso, "An independent system operator.")
Market = _mirror(_Market, "A market run: DA, or real time at 5 or 15 minutes or hourly.")
Product = _mirror(_Product, "What is priced: LMP, ERCOT SPP, ancillary services, adders…")


@strawberry.enum(description="Bucket to resample to, in each ISO's market clock.")
class Resample(Enum):
    MIN15 = "15min"
    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"


@strawberry.enum(description="How intervals are aggregated into a bucket.")
class Agg(Enum):
    MEAN = "mean"
    MIN = "min"
    MAX = "max"


@strawberry.enum(description="Keep only on- or off-peak intervals (the ISO's calendar).")
class Peak(Enum):
    ON = "on"
    OFF = "off"


@strawberry.type(description="One version of a pricing location from the directory.")
class Location:
    iso: Iso  # type: ignore[valid-type]
    code: str = strawberry.field(description="The LOCATION part of instrument ids.")
    name: str | None
    location_type: str = strawberry.field(name="type", description="HUB, ZONE, GENERATOR…")
    zone: str | None
    effective_date: date
    termination_date: date | None = strawberry.field(description="Exclusive; null = in effect.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Location:
        return cls(
            iso=Iso(row["iso"]),
            code=row["location"],
            name=row["name"],
            location_type=row["location_type"],
            zone=row["zone"],
            effective_date=row["effective_date"],
            termination_date=row["termination_date"],
        )


@strawberry.type(description="One stored interval.")
class Price:
    interval_start: datetime
    interval_end: datetime
    value: float
    energy: float | None
    congestion: float | None
    loss: float | None
    ghg: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Price:
        return cls(**{f: row.get(f) for f in _PRICE_FIELDS})


_PRICE_FIELDS = ("interval_start", "interval_end", "value", "energy", "congestion", "loss", "ghg")


@strawberry.type(description="A priced series: ISO.MARKET.PRODUCT.LOCATION.")
class Instrument:
    id: strawberry.ID
    iso: Iso  # type: ignore[valid-type]
    market: Market  # type: ignore[valid-type]
    product: Product  # type: ignore[valid-type]
    location_code: str = strawberry.field(description="The LOCATION part of the id.")
    first_interval: datetime | None
    last_interval: datetime | None
    prefetched: strawberry.Private[dict[str, Any]] = dataclasses.field(default_factory=dict)
    """Nested values the list resolver already loaded for every item (see `prefetch`)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Instrument:
        return cls(
            id=strawberry.ID(row["instrument"]),
            iso=Iso(row["iso"]),
            market=Market(row["market"]),
            product=Product(row["product"]),
            location_code=row["location"],
            first_interval=row["first_interval"],
            last_interval=row["last_interval"],
        )

    # `location` and `latest` are sync resolvers that return the prefetched value, or
    # else the DataLoader's future (graphql-core awaits it): a list whose items need no
    # awaiting completes without one asyncio task per item.
    @strawberry.field(description="The directory entry in effect today (else the latest).")
    def location(self, info: Info) -> Location | None:
        if "location" in self.prefetched:
            return self.prefetched["location"]
        return info.context.loaders.location.load(self.location_key)

    @strawberry.field(description="The most recent stored interval.")
    def latest(self, info: Info) -> Price | None:
        if "latest" in self.prefetched:
            return self.prefetched["latest"]
        return info.context.loaders.latest.load(str(self.id))

    @property
    def location_key(self) -> tuple[str, str]:
        return (self.iso.value, self.location_code)

    @strawberry.field(
        description=(
            "Rows with start <= intervalStart < end; with asOf, the values stored then; "
            "with resample, aggregated by agg (default MEAN), optionally on/off peak."
        )
    )
    async def prices(
        self,
        info: Info,
        start: datetime,
        end: datetime,
        as_of: datetime | None = None,
        resample: Resample | None = None,
        agg: Agg | None = None,
        peak: Peak | None = None,
    ) -> Series | None:
        return await series_for(info, str(self.id), start, end, as_of, resample, agg, peak)


async def prefetch(info: Info, instruments: list[Instrument]) -> None:
    """Load `location` and `latest` for every item of a list at once, when the query
    selects them: still one store read each (the DataLoaders), but the list completes
    without per-item awaiting, which is most of GraphQL's cost on a catalogue page."""
    wanted = _selected(info.selected_fields[0].selections)
    loaders = info.context.loaders
    loads = {}
    if "location" in wanted:
        loads["location"] = loaders.location.load_many([i.location_key for i in instruments])
    if "latest" in wanted:
        loads["latest"] = loaders.latest.load_many([str(i.id) for i in instruments])
    if not loads:
        return
    results = await asyncio.gather(*loads.values(), return_exceptions=True)
    for name, values in zip(loads, results, strict=True):
        if isinstance(values, BaseException):
            continue  # each item's own resolver reports the error where it belongs
        for instrument, value in zip(instruments, values, strict=True):
            instrument.prefetched[name] = value


def _selected(selections: list[Any]) -> set[str]:
    """Field names selected directly or through fragments."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:
            names |= _selected(selection.selections)
    return names


@strawberry.type(description="One instrument's series in a multi-instrument price query.")
class InstrumentSeries:
    instrument: Instrument
    window: strawberry.Private[PriceWindow]

    @strawberry.field
    async def series(self, info: Info) -> Series | None:
        key = (str(self.instrument.id), self.window)
        return Series(table=await info.context.loaders.prices.load(key))
