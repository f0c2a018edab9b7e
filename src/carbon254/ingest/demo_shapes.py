"""The demo market's grid and weather: ISO profiles, node names, load/solar shapes, noise.

Kept apart from `demo.py` so the generator reads as the market model and this file as
its data. Names and pnode ids are plausible, not authoritative: the demo must look like
a real market to a trader without pretending to be one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import Iso, LocationType

__all__ = [
    "PROFILES",
    "ConstraintSpec",
    "HubSpec",
    "IsoProfile",
    "ZoneSpec",
    "ar1",
    "episodes",
    "load_shape",
    "node_location",
    "rt_events",
    "sigmoid",
    "solar_shape",
    "stack_price",
    "week_factor",
]


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    key: str  # referenced by hubs and constraints
    label: str  # the directory's `zone` column
    prefix: str  # MISO company prefix of CPnode names; unused elsewhere
    substations: tuple[str, ...]
    aggregate: tuple[str, str] | None = None  # (location, name) of the zone's own price


@dataclass(frozen=True, slots=True)
class HubSpec:
    location: str
    name: str
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConstraintSpec:
    name: str
    sources: tuple[str, ...]  # zones that push flow onto it (congestion < 0 there)
    sinks: tuple[str, ...]  # load pockets behind it (congestion > 0 there)
    driver: str  # what makes it bind: "load", "wind" or "solar"
    per_day: float  # day-ahead binding episodes per day
    level: float  # median shadow price when binding, $/MWh


@dataclass(frozen=True, slots=True)
class IsoProfile:
    iso: Iso
    gas: float  # delivered gas, $/MMBtu, at the start of the window
    heat_rate: tuple[float, float]  # marginal heat rate = a + b * net_load**3
    vom: float  # $/MWh added to fuel cost
    wind_share: float  # wind output at full capacity, as a share of peak load
    solar_share: float  # solar output at clear-sky noon, as a share of peak load
    floor_price: float  # what renewables bid when they set the price, $/MWh
    penalty: float  # transmission-constraint penalty factor, $/MWh
    zone_type: LocationType
    hub_gen_only: bool  # CAISO trading hubs average generator nodes only
    zones: tuple[ZoneSpec, ...]
    hubs: tuple[HubSpec, ...]
    constraints: tuple[ConstraintSpec, ...]


def _z(
    key: str, subs: str, label: str = "", prefix: str = "", agg: tuple[str, str] | None = None
) -> ZoneSpec:
    return ZoneSpec(key, label or key, prefix, tuple(subs.split(",")), agg)


PJM = IsoProfile(
    iso=Iso.PJM,
    gas=3.6,
    heat_rate=(6.8, 9.0),
    vom=2.0,
    wind_share=0.08,
    solar_share=0.04,
    floor_price=-15.0,
    penalty=2000.0,
    zone_type=LocationType.ZONE,
    hub_gen_only=False,
    zones=(
        _z(
            "AEP",
            "ROCKPORT,AMOS,MITCHELL,CARDINAL,CONESVILLE,MOUNTAINEER,KAMMER",
            agg=("8445784", "AEP"),
        ),
        _z(
            "APS", "HARRISON,FT MARTIN,HATFIELD,MEADOWBROOK,BLACK OAK,DOUBS", agg=("8394954", "APS")
        ),
        _z("ATSI", "SAMMIS,DAVIS-BESSE,PERRY,BAYSHORE,AVON LAKE,STAR", agg=("116013753", "ATSI")),
        _z(
            "COMED",
            "BYRON,BRAIDWOOD,DRESDEN,LASALLE,QUAD CITIES,JOLIET,POWERTON",
            agg=("33092315", "COMED"),
        ),
        _z(
            "DOM",
            "NORTH ANNA,SURRY,CHESTERFIELD,BATH COUNTY,CLOVER,LADYSMITH",
            agg=("34964545", "DOM"),
        ),
        _z("BGE", "CALVERT CLIFFS,BRANDON SHORES,WAGNER,CONASTONE,RIVERSIDE", agg=("51292", "BGE")),
        _z("PECO", "LIMERICK,PEACH BOTTOM,EDDYSTONE,CROMBY,WHITPAIN", agg=("51297", "PECO")),
        _z("PSEG", "SALEM,HOPE CREEK,LINDEN,BERGEN,SEWAREN,HUDSON", agg=("51301", "PSEG")),
    ),
    hubs=(
        HubSpec("51288", "WESTERN HUB", ("APS", "BGE")),
        HubSpec("51217", "EASTERN HUB", ("PECO", "PSEG")),
        HubSpec("34497127", "AEP-DAYTON HUB", ("AEP",)),
        HubSpec("33092371", "N ILLINOIS HUB", ("COMED",)),
        HubSpec("35010337", "DOMINION HUB", ("DOM",)),
    ),
    constraints=(
        ConstraintSpec(
            "AP SOUTH L/O BLACK OAK-BEDINGTON", ("AEP", "APS"), ("BGE", "DOM"), "load", 0.6, 35.0
        ),
        ConstraintSpec("5004/5005 INTERFACE", ("AEP", "ATSI"), ("PECO", "PSEG"), "load", 0.4, 25.0),
        ConstraintSpec("COMED-NIPSCO", ("COMED",), ("AEP",), "wind", 0.5, 18.0),
        ConstraintSpec("CONASTONE-PEACH BOTTOM 500 KV", ("PECO",), ("BGE",), "load", 0.3, 45.0),
        ConstraintSpec("HUDSON-SEWAREN 230 KV", ("PECO",), ("PSEG",), "load", 0.3, 30.0),
    ),
)

MISO = IsoProfile(
    iso=Iso.MISO,
    gas=3.1,
    heat_rate=(6.9, 8.5),
    vom=2.5,
    wind_share=0.25,
    solar_share=0.03,
    floor_price=-25.0,
    penalty=1000.0,
    zone_type=LocationType.LOAD_ZONE,
    hub_gen_only=False,
    zones=(
        _z("LRZ1", "SHERCO,KING,BLKDOG,PRISLAND,MONTICELLO,GRANDMEADOW", prefix="NSP"),
        _z("LRZ3", "NEAL,LANSING,OTTUMWA,WHISPERWIND", prefix="ALTW"),
        _z("LRZ4", "BALDWIN,EDWARDS,NEWTON,DUCKCREEK,CLINTON", prefix="AMIL"),
        _z("LRZ6", "GIBSON,CAYUGA,EDWARDSPORT,SCHAHFER,PETERSBURG", prefix="CIN"),
        _z("LRZ7", "CAMPBELL,KARN,LUDINGTON,MONROE,BELLERIVER", prefix="CONS"),
        _z("LRZ8", "WHITEBLUFF,INDEPENDENCE,ANO,LAKECATHERINE", prefix="EAI"),
        _z("LRZ9", "WATERFORD,NINEMILE,NELSON,ROYCE,BRAME", prefix="EES"),
        _z("LRZ9TX", "LEWISCREEK,SABINE,MONTGOMERY", "LRZ9", "ETR"),
    ),
    hubs=(
        HubSpec("MINN.HUB", "MINNESOTA HUB", ("LRZ1",)),
        HubSpec("ILLINOIS.HUB", "ILLINOIS HUB", ("LRZ4",)),
        HubSpec("INDIANA.HUB", "INDIANA HUB", ("LRZ6",)),
        HubSpec("MICHIGAN.HUB", "MICHIGAN HUB", ("LRZ7",)),
        HubSpec("ARKANSAS.HUB", "ARKANSAS HUB", ("LRZ8",)),
        HubSpec("LOUISIANA.HUB", "LOUISIANA HUB", ("LRZ9",)),
        HubSpec("TEXAS.HUB", "TEXAS HUB", ("LRZ9TX",)),
    ),
    constraints=(
        ConstraintSpec("MN-WI EXPORT INTERFACE", ("LRZ1",), ("LRZ4", "LRZ6"), "wind", 0.7, 22.0),
        ConstraintSpec("IOWA WIND FLOWGATE", ("LRZ3",), ("LRZ4",), "wind", 0.5, 15.0),
        ConstraintSpec("MICHIGAN IMPORT", ("LRZ6",), ("LRZ7",), "load", 0.4, 20.0),
        ConstraintSpec(
            "MISO SOUTH-NORTH RDT", ("LRZ8", "LRZ9"), ("LRZ4", "LRZ6"), "load", 0.3, 12.0
        ),
        ConstraintSpec("AMITE SOUTH", ("LRZ8",), ("LRZ9",), "load", 0.3, 30.0),
    ),
)

CAISO = IsoProfile(
    iso=Iso.CAISO,
    gas=4.2,
    heat_rate=(7.2, 8.0),
    vom=2.5,
    wind_share=0.05,
    solar_share=0.38,
    floor_price=-20.0,
    penalty=1500.0,
    zone_type=LocationType.LOAD_ZONE,
    hub_gen_only=True,
    zones=(
        _z(
            "NP15",
            "MOSSLD,PITSBG,CONTRC,DELTA,TESLA,HUMBPP,COLUSA",
            agg=("DLAP_PGAE-APND", "PG&E DLAP"),
        ),
        _z("ZP26", "DIABLO,MIDWAY,GATES,MORROB,TOPAZ"),
        _z(
            "SP15",
            "ALAMIT,HNTGBH,REDOND,MIRLOM,VINCNT,LUGO,DEVERS",
            agg=("DLAP_SCE-APND", "SCE DLAP"),
        ),
        _z(
            "SDGE", "ENCINA,OTAY,PALOMR,MIGUEL,ESCNDO", "SP15", agg=("DLAP_SDGE-APND", "SDG&E DLAP")
        ),
    ),
    hubs=(
        HubSpec("TH_NP15_GEN-APND", "NP15 TRADING HUB", ("NP15",)),
        HubSpec("TH_ZP26_GEN-APND", "ZP26 TRADING HUB", ("ZP26",)),
        HubSpec("TH_SP15_GEN-APND", "SP15 TRADING HUB", ("SP15", "SDGE")),
    ),
    constraints=(
        ConstraintSpec("PATH26_BG", ("ZP26", "NP15"), ("SP15",), "load", 0.5, 20.0),
        ConstraintSpec("PATH15_S-N", ("SP15", "ZP26"), ("NP15",), "solar", 0.5, 15.0),
        ConstraintSpec("SDGE_IMPORT_NG", ("SP15",), ("SDGE",), "load", 0.4, 40.0),
        ConstraintSpec("TESLA-NEWARK_BAY_AREA_IMPORT", ("ZP26",), ("NP15",), "load", 0.2, 25.0),
    ),
)

PROFILES: dict[Iso, IsoProfile] = {p.iso: p for p in (PJM, MISO, CAISO)}


def node_location(
    profile: IsoProfile, zone: ZoneSpec, sub: str, generator: bool, k: int, pnode: int
) -> tuple[str, str]:
    """(location, name) of an elementary node in the ISO's own naming style."""
    if profile.iso is Iso.PJM:  # numeric pnode ids, "SUB KV KV EQUIPMENT" names
        kv = (13, 18, 22, 24)[k % 4] if generator else (69, 115, 138, 230)[k % 4]
        return str(pnode), f"{sub} {kv} KV {'UNIT' if generator else 'LOAD'}{k % 3 + 1}"
    if profile.iso is Iso.MISO:  # CPnodes "COMPANY.UNIT"
        name = sub.replace(" ", "")[:10] + (str(k % 4 + 1) if generator else "_LD")
        return f"{zone.prefix}.{name}", f"{zone.prefix} {sub} {'UNIT' if generator else 'LOAD'}"
    code = "2" if generator else "6"  # CAISO pnodes "SUB_KV_UNIT"
    loc = f"{sub}_{code}_{'UNIT' + str(k % 3 + 1) if generator else f'N{k + 1:03d}'}"
    return loc, f"{sub} {'GENERATION' if generator else 'LOAD'} {k % 3 + 1}"


