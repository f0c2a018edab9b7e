"""A synthetic but plausible power market, so `carbon254 demo load` works with no ISO access.

Three ISOs, ~50 pricing locations each, day-ahead hourly and real-time 5-minute LMPs with
energy, congestion and loss components, built the way real LMPs are: a system energy price
from a gas-fired supply stack under a load shape with wind and solar, congestion as
-sum_k PTDF[k, i] * mu_k(t) over a few binding constraints, loss as a marginal loss factor
times energy. Hubs and zones are weighted averages of member nodes. Market days are local
days of each ISO, so a fall-back Sunday has 25 hours (300 RT intervals), MISO always 24.

The grid (locations, PTDFs, loss factors, hub weights) is fixed per ISO; the seed drives
the weather and the markets, so the same seed gives byte-identical tables.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..core import (
    LOCATION_SCHEMA,
    PRICE_SCHEMA,
    InstrumentId,
    Iso,
    LocationType,
    Market,
    Product,
    interval_starts,
    nerc_holidays,
    validate_locations,
    validate_prices,
)
from .demo_shapes import (
    PROFILES,
    IsoProfile,
    ar1,
    episodes,
    load_shape,
    node_location,
    rt_events,
    sigmoid,
    solar_shape,
    stack_price,
    week_factor,
)
from .events import announce_prices

if TYPE_CHECKING:
    from ..store.base import BatchResult, LocationResult, PriceStore

__all__ = ["DEMO_ISOS", "DemoLoadResult", "DemoMarket", "generate_demo_market", "load_demo"]

DEMO_ISOS: tuple[Iso, ...] = (Iso.PJM, Iso.MISO, Iso.CAISO)
_SUB = 12  # five-minute intervals per hour
_FIXED_DATES = (date(2008, 1, 1), date(2024, 6, 1))  # range of directory effective dates


@dataclass(frozen=True)
class DemoMarket:
    """Generated locations and prices. `aggregates` maps (iso, hub or zone location) to its
    member locations and weights, so a hub's price can be checked against its nodes."""

    seed: int
    start: date
    days: int
    locations: pa.Table
    prices: tuple[pa.Table, ...]  # one PRICE_SCHEMA table per (ISO, market)
    aggregates: dict[tuple[Iso, str], dict[str, float]] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return sum(table.num_rows for table in self.prices)

    @property
    def source(self) -> str:
        """Lineage string of every batch loaded from this market."""
        return f"demo:seed={self.seed}"

    def price_tables(self) -> Iterator[pa.Table]:
        yield from self.prices


@dataclass(frozen=True)
class DemoLoadResult:
    """What `load_demo` wrote: the directory upsert and one batch per price table."""

    source: str
    location_rows: int
    price_rows: int
    locations: LocationResult
    batches: tuple[BatchResult, ...]

    @property
    def rows_inserted(self) -> int:
        return sum(b.rows_inserted for b in self.batches)

    @property
    def rows_revised(self) -> int:
        return sum(b.rows_revised for b in self.batches)

    @property
    def rows_unchanged(self) -> int:
        return sum(b.rows_unchanged for b in self.batches)


