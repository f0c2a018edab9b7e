"""Delivery-month hours in the market clock, against a count done by hand with the
calendar module (weekdays, NERC holidays) rather than through core.peak."""

from __future__ import annotations

import calendar
from datetime import date

import pytest

from carbon254.analytics.curves import add_months, month_bounds, month_hours
from carbon254.core import Iso, nerc_holidays


def _on_peak_days(year: int, month: int, weekdays: set[int]) -> int:
    days = calendar.monthrange(year, month)[1]
    holidays = nerc_holidays(year)
    return sum(
        1
        for d in range(1, days + 1)
        if date(year, month, d).isoweekday() in weekdays and date(year, month, d) not in holidays
    )


@pytest.mark.parametrize(
    ("iso", "month", "total"),
    [
        (Iso.PJM, date(2027, 3, 1), 743),  # spring forward
        (Iso.PJM, date(2027, 11, 1), 721),  # fall back (30 days)
        (Iso.PJM, date(2027, 7, 1), 744),
        (Iso.ERCOT, date(2026, 3, 1), 743),
        (Iso.CAISO, date(2026, 11, 1), 721),
        (Iso.MISO, date(2027, 3, 1), 744),  # fixed EST: no DST
        (Iso.MISO, date(2027, 11, 1), 720),
        (Iso.PJM, date(2028, 2, 1), 696),  # leap February
    ],
)
def test_month_hours_total_follows_the_market_clock(iso, month, total):
    on, off = month_hours(iso, month)
    assert on + off == total
    start, end = month_bounds(iso, month)
    assert (end - start).total_seconds() == total * 3600


@pytest.mark.parametrize(
    ("iso", "weekdays", "per_day"),
    [
        (Iso.PJM, {1, 2, 3, 4, 5}, 16),
        (Iso.ERCOT, {1, 2, 3, 4, 5}, 16),
        (Iso.CAISO, {1, 2, 3, 4, 5, 6}, 16),  # WECC: Monday-Saturday
    ],
)
@pytest.mark.parametrize("month", [date(2027, 3, 1), date(2027, 7, 1), date(2027, 11, 1)])
def test_on_peak_hours_are_weekday_non_holiday_blocks(iso, weekdays, per_day, month):
    on, _ = month_hours(iso, month)
    assert on == per_day * _on_peak_days(month.year, month.month, weekdays)


def test_july_2027_loses_the_observed_independence_day():
    # 4 July 2027 is a Sunday: NERC observes it on Monday the 5th, off-peak all day
    assert month_hours(Iso.PJM, date(2027, 7, 1))[0] == 16 * 21


def test_add_months_crosses_years():
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