def load_shape(hour: np.ndarray) -> np.ndarray:
    """Autumn load relative to the daily peak, by local hour (float): a morning ramp, a
    midday shoulder, the evening peak after dark, and the trough before dawn."""

    def bump(center: float, width: float) -> np.ndarray:
        return np.exp(-(((hour - center) / width) ** 2))

    return (
        0.72
        + 0.16 * bump(7.6, 1.6)
        + 0.12 * bump(13.0, 4.0)
        + 0.27 * bump(18.7, 2.2)
        - 0.06 * bump(3.5, 2.0)
    )


def week_factor(weekday: np.ndarray, holiday: np.ndarray) -> np.ndarray:
    """Weekends and NERC holidays run lighter than weekdays."""
    factor = np.where(weekday == 5, 0.92, np.where(weekday == 6, 0.88, 1.0))
    return np.where(holiday, 0.88, factor)


def solar_shape(hour: np.ndarray) -> np.ndarray:
    """Clear-sky solar output (0..1) in late autumn: sunrise ~6:40, sunset ~17:00."""
    x = np.clip((hour - 6.7) / (17.0 - 6.7), 0.0, 1.0)
    return np.sin(np.pi * x) ** 1.5


def ar1(shocks: np.ndarray, phi: float | np.ndarray) -> np.ndarray:
    """x[t] = phi * x[t-1] + shocks[t] along axis 0: the discrete Ornstein-Uhlenbeck
    process. A loop over time, vectorised over columns; shocks scaled so the stationary
    standard deviation equals shocks' own."""
    phi = np.asarray(phi, dtype=float)
    scaled = shocks * np.sqrt(1.0 - phi**2)
    out = np.empty_like(scaled)
    out[0] = shocks[0]
    for t in range(1, shocks.shape[0]):
        out[t] = phi * out[t - 1] + scaled[t]
    return out


