"""Checking uploaded marks (every bad row reported at once) and laying marks over a curve."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from carbon254.analytics.curves import CURVE_SCHEMA, MARK_SCHEMA, apply_marks, check_marks


def test_good_rows_become_a_sorted_table():
    table, errors = check_marks(
        [
            {"month": "2027-02", "peak": "OFF", "price": "41.5"},  # CSV gives strings
            {"month": "2027-01-01", "peak": " on ", "price": 55},
            {"month": date(2027, 1, 1), "peak": "off", "price": -3.25},  # negative is a price
        ]
    )
    assert errors == []
    assert table.schema == MARK_SCHEMA
    assert table.to_pylist() == [
        {"month": date(2027, 1, 1), "peak": "off", "price": -3.25},
        {"month": date(2027, 1, 1), "peak": "on", "price": 55.0},
        {"month": date(2027, 2, 1), "peak": "off", "price": 41.5},
    ]


def test_every_bad_row_is_reported():
    rows = [
        {"month": "2027-13", "peak": "on", "price": 1},
        {"month": "2027-01-15", "peak": "on", "price": 1},
        {"month": "Jan 2027", "peak": "flat", "price": "abc"},
        {"month": "2027-01", "peak": "on", "price": float("nan")},
        {"month": "2027-03", "peak": "on", "price": True},
        {"month": "2027-02", "peak": "on", "price": 2.0},
        {"month": "2027-02", "peak": "on", "price": 3.0},  # duplicate of the row before
        {"peak": "off", "prices": 1},
        "not an object",
        {"month": "2200-01", "peak": "off", "price": "inf"},
    ]
    table, errors = check_marks(rows)
    assert table.num_rows == 0
    got = {(e["row"], e["field"]) for e in errors}
    assert got == {
        (1, "month"),
        (2, "month"),
        (3, "month"),
        (3, "peak"),
        (3, "price"),
        (4, "price"),
        (5, "price"),
        (7, "month"),
        (8, "month"),
        (8, "price"),
        (8, "prices"),
        (9, None),
        (10, "month"),
        (10, "price"),
    }
    dup = next(e for e in errors if e["row"] == 7)
    assert dup["detail"] == "row 7: duplicate of row 6: 2027-02 on-peak appears twice"
    assert all(e["detail"].startswith(f"row {e['row']}: ") for e in errors)


def test_empty_and_oversized_uploads():
    assert check_marks([])[1][0]["detail"] == "marks must hold at least one row"
    rows = [
        {"month": f"{2000 + i // 24}-{i % 12 + 1:02d}", "peak": "on", "price": 1}
        for i in range(1001)
    ]
    errors = check_marks(rows)[1]
    assert any(e["detail"] == "at most 1000 rows per upload" for e in errors)


def _curve() -> pa.Table:
    months = [date(2027, 1, 1), date(2027, 1, 1), date(2027, 2, 1), date(2027, 2, 1)]
    return pa.Table.from_pydict(
        {
            "month": months,
            "peak": ["on", "off", "on", "off"],
            "price": [50.0, 40.0, 48.0, 38.0],
            "source": ["history", "history", "forecast", "forecast"],
            "years": [3, 3, None, None],
            "hours": [320, 424, 320, 352],
        },
        schema=CURVE_SCHEMA,
    )


def test_marks_override_their_month_and_peak_only():
    marks, _ = check_marks(
        [
            {"month": "2027-01", "peak": "off", "price": 44.0},
            {"month": "2027-02", "peak": "on", "price": 51.0},
            {"month": "2030-02", "peak": "on", "price": 99.0},  # outside the curve: ignored
        ]
    )
    out = apply_marks(_curve(), marks)
    assert out.schema == CURVE_SCHEMA
    assert out["price"].to_pylist() == [50.0, 44.0, 51.0, 38.0]
    assert out["source"].to_pylist() == ["history", "mark", "mark", "forecast"]
    assert out["years"].to_pylist() == [3, None, None, None]
    assert out["hours"].to_pylist() == [320, 424, 320, 352]
    assert apply_marks(_curve(), MARK_SCHEMA.empty_table()).equals(_curve())
