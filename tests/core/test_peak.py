"""On-peak calendars and NERC holidays in `carbon254.core.peak`.

Holiday dates are the published NERC off-peak days (New Year's, Memorial Day,
Independence Day, Labor Day, Thanksgiving, Christmas; a Sunday holiday moves to Monday,
a Saturday one does not move). Monthly on-peak hour counts were counted by hand from a
calendar: (weekdays, or Mon-Sat for CAISO, that are not NERC holidays) x 16.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from carbon254.core import Iso, is_on_peak, nerc_holidays, peak_definition

NERC = {
    2021: [(1, 1), (5, 31), (7, 5), (9, 6), (11, 25), (12, 25)],  # Jul 4 Sun; Dec 25 Sat
    2022: [(1, 1), (5, 30), (7, 4), (9, 5), (11, 24), (12, 26)],  # Jan 1 Sat; Dec 25 Sun
    2023: [(1, 2), (5, 29), (7, 4), (9, 4), (11, 23), (12, 25)],  # Jan 1 Sun
    2024: [(1, 1), (5, 27), (7, 4), (9, 2), (11, 28), (12, 25)],
    2025: [(1, 1), (5, 26), (7, 4), (9, 1), (11, 27), (12, 25)],
    2026: [(1, 1), (5, 25), (7, 4), (9, 7), (11, 26), (12, 25)],  # Jul 4 Sat
    2027: [(1, 1), (5, 31), (7, 5), (9, 6), (11, 25), (12, 25)],  # Jul 4 Sun; Dec 25 Sat
}
TZ = {  # written out here, not read from Iso, so the clock is checked too
    Iso.PJM: "America/New_York",
    Iso.NYISO: "America/New_York",
    Iso.MISO: "Etc/GMT+5",
    Iso.ERCOT: "America/Chicago",
    Iso.SPP: "America/Chicago",
    Iso.CAISO: "America/Los_Angeles",
}


def local_range(iso: Iso, start: str, end: str, freq: str = "h") -> pd.DatetimeIndex:
    """UTC interval starts covering local [start, end) in the ISO's clock."""
    lo = pd.Timestamp(start, tz=TZ[iso]).tz_convert("UTC")
    hi = pd.Timestamp(end, tz=TZ[iso]).tz_convert("UTC")
    return pd.date_range(lo, hi, freq=freq, inclusive="left")