def episodes(
    rng: np.random.Generator, weights: np.ndarray, count: int, mean_steps: float
) -> list[tuple[int, int]]:
    """`count` [start, stop) step ranges, starts drawn in proportion to `weights` (what
    drives the event), geometric durations of mean `mean_steps`."""
    if count <= 0 or weights.size == 0:
        return []
    p = weights / weights.sum()
    starts = rng.choice(weights.size, size=count, p=p)
    lengths = rng.geometric(1.0 / max(mean_steps, 1.0), size=count)
    return [(int(s), int(min(s + n, weights.size))) for s, n in zip(starts, lengths, strict=True)]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def stack_price(profile: IsoProfile, net: np.ndarray, gas: np.ndarray) -> np.ndarray:
    """Marginal cost of the supply stack at `net` load (share of peak): gas units along a
    convex heat-rate curve, sliding to the renewables' negative bid when they are marginal."""
    a, b = profile.heat_rate
    thermal = gas * (a + b * np.clip(net, 0.0, None) ** 3) + profile.vom
    marginal_renewables = sigmoid((0.42 - net) / 0.025)
    return thermal + marginal_renewables * (profile.floor_price - thermal)


def rt_events(rng: np.random.Generator, rt: np.ndarray, net: np.ndarray, days: int) -> None:
    """Scarcity spikes at tight peak intervals and negative dips when load is low."""
    spikes = episodes(rng, np.clip(net, 0.0, None) ** 8, 1 + rng.poisson(0.12 * days), 3)
    for i, ep in enumerate(spikes):
        peak = float(np.clip(rng.lognormal(np.log(450.0), 0.55), 400.0 if i == 0 else 150.0, 2500))
        rt[ep[0] : ep[1]] = np.maximum(rt[ep[0] : ep[1]], peak * _hump(ep[1] - ep[0]))
    low = np.clip(0.9 - net, 0.01, None) ** 4
    for ep in episodes(rng, low, 1 + rng.poisson(0.08 * days), 4):
        dip = -rng.uniform(5.0, 80.0)
        rt[ep[0] : ep[1]] = np.minimum(rt[ep[0] : ep[1]], dip * _hump(ep[1] - ep[0]))


def _hump(n: int) -> np.ndarray:
    return np.sin(np.pi * (np.arange(n) + 0.5) / n) ** 0.5
