"""The vocabulary of the six ISOs: who they are, what they sell, where it is priced."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = ["Iso", "LocationType", "Market", "Product"]


class Iso(StrEnum):
    """An independent system operator, with the clock its market runs on."""

    PJM = "PJM"
    MISO = "MISO"
    CAISO = "CAISO"
    ERCOT = "ERCOT"
    SPP = "SPP"
    NYISO = "NYISO"

    @property
    def tz_name(self) -> str:
        """IANA name of the market clock. MISO runs on fixed EST (UTC-5) all year."""
        return _TZ_NAMES[self]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def observes_dst(self) -> bool:
        return self is not Iso.MISO


_TZ_NAMES = {
    Iso.PJM: "America/New_York",
    Iso.NYISO: "America/New_York",
    Iso.ERCOT: "America/Chicago",
    Iso.SPP: "America/Chicago",
    Iso.CAISO: "America/Los_Angeles",
    # "Etc/GMT+5" is UTC-5 with no DST (the POSIX sign is inverted).
    Iso.MISO: "Etc/GMT+5",
}


class Market(StrEnum):
    """A market run: day-ahead, or real-time at its settlement granularity."""

    DA = "DA"
    RT5 = "RT5"
    RT15 = "RT15"
    RTH = "RTH"

    @property
    def interval(self) -> timedelta:
        """Length of one settlement interval."""
        return _INTERVALS[self]


_INTERVALS = {
    Market.DA: timedelta(hours=1),
    Market.RT5: timedelta(minutes=5),
    Market.RT15: timedelta(minutes=15),
    Market.RTH: timedelta(hours=1),
}


class Product(StrEnum):
    """What is priced. Energy prices, ancillary services, scarcity adders, capacity."""

    LMP = "LMP"  # locational marginal price
    # ERCOT settlement point price (ERCOT.RT15.SPP.HB_NORTH). Not to be confused with the
    # Southwest Power Pool, `Iso.SPP`, whose prices are LMPs (SPP.RT5.LMP.<node>).
    SPP = "SPP"
    # ancillary services
    REG = "REG"  # regulation (PJM RMCP)
    REGUP = "REGUP"
    REGDN = "REGDN"
    RRS = "RRS"  # ERCOT responsive reserve
    ECRS = "ECRS"  # ERCOT contingency reserve
    SPIN = "SPIN"  # spinning reserve
    NSPIN = "NSPIN"  # non-spinning reserve
    SYNC = "SYNC"  # PJM synchronized reserve
    PRIMARY = "PRIMARY"  # PJM primary reserve
    SUPP = "SUPP"  # supplemental / 30-minute reserve
    # ERCOT ORDC real-time price adders (pre RTC+B names)
    RTORPA = "RTORPA"
    RTORDPA = "RTORDPA"
    # capacity ($/MW-day), priced per delivery period rather than per market interval
    CAPACITY = "CAPACITY"
    # ERCOT real-time reliability deployment price adders from RTC+B go-live (2025-12-05,
    # NP6-323-CD), which replaced RTORPA/RTORDPA: the energy adder and one per ancillary
    # service (Reg-Up, Reg-Down, RRS, ECRS, Non-Spin). Appended by the ERCOT ORDC connector.
    RTRDPA = "RTRDPA"
    RTRDPARUS = "RTRDPARUS"
    RTRDPARDS = "RTRDPARDS"
    RTRDPARRS = "RTRDPARRS"
    RTRDPAECRS = "RTRDPAECRS"
    RTRDPANSS = "RTRDPANSS"

    @property
    def has_components(self) -> bool:
        """Whether energy/congestion/loss components can exist for this product."""
        return self is Product.LMP

    @property
    def is_period_priced(self) -> bool:
        """Priced per delivery period (not per market interval): interval length is free."""
        return self is Product.CAPACITY


class LocationType(StrEnum):
    """Kind of pricing location, in the words the ISOs use."""

    HUB = "HUB"
    ZONE = "ZONE"
    LOAD_ZONE = "LOAD_ZONE"
    AGGREGATE = "AGGREGATE"
    GENERATOR = "GENERATOR"
    LOAD = "LOAD"
    BUS = "BUS"
    NODE = "NODE"
    RESOURCE_NODE = "RESOURCE_NODE"
    INTERFACE = "INTERFACE"
    SYSTEM = "SYSTEM"  # ISO-wide, e.g. an RTO-wide reserve price
    OTHER = "OTHER"
