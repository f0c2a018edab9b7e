"""On-peak / off-peak calendars, as the standard bilateral power contracts define them.

Eastern ISOs (PJM, NYISO, MISO): hours ending 08-23 (hour beginning 07:00-22:00),
Monday-Friday. ERCOT and SPP: hours ending 07-22, Monday-Friday. CAISO (WECC): hours
ending 07-22, Monday-Saturday. All in the market's own clock (fixed EST for MISO), and
NERC holidays are off-peak all day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np
import pandas as pd

from .markets import Iso

__all__ = ["PeakDefinition", "is_on_peak", "nerc_holidays", "peak_definition"]


@dataclass(frozen=True, slots=True)
class PeakDefinition:
    first_hour: int  # first on-peak hour beginning (local)
    last_hour: int  # last on-peak hour beginning (local), inclusive
    weekdays: frozenset[int]  # ISO weekdays (Mon=1 .. Sun=7)

    @property
    def hours_per_day(self) -> int:
        return self.last_hour - self.first_hour + 1


_FIVE_DAY = frozenset({1, 2, 3, 4, 5})
_SIX_DAY = frozenset({1, 2, 3, 4, 5, 6})
_EASTERN = PeakDefinition(7, 22, _FIVE_DAY)
_CENTRAL = PeakDefinition(6, 21, _FIVE_DAY)
_WECC = PeakDefinition(6, 21, _SIX_DAY)
_DEFINITIONS = {
    Iso.PJM: _EASTERN,
    Iso.NYISO: _EASTERN,
    Iso.MISO: _EASTERN,
    Iso.ERCOT: _CENTRAL,
    Iso.SPP: _CENTRAL,
    Iso.CAISO: _WECC,
}


def peak_definition(iso: Iso) -> PeakDefinition:
    return _DEFINITIONS[Iso(iso)]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


@cache
def nerc_holidays(year: int) -> frozenset[date]:
    """NERC off-peak holidays. A Sunday holiday is observed on Monday; Saturday is not moved."""
    fixed = [date(year, 1, 1), date(year, 7, 4), date(year, 12, 25)]
    observed = {d + timedelta(days=1) if d.weekday() == 6 else d for d in fixed}
    observed |= {
        _last_weekday(year, 5, 0),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    }
    return frozenset(observed)


def is_on_peak(iso: Iso, starts: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """True for UTC interval starts that fall in the ISO's on-peak block."""
    idx = pd.DatetimeIndex(starts)
    if idx.tz is None:
        raise ValueError("interval starts must be tz-aware UTC")
    rule = peak_definition(iso)
    local = idx.tz_convert(Iso(iso).tz_name)
    hour = local.hour.to_numpy()
    weekday = local.isocalendar().day.to_numpy()
    days = local.tz_localize(None).normalize()
    holidays = {h for y in set(local.year) for h in nerc_holidays(int(y))}
    is_holiday = days.isin(pd.DatetimeIndex(sorted(holidays))) if holidays else False
    on = (hour >= rule.first_hour) & (hour <= rule.last_hour)
    on &= np.isin(weekday, list(rule.weekdays))
    return np.asarray(on & ~np.asarray(is_holiday))
