"""Market days, hour-ending labels and DST flags in `carbon254.core.intervals`.

Every expected UTC instant below is written out by hand from the published US DST rules
(2nd Sunday of March 02:00 -> 03:00, 1st Sunday of November 02:00 -> 01:00) and the
zone offsets EST/EDT -5/-4, CST/CDT -6/-5, PST/PDT -8/-7; MISO is EST (-5) all year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from carbon254.core import (
    Iso,
    NonexistentLocalTime,
    hour_ending_to_start,
    hours_in_day,
    interval_starts,
    local_day_of,
    market_day,
    nth_hour_start,
    repeated_hour_flags,
)

H = timedelta(hours=1)
DST_ISOS = [Iso.PJM, Iso.NYISO, Iso.ERCOT, Iso.SPP, Iso.CAISO]
DST_DAYS = [
    (date(2024, 3, 10), 23),
    (date(2024, 11, 3), 25),
    (date(2025, 3, 9), 23),
    (date(2025, 11, 2), 25),
    (date(2026, 3, 8), 23),
    (date(2026, 11, 1), 25),
]
ORDINARY_DAYS = [date(2024, 1, 15), date(2024, 7, 1), date(2024, 11, 2), date(2024, 3, 11)]


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- hours_in_day
@pytest.mark.parametrize("iso", DST_ISOS)
@pytest.mark.parametrize(("day", "hours"), DST_DAYS)
def test_dst_days_have_23_or_25_hours(iso: Iso, day: date, hours: int) -> None:
    assert hours_in_day(iso, day) == hours


@pytest.mark.parametrize(("day", "_hours"), DST_DAYS)
def test_miso_has_24_hours_on_us_dst_days(day: date, _hours: int) -> None:
    assert hours_in_day(Iso.MISO, day) == 24


@pytest.mark.parametrize("iso", list(Iso))
@pytest.mark.parametrize("day", ORDINARY_DAYS)
def test_ordinary_days_have_24_hours(iso: Iso, day: date) -> None:
    assert hours_in_day(iso, day) == 24


def test_hours_in_day_accepts_iso_as_string() -> None:
    assert hours_in_day("PJM", date(2024, 11, 3)) == 25


# ---------------------------------------------------------------- market_day
@pytest.mark.parametrize(
    ("iso", "day", "start", "end"),
    [
        (Iso.PJM, date(2024, 11, 3), z(2024, 11, 3, 4), z(2024, 11, 4, 5)),
        (Iso.PJM, date(2024, 3, 10), z(2024, 3, 10, 5), z(2024, 3, 11, 4)),
        (Iso.PJM, date(2024, 7, 1), z(2024, 7, 1, 4), z(2024, 7, 2, 4)),
        (Iso.PJM, date(2024, 12, 31), z(2024, 12, 31, 5), z(2025, 1, 1, 5)),
        (Iso.NYISO, date(2025, 11, 2), z(2025, 11, 2, 4), z(2025, 11, 3, 5)),
        (Iso.ERCOT, date(2024, 11, 3), z(2024, 11, 3, 5), z(2024, 11, 4, 6)),
        (Iso.ERCOT, date(2024, 3, 10), z(2024, 3, 10, 6), z(2024, 3, 11, 5)),
        (Iso.SPP, date(2026, 3, 8), z(2026, 3, 8, 6), z(2026, 3, 9, 5)),
        (Iso.CAISO, date(2024, 11, 3), z(2024, 11, 3, 7), z(2024, 11, 4, 8)),
        (Iso.CAISO, date(2024, 3, 10), z(2024, 3, 10, 8), z(2024, 3, 11, 7)),
        (Iso.CAISO, date(2024, 1, 15), z(2024, 1, 15, 8), z(2024, 1, 16, 8)),
        (Iso.MISO, date(2024, 11, 3), z(2024, 11, 3, 5), z(2024, 11, 4, 5)),
        (Iso.MISO, date(2024, 3, 10), z(2024, 3, 10, 5), z(2024, 3, 11, 5)),
        (Iso.MISO, date(2024, 7, 1), z(2024, 7, 1, 5), z(2024, 7, 2, 5)),
    ],
)
def test_market_day_utc_bounds(iso: Iso, day: date, start: datetime, end: datetime) -> None:
    got_start, got_end = market_day(iso, day)
    assert (got_start, got_end) == (start, end)
    assert got_start.utcoffset() == timedelta(0)
    assert got_end.utcoffset() == timedelta(0)


def test_consecutive_market_days_tile_without_gaps() -> None:
    day = date(2024, 10, 28)
    for _ in range(14):  # crosses the 2024-11-03 fall-back
        assert market_day(Iso.PJM, day)[1] == market_day(Iso.PJM, day + timedelta(days=1))[0]
        day += timedelta(days=1)


# ---------------------------------------------------------------- interval_starts
@pytest.mark.parametrize("iso", list(Iso))
@pytest.mark.parametrize(
    ("day", "counts"),
    [
        (date(2024, 3, 10), (276, 92, 23)),
        (date(2024, 7, 1), (288, 96, 24)),
        (date(2024, 11, 3), (300, 100, 25)),
    ],
)
def test_interval_counts(iso: Iso, day: date, counts: tuple[int, int, int]) -> None:
    if iso is Iso.MISO:
        counts = (288, 96, 24)
    lengths = (timedelta(minutes=5), timedelta(minutes=15), H)
    assert tuple(len(interval_starts(iso, day, n)) for n in lengths) == counts


def test_interval_starts_on_pjm_fall_back_day() -> None:
    starts = interval_starts(Iso.PJM, date(2024, 11, 3), timedelta(minutes=5))
    assert str(starts.tz) == "UTC"
    assert starts[0] == pd.Timestamp("2024-11-03T04:00Z")
    assert starts[-1] == pd.Timestamp("2024-11-04T04:55Z")
    assert ((starts[1:] - starts[:-1]) == pd.Timedelta(minutes=5)).all()


def test_interval_starts_on_caiso_spring_forward_day() -> None:
    starts = interval_starts(Iso.CAISO, date(2024, 3, 10), timedelta(minutes=15))
    assert starts[0] == pd.Timestamp("2024-03-10T08:00Z")
    assert starts[-1] == pd.Timestamp("2024-03-11T06:45Z")
    local_hours = set(starts.tz_convert("America/Los_Angeles").hour)
    assert 2 not in local_hours  # 02:00-02:59 PST never happens
    assert len(local_hours) == 23


# ---------------------------------------------------------------- hour_ending_to_start
@pytest.mark.parametrize(
    ("iso", "day", "start"),
    [
        (Iso.PJM, date(2024, 7, 1), z(2024, 7, 1, 4)),
        (Iso.PJM, date(2024, 1, 15), z(2024, 1, 15, 5)),
        (Iso.ERCOT, date(2024, 11, 3), z(2024, 11, 3, 5)),
        (Iso.CAISO, date(2024, 1, 15), z(2024, 1, 15, 8)),
        (Iso.MISO, date(2024, 7, 1), z(2024, 7, 1, 5)),  # EST midnight, not EDT
    ],
)
def test_he1_starts_at_local_midnight(iso: Iso, day: date, start: datetime) -> None:
    assert hour_ending_to_start(iso, day, 1) == start


def test_he24_starts_at_23_local() -> None:
    assert hour_ending_to_start(Iso.PJM, date(2024, 7, 1), 24) == z(2024, 7, 2, 3)
    assert hour_ending_to_start(Iso.MISO, date(2024, 7, 1), 24) == z(2024, 7, 2, 4)


def test_ercot_fall_back_repeated_he2() -> None:
    day = date(2024, 11, 3)
    first = hour_ending_to_start(Iso.ERCOT, day, 2)  # 01:00 CDT
    second = hour_ending_to_start(Iso.ERCOT, day, 2, repeated=True)  # 01:00 CST (DSTFlag=Y)
    assert (first, second) == (z(2024, 11, 3, 6), z(2024, 11, 3, 7))
    # ... so the two HE2 hours END at 07:00Z and 08:00Z, and HE3 starts at 02:00 CST.
    assert (first + H, second + H) == (z(2024, 11, 3, 7), z(2024, 11, 3, 8))
    assert hour_ending_to_start(Iso.ERCOT, day, 3) == z(2024, 11, 3, 8)


@pytest.mark.parametrize(
    ("iso", "first", "second"),
    [(Iso.PJM, 5, 6), (Iso.NYISO, 5, 6), (Iso.SPP, 6, 7), (Iso.CAISO, 8, 9)],
)
def test_fall_back_repeated_he2_other_isos(iso: Iso, first: int, second: int) -> None:
    day = date(2024, 11, 3)
    assert hour_ending_to_start(iso, day, 2) == z(2024, 11, 3, first)
    assert hour_ending_to_start(iso, day, 2, repeated=True) == z(2024, 11, 3, second)


def test_all_25_labels_of_a_fall_back_day_are_consecutive_hours() -> None:
    day = date(2024, 11, 3)
    labels = [(1, False), (2, False), (2, True)] + [(he, False) for he in range(3, 25)]
    got = [hour_ending_to_start(Iso.ERCOT, day, he, rep) for he, rep in labels]
    assert got == [z(2024, 11, 3, 5) + k * H for k in range(25)]


def test_all_23_labels_of_a_spring_forward_day_are_consecutive_hours() -> None:
    day = date(2024, 3, 10)
    got = [hour_ending_to_start(Iso.ERCOT, day, he) for he in range(1, 25) if he != 3]
    assert got == [z(2024, 3, 10, 6) + k * H for k in range(23)]
    assert hour_ending_to_start(Iso.ERCOT, day, 4) == z(2024, 3, 10, 8)  # 03:00 CDT


@pytest.mark.parametrize("iso", DST_ISOS)
@pytest.mark.parametrize("day", [date(2024, 3, 10), date(2025, 3, 9), date(2026, 3, 8)])
def test_spring_forward_he3_does_not_exist(iso: Iso, day: date) -> None:
    with pytest.raises(NonexistentLocalTime, match="HE3") as info:
        hour_ending_to_start(iso, day, 3)
    assert isinstance(info.value, ValueError)
    with pytest.raises(NonexistentLocalTime):
        hour_ending_to_start(iso, day, 3, repeated=True)


def test_miso_hour_ending_is_fixed_est_on_us_dst_days() -> None:
    assert hour_ending_to_start(Iso.MISO, date(2024, 3, 10), 3) == z(2024, 3, 10, 7)
    assert hour_ending_to_start(Iso.MISO, date(2024, 11, 3), 2) == z(2024, 11, 3, 6)
    assert hour_ending_to_start(Iso.MISO, date(2024, 11, 3), 3) == z(2024, 11, 3, 7)
    with pytest.raises(ValueError, match="not a repeated hour"):
        hour_ending_to_start(Iso.MISO, date(2024, 11, 3), 2, repeated=True)


@pytest.mark.parametrize("he", [0, 25, -1, 100])
def test_hour_ending_out_of_range(he: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.24") as info:
        hour_ending_to_start(Iso.PJM, date(2024, 7, 1), he)
    assert not isinstance(info.value, NonexistentLocalTime)


@pytest.mark.parametrize(
    ("day", "he"), [(date(2024, 7, 1), 2), (date(2024, 11, 3), 1), (date(2024, 11, 3), 3)]
)
def test_repeated_only_for_the_repeated_hour(day: date, he: int) -> None:
    with pytest.raises(ValueError, match="not a repeated hour"):
        hour_ending_to_start(Iso.PJM, day, he, repeated=True)


# ---------------------------------------------------------------- nth_hour_start
def test_nth_hour_on_a_25_hour_day_runs_1_to_25() -> None:
    day = date(2024, 11, 3)
    got = [nth_hour_start(Iso.ERCOT, day, n) for n in range(1, 26)]
    assert got == [z(2024, 11, 3, 5) + k * H for k in range(25)]
    assert nth_hour_start(Iso.ERCOT, day, 3) == hour_ending_to_start(Iso.ERCOT, day, 2, True)
    with pytest.raises(ValueError, match="25 hours"):
        nth_hour_start(Iso.ERCOT, day, 26)


def test_nth_hour_on_a_23_hour_day() -> None:
    day = date(2024, 3, 10)
    assert nth_hour_start(Iso.PJM, day, 23) == z(2024, 3, 11, 3)
    assert nth_hour_start(Iso.PJM, day, 3) == z(2024, 3, 10, 7)  # 03:00 EDT
    for n in (24, 0, -1):
        with pytest.raises(ValueError, match=r"23 hours in PJM; hour -?\d+ is out of range"):
            nth_hour_start(Iso.PJM, day, n)


def test_nth_hour_miso_24_hours_on_fall_back_day() -> None:
    assert nth_hour_start(Iso.MISO, date(2024, 11, 3), 24) == z(2024, 11, 4, 4)
    with pytest.raises(ValueError):
        nth_hour_start(Iso.MISO, date(2024, 11, 3), 25)


# ---------------------------------------------------------------- repeated_hour_flags
def five_minute(start: str, end: str) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="5min", inclusive="left")


def test_pjm_fall_back_flags_exactly_the_second_1am_hour() -> None:
    starts = five_minute("2024-11-03T04:00Z", "2024-11-04T05:00Z")
    assert len(starts) == 300
    flags = repeated_hour_flags(Iso.PJM, starts)
    assert flags.dtype == bool
    assert flags.sum() == 12
    flagged = starts[flags]
    assert list(flagged) == list(five_minute("2024-11-03T06:00Z", "2024-11-03T07:00Z"))
    local = flagged.tz_convert("America/New_York")
    assert set(local.hour) == {1}
    assert {ts.utcoffset() for ts in local} == {-5 * H}  # the EST pass


def test_ercot_fall_back_flags_0700z_hour() -> None:
    starts = five_minute("2024-11-03T05:00Z", "2024-11-04T06:00Z")
    flagged = starts[repeated_hour_flags(Iso.ERCOT, starts)]
    assert list(flagged) == list(five_minute("2024-11-03T07:00Z", "2024-11-03T08:00Z"))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-11-02T04:00Z", "2024-11-03T04:00Z"),  # the day before
        ("2024-03-10T05:00Z", "2024-03-11T04:00Z"),  # spring forward
        ("2024-07-01T04:00Z", "2024-07-02T04:00Z"),
    ],
)
def test_pjm_no_flags_on_other_days(start: str, end: str) -> None:
    assert repeated_hour_flags(Iso.PJM, five_minute(start, end)).sum() == 0


def test_miso_never_flags() -> None:
    starts = five_minute("2024-11-03T00:00Z", "2024-11-05T00:00Z")
    assert repeated_hour_flags(Iso.MISO, starts).sum() == 0


def test_hourly_flag_and_series_and_non_utc_input() -> None:
    hourly = pd.date_range("2024-11-03T04:00Z", "2024-11-04T05:00Z", freq="h", inclusive="left")
    expected = [ts == pd.Timestamp("2024-11-03T06:00Z") for ts in hourly]
    assert list(repeated_hour_flags(Iso.PJM, hourly)) == expected
    assert list(repeated_hour_flags(Iso.PJM, pd.Series(hourly))) == expected
    eastern = hourly.tz_convert("America/New_York")
    assert list(repeated_hour_flags(Iso.PJM, eastern)) == expected


# ---------------------------------------------------------------- local_day_of
def test_local_day_of_uses_the_market_clock() -> None:
    starts = pd.DatetimeIndex(
        ["2024-11-04T05:30Z", "2024-11-04T04:30Z", "2024-07-02T04:30Z", "2024-07-02T03:30Z"]
    )
    pjm = local_day_of(Iso.PJM, starts)
    assert pjm.dtype == np.dtype("datetime64[D]")
    assert [str(d) for d in pjm] == ["2024-11-04", "2024-11-03", "2024-07-02", "2024-07-01"]
    miso = local_day_of(Iso.MISO, starts)  # 04:30Z is 23:30 EST the previous day
    assert [str(d) for d in miso] == ["2024-11-04", "2024-11-03", "2024-07-01", "2024-07-01"]
    ercot = local_day_of(Iso.ERCOT, starts)
    assert [str(d) for d in ercot] == ["2024-11-03", "2024-11-03", "2024-07-01", "2024-07-01"]


def test_local_day_of_a_whole_fall_back_day() -> None:
    starts = five_minute("2024-11-03T04:00Z", "2024-11-04T05:00Z")
    days = local_day_of(Iso.PJM, pd.Series(starts))
    assert set(days.tolist()) == {date(2024, 11, 3)}


@pytest.mark.parametrize("func", [repeated_hour_flags, local_day_of])
def test_naive_starts_are_rejected(func: object) -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        func(Iso.PJM, pd.date_range("2024-11-03", periods=3, freq="h"))  # type: ignore[operator]
