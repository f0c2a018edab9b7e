"""Time rules: exact UTC starts around both DST transitions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from carbon254.connectors.clock import (
    elapsed_hour_starts,
    hour_ending_starts,
    localize,
    parse_hour_ending,
    parse_utc,
)
from carbon254.connectors.errors import PayloadError
from carbon254.core.markets import Iso


def iso_strings(values: pa.Array) -> list[str]:
    return [v.strftime("%Y-%m-%dT%H:%M") for v in values.to_pylist()]


def days(text: str, n: int) -> np.ndarray:
    return np.array([text] * n, dtype="datetime64[D]")


def test_parse_utc_iso_with_and_without_millis():
    out = parse_utc("f", pa.array(["2023-11-06T04:55:00", "2023-11-06T04:55:00.500"]))
    assert out.type == pa.timestamp("us", tz="UTC")
    assert [v.isoformat() for v in out.to_pylist()] == [
        "2023-11-06T04:55:00+00:00",
        "2023-11-06T04:55:00.500000+00:00",
    ]


def test_parse_utc_dataminer_csv_format_and_garbage():
    out = parse_utc(
        "f", pa.array(["11/2/2025 5:00:00 AM", "11/2/2025 6:00:00 PM"]), fmt="%m/%d/%Y %I:%M:%S %p"
    )
    assert iso_strings(out) == ["2025-11-02T05:00", "2025-11-02T18:00"]
    with pytest.raises(PayloadError, match="unparseable"):
        parse_utc("f", pa.array(["not a time"]))


def test_hour_ending_labels():
    assert parse_hour_ending("f", pa.array(["01:00", "24:00", " 7 "])).tolist() == [1, 24, 7]
    assert parse_hour_ending("f", pa.array([1, 25])).tolist() == [1, 25]
    with pytest.raises(PayloadError, match="out of range"):
        parse_hour_ending("f", pa.array(["00:00"]))
    with pytest.raises(PayloadError, match="minutes"):
        parse_hour_ending("f", pa.array(["01:15"]))


def test_fall_back_day_with_dst_flag_has_25_distinct_hours():
    # ERCOT 2024-11-03: HE01..HE24 plus a second HE02 flagged as repeated.
    he = np.array([*range(1, 25), 2])
    flag = np.zeros(25, dtype=bool)
    flag[-1] = True
    starts = hour_ending_starts("f", Iso.ERCOT, days("2024-11-03", 25), he, flag)
    values = sorted(starts.to_pylist())
    assert len(set(values)) == 25
    assert values[0].isoformat() == "2024-11-03T05:00:00+00:00"
    assert values[-1].isoformat() == "2024-11-04T05:00:00+00:00"


def test_spring_forward_skipped_hour_raises():
    he = np.array([1, 2, 3])  # HE03 = 02:00-03:00 does not exist on 2024-03-10
    with pytest.raises(PayloadError, match="not valid"):
        hour_ending_starts("f", Iso.ERCOT, days("2024-03-10", 3), he)


def test_flag_on_a_normal_hour_raises():
    with pytest.raises(PayloadError, match="not a repeated hour"):
        hour_ending_starts("f", Iso.ERCOT, days("2024-11-03", 1), np.array([5]), np.array([True]))


def test_ambiguous_without_flag_raises():
    naive = np.array(["2024-11-03T01:30"], dtype="datetime64[ns]")
    with pytest.raises(PayloadError):
        localize("f", Iso.ERCOT, naive)


@pytest.mark.parametrize(
    ("day", "hours"), [("2024-03-10", 23), ("2024-11-03", 25), ("2024-07-01", 24)]
)
def test_elapsed_hours_cover_the_local_day_exactly(day, hours):
    starts = elapsed_hour_starts("f", Iso.ERCOT, days(day, hours), np.arange(1, hours + 1))
    micros = starts.cast(pa.int64()).to_numpy()
    assert len(set(micros.tolist())) == hours
    assert (np.diff(micros) == 3_600_000_000).all()
    with pytest.raises(PayloadError, match=f"a day of {hours} hours"):
        elapsed_hour_starts("f", Iso.ERCOT, days(day, 1), np.array([hours + 1]))


def test_miso_never_shifts():
    starts = elapsed_hour_starts("f", Iso.MISO, days("2024-11-03", 24), np.arange(1, 25))
    assert iso_strings(starts)[0] == "2024-11-03T05:00"
