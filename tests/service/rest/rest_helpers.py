"""Seed data for the REST resource tests: PJM five-minute nodes and hub around the 2024
fall-back day, hourly day-ahead prices, and a small location directory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from carbon254.core import LOCATION_SCHEMA, InstrumentId, interval_starts
from carbon254.store.base import PriceStore

from ..service_helpers import (
    CAISO_DA,
    ERCOT_RT15,
    FALL_BACK,
    PJM_DA,
    SPRING_FORWARD,
    day_prices,
    price_table,
)

HUB = "PJM.RT5.LMP.WESTERN_HUB"
NODE_A = "PJM.RT5.LMP.51288"
NODE_B = "PJM.RT5.LMP.5021673"
RT5_DAYS = [date(2024, 11, 1), date(2024, 11, 2), FALL_BACK, date(2024, 11, 4)]
# Hub intervals left out, so a spread has intervals the node has and the hub lacks.
HUB_GAPS = 7
ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rt5_prices(instrument: str, days: list[date], seed: int) -> pa.Table:
    """Every 5-minute interval of `days`, noisy values (so min/max/mean differ)."""
    iid = InstrumentId.parse(instrument)
    starts = [
        t.to_pydatetime()
        for day in days
        for t in interval_starts(iid.iso, day, iid.market.interval)
    ]
    rng = np.random.default_rng(seed)
    values = np.round(30 + 10 * rng.standard_normal(len(starts)), 2).tolist()
    return price_table(instrument, starts, values)


def seed_store(store: PriceStore) -> PriceStore:
    """Five-minute PJM node/hub prices over Nov 1-4 2024 (a fall-back day and a holiday-
    free weekday block), PJM DA on both 2024 DST days, CAISO DA, ERCOT RT15, directory."""
    hub = rt5_prices(HUB, RT5_DAYS, 1)
    keep = np.ones(hub.num_rows, dtype=bool)
    keep[np.linspace(10, hub.num_rows - 10, HUB_GAPS).astype(int)] = False
    tables = [
        rt5_prices(NODE_A, RT5_DAYS, 2),
        rt5_prices(NODE_B, [SPRING_FORWARD, *RT5_DAYS], 3),
        hub.filter(pa.array(keep)),
    ]
    tables += [
        day_prices(PJM_DA, day)
        for day in (SPRING_FORWARD, FALL_BACK - timedelta(days=1), FALL_BACK, date(2024, 11, 4))
    ]
    tables += [day_prices(CAISO_DA, FALL_BACK, 40.0), day_prices(ERCOT_RT15, FALL_BACK, 15.0)]
    store.upsert_prices(pa.concat_tables(tables), source="test")
    store.upsert_locations(directory())
    return store


def directory() -> pa.Table:
    rows = [
        ("PJM", "51288", "ALDENE 230 KV T-10", "BUS", "PSEG", date(2015, 1, 1), None),
        ("PJM", "WESTERN_HUB", "Western Hub", "HUB", None, date(2001, 4, 1), None),
        # Retired on 2024-09-01, renamed before: two versions, both kept.
        ("PJM", "5021673", "OLD NAME 138 KV", "LOAD", "DOM", date(2010, 1, 1), date(2020, 1, 1)),
        ("PJM", "5021673", "KEARNY 138 KV", "LOAD", "DOM", date(2020, 1, 1), date(2024, 9, 1)),
        ("ERCOT", "HB_NORTH", "North Hub", "HUB", None, date(2010, 12, 1), None),
    ]
    names = [f.name for f in LOCATION_SCHEMA]
    return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows], LOCATION_SCHEMA)


def day_range(day: date, iso: str = "PJM") -> dict[str, str]:
    from carbon254.core import market_day

    start, end = market_day(iso, day)
    return {"start": _z(start), "end": _z(end)}


def from_json(body: dict, schema: pa.Schema) -> pa.Table:
    """The columnar JSON body as an Arrow table of `schema` (UTC `Z` strings parsed)."""
    columns = dict(body["columns"])
    for field in schema:
        if pa.types.is_timestamp(field.type):
            columns[field.name] = [datetime.fromisoformat(t) for t in columns[field.name]]
    return pa.Table.from_pydict({n: columns[n] for n in schema.names}, schema=schema)


def utc_end() -> datetime:
    """The `end` of the wide test window (`2024-11-06`, UTC midnight)."""
    return datetime(2024, 11, 6, tzinfo=UTC)