def generate_demo_market(
    seed: int = 254,
    start: date = date(2025, 10, 20),
    days: int = 30,
    nodes_per_iso: int = 50,
    isos: Sequence[Iso] = DEMO_ISOS,
) -> DemoMarket:
    """Generate `days` local market days from `start` for each ISO in `isos`."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    isos = tuple(dict.fromkeys(Iso(i) for i in isos))
    unknown = [i.value for i in isos if i not in PROFILES]
    if unknown:
        supported = ", ".join(i.value for i in PROFILES)
        raise ValueError(f"no demo profile for {', '.join(unknown)}; supported: {supported}")
    rows: list[dict[str, Any]] = []
    prices: list[pa.Table] = []
    aggregates: dict[tuple[Iso, str], dict[str, float]] = {}
    for iso in isos:
        profile = PROFILES[iso]
        grid = _Grid.build(profile, nodes_per_iso, start, days)
        rows += grid.rows
        aggregates.update({(iso, loc): w for loc, w in grid.members.items()})
        key = (zlib.crc32(iso.value.encode()),)  # adding an ISO leaves the others unchanged
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
        prices += _simulate(profile, grid, start, days, rng)
    locations = validate_locations(pa.Table.from_pylist(rows, schema=LOCATION_SCHEMA))
    return DemoMarket(seed, start, days, locations, tuple(prices), aggregates)


def load_demo(store: PriceStore, **generate_kwargs: Any) -> DemoLoadResult:
    """Generate a demo market and upsert it: locations first (every instrument's location
    must be in the directory), then one batch per price table. Re-running with the same
    arguments is a no-op for the store, since the content is byte-identical."""
    market = generate_demo_market(**generate_kwargs)
    located = store.upsert_locations(market.locations)
    batches = tuple(store.upsert_prices(t, source=market.source) for t in market.price_tables())
    for table, batch in zip(market.price_tables(), batches, strict=True):
        if batch.changed:
            announce_prices(table, dataset=market.source, batch_id=batch.batch_id)
    return DemoLoadResult(
        market.source, market.locations.num_rows, market.row_count, located, batches
    )


@dataclass(frozen=True)
class _Grid:
    """One ISO's pricing locations (hubs and zones first) and their electrical position."""

    rows: list[dict[str, Any]]
    ptdf: np.ndarray  # (constraints, locations): shift factor of an injection on each line
    mlf: np.ndarray  # (locations,): marginal loss factor
    first_day: np.ndarray  # (locations,): first priced day index in the window
    stop_day: np.ndarray  # (locations,): first unpriced day index after it
    members: dict[str, dict[str, float]]

    @classmethod
    def build(cls, profile: IsoProfile, count: int, start: date, days: int) -> _Grid:
        # The grid does not depend on the seed: different seeds are different weather.
        rng = np.random.default_rng(zlib.crc32(f"grid:{profile.iso.value}".encode()))
        hubs = profile.hubs
        zone_aggs = [z for z in profile.zones if z.aggregate]
        zone_aggs = zone_aggs[: max(0, (count - len(hubs)) // 5)]
        n = count - len(hubs) - len(zone_aggs)
        if n < 4:
            raise ValueError(f"nodes_per_iso must be >= {len(hubs) + 4} for {profile.iso}")
        zones = profile.zones
        zone_of = np.arange(n) % len(zones)
        generator = rng.random(n) < 0.45
        pnodes = rng.choice(np.arange(30_000_000, 2_100_000_000, 7919), n, replace=False)
        dates = _fixed_dates(rng, count, start)
        # Two nodes retire and one is commissioned inside the window (directory versioning).
        special = rng.choice(n, 3, replace=False) if days >= 4 and n >= 8 else np.array([], int)
        first = np.zeros(count, int)
        stop = np.full(count, days)
        nodes, seen = [], set()
        for i in range(n):
            zone = zones[zone_of[i]]
            sub = zone.substations[(i // len(zones)) % len(zone.substations)]
            loc, name = node_location(profile, zone, sub, bool(generator[i]), i, int(pnodes[i]))
            loc = loc if loc not in seen else f"{loc}_{i}"
            seen.add(loc)
            kind = LocationType.GENERATOR if generator[i] else LocationType.LOAD
            nodes.append(_row(profile.iso, loc, name, kind, zone.label, dates[i]))
        eligible = np.ones(n, bool)
        for j, (idx, frac) in enumerate(zip(special, (0.4, 0.75, 0.5), strict=False)):
            eligible[idx] = False
            day = start + timedelta(days=max(1, int(days * frac)))
            if j < 2:
                nodes[idx]["termination_date"] = day
                stop[len(hubs) + len(zone_aggs) + idx] = (day - start).days
            else:
                nodes[idx]["effective_date"] = day
                first[len(hubs) + len(zone_aggs) + idx] = (day - start).days

        key_index = {z.key: k for k, z in enumerate(zones)}
        ptdf = np.zeros((len(profile.constraints), n))
        for k, line in enumerate(profile.constraints):
            for sign, keys in ((1.0, line.sources), (-1.0, line.sinks)):
                for key in keys:
                    at = zone_of == key_index[key]
                    ptdf[k, at] = sign * rng.uniform(0.08, 0.3) * rng.uniform(0.6, 1.3, at.sum())
        zone_loss = rng.uniform(-0.025, 0.035, len(zones))[zone_of]
        mlf = np.clip(zone_loss + rng.normal(0, 0.008, n) - 0.01 * generator, -0.06, 0.06)

        weights, aggs, members = [], [], {}
        for h, hub in enumerate(hubs):
            in_zone = np.isin(zone_of, [key_index[z] for z in hub.zones]) & eligible
            pick = in_zone & generator if profile.hub_gen_only else in_zone
            pick = pick if pick.any() else (in_zone if in_zone.any() else eligible)
            weights.append(pick / pick.sum())
            aggs.append(
                _row(profile.iso, hub.location, hub.name, LocationType.HUB, None, dates[n + h])
            )
        for j, zone in enumerate(zone_aggs):
            in_zone = (zone_of == key_index[zone.key]) & eligible
            pick = in_zone & ~generator if (in_zone & ~generator).any() else in_zone
            pick = pick if pick.any() else eligible
            size = np.where(pick, rng.uniform(0.5, 2.0, n), 0.0)
            weights.append(size / size.sum())
            assert zone.aggregate is not None
            loc, name = zone.aggregate
            aggs.append(_row(profile.iso, loc, name, profile.zone_type, zone.label, dates[-1 - j]))
        w = np.array(weights).reshape(len(aggs), n)
        for row, wi in zip(aggs, w, strict=True):
            members[row["location"]] = {nodes[i]["location"]: float(wi[i]) for i in wi.nonzero()[0]}
        return cls(
            rows=aggs + nodes,
            ptdf=np.hstack([ptdf @ w.T, ptdf]),
            mlf=np.concatenate([w @ mlf, mlf]),
            first_day=first,
            stop_day=stop,
            members=members,
        )


def _row(
    iso: Iso, loc: str, name: str, kind: LocationType, zone: str | None, eff: date
) -> dict[str, Any]:
    return {
        "iso": iso.value,
        "location": loc,
        "name": name,
        "location_type": kind.value,
        "zone": zone,
        "effective_date": eff,
        "termination_date": None,
    }


def _fixed_dates(rng: np.random.Generator, count: int, start: date) -> list[date]:
    lo, hi = (d.toordinal() for d in _FIXED_DATES)
    return [min(date.fromordinal(int(o)), start) for o in rng.integers(lo, hi, count)]


def _simulate(
    profile: IsoProfile, grid: _Grid, start: date, days: int, rng: np.random.Generator
) -> list[pa.Table]:
    iso = profile.iso
    calendar = [start + timedelta(days=d) for d in range(days)]  # local days, not UTC
    da_parts = [interval_starts(iso, d, Market.DA.interval) for d in calendar]
    rt_parts = [interval_starts(iso, d, Market.RT5.interval) for d in calendar]
    da_starts, rt_starts = da_parts[0].append(da_parts[1:]), rt_parts[0].append(rt_parts[1:])
    nh, nr = len(da_starts), len(rt_starts)
    assert nr == _SUB * nh, "every market hour holds twelve 5-minute intervals"
    da_day = np.repeat(np.arange(days), [len(p) for p in da_parts])
    rt_day = np.repeat(da_day, _SUB)

    local = rt_starts.tz_convert(iso.tz_name)
    hour = local.hour.to_numpy() + (local.minute.to_numpy() + 2.5) / 60.0
    holidays = {h for y in {d.year for d in calendar} for h in nerc_holidays(y)}
    holiday = np.array([d in holidays for d in calendar])[rt_day]
    weekday = np.array([d.weekday() for d in calendar])[rt_day]

    # Weather and fuel: daily gas walk, daily temperature, hourly wind, daily sunshine.
    gas = profile.gas * np.exp(np.cumsum(rng.normal(0.002, 0.03, days)))[rt_day]
    weather = ar1(rng.normal(0.0, 1.0, days), 0.7)[rt_day]
    wind = ar1(rng.normal(0.0, 1.3, nh), 0.97)
    wind_fc = wind + ar1(rng.normal(0.0, 0.5, nh), 0.9)
    t_hour, t_rt = np.arange(nh) + 0.5, (np.arange(nr) + 0.5) / _SUB
    wind, wind_fc = (np.interp(t_rt, t_hour, sigmoid(z - 0.3)) for z in (wind, wind_fc))
    sun_fc = rng.beta(5.0, 2.0, days)[rt_day]
    sun = np.clip(sun_fc + ar1(rng.normal(0.0, 0.12, nr), np.exp(-1 / 18)), 0.0, 1.0)
    load = load_shape(hour) * week_factor(weekday, holiday) * (1.0 + 0.05 * weather)
    solar = profile.solar_share * solar_shape(hour)

    # Day-ahead clears on forecasts; real time on what happened.
    net_da = load - profile.wind_share * wind_fc - solar * sun_fc
    load_rt = load * (1.0 + ar1(rng.normal(0.0, 0.02, nr), np.exp(-1 / 24)))
    net_rt = load_rt - profile.wind_share * wind - solar * sun
    da_energy = stack_price(profile, net_da, gas).reshape(nh, _SUB).mean(axis=1)
    da_energy *= np.exp(ar1(rng.normal(0.0, 0.05, nh), 0.8))
    noise = ar1(rng.normal(0.0, 0.10, nr), np.exp(-1 / 12)) + ar1(rng.normal(0, 0.04, nr), 0.5)
    rt_energy = stack_price(profile, net_rt, gas) * np.exp(noise)
    rt_energy += ar1(rng.normal(0.0, 2.0, nr), 0.6)
    rt_events(rng, rt_energy, net_rt, days)

    mu_da, mu_rt = _shadow_prices(profile, rng, days, load, wind_fc, solar * sun_fc)
    da_load = load.reshape(nh, _SUB).mean(axis=1)
    out = []
    for market, starts, day, energy, mu, level in (
        (Market.DA, da_starts, da_day, da_energy, mu_da, da_load),
        (Market.RT5, rt_starts, rt_day, rt_energy, mu_rt, load_rt),
    ):
        congestion = -(mu.T @ grid.ptdf)
        loss = (energy * (0.85 + 0.25 * (level - 0.8)))[:, None] * grid.mlf[None, :]
        out.append(_table(iso, market, grid, starts, day, energy, congestion, loss))
    return out


def _shadow_prices(
    profile: IsoProfile,
    rng: np.random.Generator,
    days: int,
    load: np.ndarray,
    wind: np.ndarray,
    solar: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """mu_k(t) >= 0 per constraint: zero most of the time, binding in episodes that the
    constraint's driver makes likely. RT follows most DA episodes, adds its own, and now
    and then violates a limit, when the shadow price is the penalty factor."""
    drivers = {"load": np.clip(load, 0.0, None) ** 6, "wind": wind**3, "solar": solar + 1e-3}
    k_count, nr = len(profile.constraints), load.size
    mu_da = np.zeros((k_count, nr // _SUB))
    mu_rt = np.zeros((k_count, nr))
    penalties = []
    for k, line in enumerate(profile.constraints):
        weight_rt = drivers[line.driver] + 1e-9
        weight_da = weight_rt.reshape(-1, _SUB).mean(axis=1)
        da_eps = episodes(rng, weight_da, rng.poisson(line.per_day * days), 5)
        rt_eps = [(s * _SUB, e * _SUB, line.level * rng.lognormal(0, 0.6)) for s, e in da_eps]
        for (s, e), (_, _, level) in zip(da_eps, rt_eps, strict=True):
            mu_da[k, s:e] = np.maximum(mu_da[k, s:e], level)
        rt_eps = [
            (max(0, s + rng.integers(-6, 7)), e + rng.integers(-6, 7), v * rng.lognormal(0, 0.35))
            for s, e, v in rt_eps
            if rng.random() < 0.75
        ]
        for s, e in episodes(rng, weight_rt, rng.poisson(line.per_day * days * 0.6), 10):
            rt_eps.append((s, e, line.level * rng.lognormal(0, 0.8)))
        for s, e, level in rt_eps:
            mu_rt[k, s:e] = np.maximum(mu_rt[k, s:e], level)
            if e > s and rng.random() < 0.15:
                at = int(rng.integers(s, e))
                penalties.append((k, at, at + int(rng.integers(1, 3))))
    mu_da *= np.exp(ar1(rng.normal(0.0, 0.25, mu_da.shape[::-1]), 0.7)).T
    mu_rt *= np.exp(ar1(rng.normal(0.0, 0.30, mu_rt.shape[::-1]), 0.8)).T
    for k, s, e in penalties:
        mu_rt[k, s:e] = profile.penalty
    return mu_da, mu_rt


def _table(
    iso: Iso,
    market: Market,
    grid: _Grid,
    starts: pd.DatetimeIndex,
    day: np.ndarray,
    energy: np.ndarray,
    congestion: np.ndarray,
    loss: np.ndarray,
) -> pa.Table:
    """Instrument-major PRICE_SCHEMA table; components rounded to cents and the price
    defined as their sum, so value = energy + congestion + loss holds exactly."""
    n_loc, n_t = congestion.shape[1], len(starts)
    active = (day[None, :] >= grid.first_day[:, None]) & (day[None, :] < grid.stop_day[:, None])
    mask = active.ravel()
    e = np.broadcast_to(np.round(energy, 2)[None, :], (n_loc, n_t)) + 0.0  # + 0.0: no -0.0
    c = np.round(congestion, 2).T + 0.0
    lo = np.round(loss, 2).T + 0.0
    value = np.round(e + c + lo, 2) + 0.0
    ids = [str(InstrumentId(iso, market, Product.LMP, r["location"])) for r in grid.rows]
    which = np.repeat(np.arange(n_loc), n_t)[mask]
    t0 = np.tile(starts.as_unit("us").asi8, n_loc)[mask]
    step = int(market.interval / timedelta(microseconds=1))
    ts = PRICE_SCHEMA.field("interval_start").type
    columns = [
        pa.array(ids).take(pa.array(which)),
        pa.array(t0, ts),
        pa.array(t0 + step, ts),
        *(pa.array(x.ravel()[mask]) for x in (value, e, c, lo)),
        pa.nulls(int(mask.sum()), pa.float64()),
    ]
    return validate_prices(pa.Table.from_arrays(columns, schema=PRICE_SCHEMA))
