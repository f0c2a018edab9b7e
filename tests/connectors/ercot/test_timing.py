"""ERCOT time rules: SCED runs around the repeated hour, last run wins, hour-ending labels
on both DST days (including ERCOT's skipped "02:00" on spring-forward days)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from carbon254.connectors.ercot.timing import (
    floor_starts,
    hour_ending_starts,
    last_run_rows,
    repeated_flags,
    sced_instants,
)
from carbon254.connectors.errors import PayloadError


def iso(values: pa.Array) -> list[str]:
    return [v.strftime("%Y-%m-%dT%H:%M:%S") for v in values.to_pylist()]


def test_repeated_flags():
    assert repeated_flags("f", pa.array(["N", " y", "Y"]), column="F").tolist() == [
        False,
        True,
        True,
    ]
    assert repeated_flags("f", pa.array([True, False]), column="F").tolist() == [True, False]
    with pytest.raises(PayloadError, match="F must be Y or N"):
        repeated_flags("f", pa.array(["N", "X"]), column="F")
    with pytest.raises(PayloadError, match="Y or N"):
        repeated_flags("f", pa.array(["N", None]), column="F")


def test_sced_runs_in_both_passes_of_the_repeated_hour():
    stamps = pa.array(
        ["11/03/2024 01:04:59", "11/03/2024 01:04:59", "11/03/2024 00:59:10", "2024-11-03T02:00:00"]
    )
    flags = np.array([False, True, False, False])
    out = sced_instants("f", stamps[:3], flags[:3])
    assert iso(out) == ["2024-11-03T06:04:59", "2024-11-03T07:04:59", "2024-11-03T05:59:10"]
    assert iso(sced_instants("f", stamps[3:], flags[3:])) == ["2024-11-03T08:00:00"]
    assert iso(floor_starts(out)) == [
        "2024-11-03T06:00:00",
        "2024-11-03T07:00:00",
        "2024-11-03T05:55:00",
    ]


def test_sced_errors():
    with pytest.raises(PayloadError, match="unparseable SCED timestamp"):
        sced_instants("f", pa.array(["yesterday"]), np.array([False]))
    with pytest.raises(PayloadError, match="not a repeated hour"):
        sced_instants("f", pa.array(["11/03/2024 03:00:00"]), np.array([True]))
    with pytest.raises(PayloadError, match="not valid"):  # skipped wall time
        sced_instants("f", pa.array(["03/10/2024 02:30:00"]), np.array([False]))
    with pytest.raises(PayloadError, match="empty"):
        sced_instants("f", pa.array([None], pa.string()), np.array([False]))


def test_last_run_wins_per_key_and_later_row_breaks_ties():
    keys = [np.array([0, 0, 1, 0, 1]), np.array([5, 5, 5, 10, 5])]
    runs = np.array([3, 4, 9, 1, 9])
    assert last_run_rows(keys, runs).tolist() == [1, 3, 4]
    assert last_run_rows([np.array([], dtype=np.int64)], np.array([])).tolist() == []


def test_hour_ending_fall_back_day_has_25_hours():
    he = np.array([1, 2, 2, *range(3, 25)])
    flag = np.zeros(25, dtype=bool)
    flag[2] = True
    days = np.array(["2024-11-03"] * 25, dtype="datetime64[D]")
    starts = iso(hour_ending_starts("f", days, he, flag))
    assert len(set(starts)) == 25
    assert starts[:4] == [
        "2024-11-03T05:00:00",
        "2024-11-03T06:00:00",
        "2024-11-03T07:00:00",
        "2024-11-03T08:00:00",
    ]


@pytest.mark.parametrize(
    "labels",
    [
        [1, *range(3, 25)],  # ERCOT: "02:00" skipped, "03:00" = 01:00 CST-03:00 CDT
        [1, 2, *range(4, 25)],  # the other convention reads the same hours
    ],
)
def test_hour_ending_spring_forward_day_has_23_hours(labels):
    he = np.array(labels)
    days = np.array(["2024-03-10"] * 23, dtype="datetime64[D]")
    starts = iso(hour_ending_starts("f", days, he, np.zeros(23, dtype=bool)))
    assert starts[:3] == ["2024-03-10T06:00:00", "2024-03-10T07:00:00", "2024-03-10T08:00:00"]
    assert len(set(starts)) == 23
    assert starts[-1] == "2024-03-11T04:00:00"


def test_hour_ending_spring_forward_flag_is_an_error():
    days = np.array(["2024-03-10"], dtype="datetime64[D]")
    with pytest.raises(PayloadError, match="spring-forward"):
        hour_ending_starts("f", days, np.array([3]), np.array([True]))
    assert hour_ending_starts("f", days[:0], np.array([], dtype=np.int64)).to_pylist() == []
