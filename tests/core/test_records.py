"""Canonical ISO records beside prices: `validate_constraints` and `validate_telemetry`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from carbon254.core.records import (
    CONSTRAINT_SCHEMA,
    JOB_RUN_SCHEMA,
    TELEMETRY_SCHEMA,
    validate_constraints,
    validate_telemetry,
)
from carbon254.core.schema import SchemaError

T0 = datetime(2025, 3, 9, 6, tzinfo=UTC)
M5 = timedelta(minutes=5)


def constraints(**override: list) -> pa.Table:
    data: dict[str, list] = {
        "dataset": ["pjm.rt_marginal_value"] * 3,
        "iso": ["PJM"] * 3,
        "market": ["RT5"] * 3,
        "monitored_facility": ["BED-BLA 500 KV", "BED-BLA 500 KV", "O'HARE 138 KV"],
        "contingency_facility": ["", "LOSS OF X", ""],
        "interval_start": [T0, T0, T0],
        "interval_end": [T0 + M5] * 3,
        "shadow_price": [12.5, -3.25, None],
    }
    data.update(override)
    return pa.table(data)


def telemetry(**override: list) -> pa.Table:
    data: dict[str, list] = {
        "dataset": ["ercot.sced_60d"] * 2,
        "iso": ["ERCOT"] * 2,
        "resource": ["UNIT_A", "UNIT_B"],
        "interval_start": [T0, T0],
        "base_point": [100.0, None],
        "telemetered_output": [98.5, 0.0],
    }
    data.update(override)
    return pa.table(data)


def test_constraints_conform_and_fill_optional_columns() -> None:
    table = validate_constraints(constraints())
    assert table.schema == CONSTRAINT_SCHEMA
    assert table.column("penalty_factor").null_count == 3
    assert table.column("contingency_facility").to_pylist() == ["", "LOSS OF X", ""]


def test_constraints_in_another_zone_become_utc() -> None:
    local = pa.array([T0] * 3, pa.timestamp("us", tz="America/New_York"))
    table = validate_constraints(constraints(interval_start=local))
    assert table.column("interval_start").type == pa.timestamp("us", tz="UTC")


def test_same_facility_under_another_contingency_is_not_a_duplicate() -> None:
    validate_constraints(constraints())  # rows 0 and 1 differ only by contingency


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"contingency_facility": ["", "", ""]}, "duplicate (dataset, monitored_facility"),
        ({"shadow_price": [float("nan"), 1.0, 2.0]}, "shadow_price must be a finite"),
        ({"shadow_price": [float("inf"), 1.0, 2.0]}, "shadow_price must be a finite"),
        ({"interval_end": [T0, T0 + M5, T0 + M5]}, "interval_end must be after"),
        ({"interval_end": [T0 - M5, T0 + M5, T0 + M5]}, "interval_end must be after"),
        ({"iso": ["PJM", "XYZ", "PJM"]}, "unknown iso 'XYZ'"),
        ({"market": ["RT", "RT5", "RT5"]}, "unknown market 'RT'"),
        ({"monitored_facility": ["", "A", "B"]}, "'monitored_facility' is empty"),
        ({"contingency_facility": [None, "X", ""]}, "'contingency_facility' has 1 null"),
        ({"interval_start": [datetime(2025, 3, 9, 6)] * 3}, "tz-aware"),
        ({"interval_start": [datetime(1900, 1, 1, tzinfo=UTC)] * 3}, "outside 1990-2100"),
        ({"bogus": [1, 2, 3]}, "unknown column(s): bogus"),
    ],
)
def test_bad_constraints_are_rejected(override: dict, fragment: str) -> None:
    with pytest.raises(SchemaError) as info:
        validate_constraints(constraints(**override))
    assert fragment in str(info.value)


def test_missing_constraint_column_is_named() -> None:
    with pytest.raises(SchemaError, match="contingency_facility"):
        validate_constraints(constraints().drop_columns(["contingency_facility"]))


def test_error_names_the_offending_row() -> None:
    with pytest.raises(SchemaError, match=r"row 1 \('pjm.rt_marginal_value', 'BED-BLA 500 KV'"):
        validate_constraints(constraints(shadow_price=[1.0, float("nan"), None]))


def test_empty_constraints() -> None:
    assert validate_constraints(CONSTRAINT_SCHEMA.empty_table()).num_rows == 0


def test_telemetry_conforms() -> None:
    table = validate_telemetry(telemetry())
    assert table.schema == TELEMETRY_SCHEMA
    assert table.column("status").null_count == 2


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"resource": ["UNIT_A", "UNIT_A"]}, "duplicate (dataset, resource, interval_start)"),
        ({"base_point": [float("nan"), 1.0]}, "base_point must be a finite"),
        ({"telemetered_output": [1.0, float("-inf")]}, "telemetered_output must be a finite"),
        ({"resource": ["UNIT_A", " "]}, "'resource' is empty"),
        ({"iso": ["ERCOT", "ercot"]}, "unknown iso 'ercot'"),
        ({"interval_start": [datetime(2025, 3, 9, 6)] * 2}, "tz-aware"),
    ],
)
def test_bad_telemetry_is_rejected(override: dict, fragment: str) -> None:
    with pytest.raises(SchemaError) as info:
        validate_telemetry(telemetry(**override))
    assert fragment in str(info.value)


def test_job_run_schema_has_the_documented_columns() -> None:
    assert JOB_RUN_SCHEMA.names == [
        "run_id", "job", "dataset", "window_start", "window_end", "status", "attempts",
        "rows", "batch_id", "error", "started_at", "finished_at",
    ]  # fmt: skip