def on_peak_local_hours(iso: Iso, day: str) -> list[int]:
    nxt = (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    starts = local_range(iso, day, nxt)
    return sorted(starts[is_on_peak(iso, starts)].tz_convert(TZ[iso]).hour)


# ---------------------------------------------------------------- NERC holidays
@pytest.mark.parametrize("year", sorted(NERC))
def test_nerc_holidays_match_published_dates(year: int) -> None:
    assert nerc_holidays(year) == frozenset(date(year, m, d) for m, d in NERC[year])


def test_sunday_holidays_are_observed_monday() -> None:
    assert date(2022, 12, 26) in nerc_holidays(2022)
    assert date(2022, 12, 25) not in nerc_holidays(2022)
    assert date(2021, 7, 5) in nerc_holidays(2021)
    assert date(2021, 7, 4) not in nerc_holidays(2021)
    assert date(2023, 1, 2) in nerc_holidays(2023)


def test_saturday_holidays_are_not_moved() -> None:
    assert date(2026, 7, 4) in nerc_holidays(2026)
    assert date(2026, 7, 3) not in nerc_holidays(2026)
    assert date(2022, 1, 1) in nerc_holidays(2022)
    assert date(2021, 12, 31) not in nerc_holidays(2021)
    assert date(2021, 12, 24) not in nerc_holidays(2021)


def test_no_other_us_holidays() -> None:
    for d in (date(2024, 1, 15), date(2024, 2, 19), date(2024, 10, 14), date(2024, 11, 11)):
        assert d not in nerc_holidays(2024)  # MLK, Presidents, Columbus, Veterans


# ---------------------------------------------------------------- definitions
def test_peak_definitions() -> None:
    for iso in (Iso.PJM, Iso.NYISO, Iso.MISO):
        rule = peak_definition(iso)
        assert (rule.first_hour, rule.last_hour) == (7, 22)  # HE08-HE23
        assert rule.weekdays == frozenset({1, 2, 3, 4, 5})
    for iso in (Iso.ERCOT, Iso.SPP):
        rule = peak_definition(iso)
        assert (rule.first_hour, rule.last_hour) == (6, 21)  # HE07-HE22
        assert rule.weekdays == frozenset({1, 2, 3, 4, 5})
    caiso = peak_definition(Iso.CAISO)
    assert (caiso.first_hour, caiso.last_hour) == (6, 21)
    assert caiso.weekdays == frozenset({1, 2, 3, 4, 5, 6})
    assert {peak_definition(iso).hours_per_day for iso in Iso} == {16}
    assert peak_definition("ERCOT") == peak_definition(Iso.ERCOT)


# ---------------------------------------------------------------- hours of the day
def test_eastern_block_is_07_to_2259_local() -> None:
    assert on_peak_local_hours(Iso.PJM, "2024-01-10") == list(range(7, 23))
    assert on_peak_local_hours(Iso.NYISO, "2024-07-10") == list(range(7, 23))


def test_central_block_is_06_to_2159_local() -> None:
    assert on_peak_local_hours(Iso.ERCOT, "2024-01-10") == list(range(6, 22))
    assert on_peak_local_hours(Iso.SPP, "2024-07-10") == list(range(6, 22))


def test_five_minute_edges_pjm_and_ercot() -> None:
    edges = ["06:55", "07:00", "22:55", "23:00", "05:55", "06:00", "21:55", "22:00"]
    pjm = pd.DatetimeIndex([pd.Timestamp(f"2024-01-10 {t}", tz=TZ[Iso.PJM]) for t in edges])
    on_pjm = [False, True, True, False, False, False, True, True]
    assert list(is_on_peak(Iso.PJM, pjm)) == on_pjm
    ercot = pjm.tz_localize(None).tz_localize(TZ[Iso.ERCOT])
    on_ercot = [True, True, False, False, False, True, True, False]
    assert list(is_on_peak(Iso.ERCOT, ercot)) == on_ercot


def test_caiso_includes_saturday_but_not_sunday() -> None:
    assert on_peak_local_hours(Iso.CAISO, "2024-01-13") == list(range(6, 22))  # Saturday
    assert on_peak_local_hours(Iso.CAISO, "2024-01-14") == []  # Sunday
    assert on_peak_local_hours(Iso.PJM, "2024-01-13") == []
    assert on_peak_local_hours(Iso.ERCOT, "2024-01-13") == []


def test_miso_block_is_in_fixed_est() -> None:
    # Wednesday 2024-07-10: 11:00Z is 07:00 EDT (PJM on) but 06:00 EST (MISO off);
    # 03:00Z on the 11th is 23:00 EDT (PJM off) but 22:00 EST (MISO on).
    starts = pd.DatetimeIndex(["2024-07-10T11:00Z", "2024-07-10T12:00Z", "2024-07-11T03:00Z"])
    assert list(is_on_peak(Iso.PJM, starts)) == [True, True, False]
    assert list(is_on_peak(Iso.MISO, starts)) == [False, True, True]
    assert on_peak_local_hours(Iso.MISO, "2024-07-10") == list(range(7, 23))


def test_holidays_are_off_peak_all_day() -> None:
    assert on_peak_local_hours(Iso.PJM, "2024-07-04") == []  # Thursday
    assert on_peak_local_hours(Iso.PJM, "2022-12-26") == []  # observed Christmas
    assert on_peak_local_hours(Iso.PJM, "2022-12-23") == list(range(7, 23))
    assert on_peak_local_hours(Iso.ERCOT, "2021-07-05") == []
    assert on_peak_local_hours(Iso.CAISO, "2026-07-04") == []  # Saturday holiday
    assert on_peak_local_hours(Iso.CAISO, "2026-07-11") == list(range(6, 22))
    assert on_peak_local_hours(Iso.CAISO, "2024-11-28") == []  # Thanksgiving


def test_holiday_is_judged_on_the_local_day() -> None:
    # 2024-07-04 22:00 EDT is 2024-07-05T02:00Z: a holiday hour, though UTC says Friday.
    # 2024-12-31 22:00 EST is 2025-01-01T03:00Z: on-peak, though UTC says New Year's Day.
    starts = pd.DatetimeIndex(["2024-07-05T02:00Z", "2024-07-05T11:00Z", "2025-01-01T03:00Z"])
    assert list(is_on_peak(Iso.PJM, starts)) == [False, True, True]


def test_dst_transition_weeks_keep_16_hours_a_weekday() -> None:
    for iso in (Iso.PJM, Iso.ERCOT, Iso.CAISO):
        for day in ("2024-03-10", "2024-11-03"):  # the Sundays themselves are off-peak
            assert on_peak_local_hours(iso, day) == []
        for day in ("2024-03-08", "2024-03-11", "2024-11-01", "2024-11-04"):
            assert len(on_peak_local_hours(iso, day)) == 16
    # Monday 2024-03-11 starts at 07:00 EDT = 11:00Z; Friday 2024-03-08 at 07:00 EST = 12:00Z.
    mon = local_range(Iso.PJM, "2024-03-11", "2024-03-12")
    fri = local_range(Iso.PJM, "2024-03-08", "2024-03-09")
    assert mon[is_on_peak(Iso.PJM, mon)][0] == pd.Timestamp("2024-03-11T11:00Z")
    assert fri[is_on_peak(Iso.PJM, fri)][0] == pd.Timestamp("2024-03-08T12:00Z")
    week = local_range(Iso.PJM, "2024-11-02", "2024-11-09")  # Sat..Fri incl. 25-hour Sunday
    assert len(week) == 7 * 24 + 1
    assert is_on_peak(Iso.PJM, week).sum() == 5 * 16


# ---------------------------------------------------------------- monthly counts
@pytest.mark.parametrize(
    ("iso", "month", "hours"),
    [
        (Iso.PJM, "2024-01", 352),  # 23 weekdays - Jan 1 = 22
        (Iso.PJM, "2024-03", 336),  # 21 weekdays, spring-forward month
        (Iso.PJM, "2024-11", 320),  # 21 weekdays - Thanksgiving = 20, fall-back month
        (Iso.PJM, "2022-12", 336),  # 22 weekdays - Dec 26 = 21
        (Iso.PJM, "2026-07", 368),  # 23 weekdays; Jul 4 is a Saturday
        (Iso.NYISO, "2024-01", 352),
        (Iso.MISO, "2024-11", 320),
        (Iso.ERCOT, "2024-11", 320),
        (Iso.SPP, "2024-03", 336),
        (Iso.CAISO, "2024-01", 416),  # 22 + 4 Saturdays = 26
        (Iso.CAISO, "2024-11", 400),  # 20 + 5 Saturdays = 25
        (Iso.CAISO, "2026-07", 416),  # 23 + 4 Saturdays - Sat Jul 4 = 26
    ],
)
def test_monthly_on_peak_hours(iso: Iso, month: str, hours: int) -> None:
    start = pd.Timestamp(month + "-01")
    end = (start + pd.offsets.MonthBegin(1)).strftime("%Y-%m-%d")
    starts = local_range(iso, start.strftime("%Y-%m-%d"), end)
    assert is_on_peak(iso, starts).sum() == hours


def test_five_minute_counts_are_twelve_per_hour() -> None:
    starts = local_range(Iso.PJM, "2024-01-01", "2024-02-01", freq="5min")
    assert is_on_peak(Iso.PJM, starts).sum() == 352 * 12


# ---------------------------------------------------------------- inputs
def test_series_input_and_return_type() -> None:
    starts = pd.Series(pd.DatetimeIndex(["2024-01-10T12:00Z", "2024-01-10T04:00Z"]))
    out = is_on_peak(Iso.PJM, starts)
    assert isinstance(out, np.ndarray)
    assert out.dtype == bool
    assert list(out) == [True, False]


def test_empty_input() -> None:
    out = is_on_peak(Iso.PJM, pd.DatetimeIndex([], tz="UTC"))
    assert len(out) == 0


def test_naive_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        is_on_peak(Iso.PJM, pd.date_range("2024-01-10", periods=3, freq="h"))
