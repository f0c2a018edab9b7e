"""Binding constraints and resource telemetry: keyed upserts, reads, lineage. Both backends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from carbon254.core.records import CONSTRAINT_SCHEMA, TELEMETRY_SCHEMA
from carbon254.core.schema import SchemaError
from carbon254.store import InvalidArgument, RecordResult

from .helpers import utc

T0 = utc(2025, 7, 15, 16)
M5 = timedelta(minutes=5)
RT = "pjm.rt_marginal_value"
DA = "pjm.da_transconstraints"
SCED = "ercot.sced_60d"
DAY = (utc(2025, 7, 15), utc(2025, 7, 16))


def constraints(n: int = 3, *, dataset: str = RT, price: float = 10.0, **override) -> pa.Table:
    """Two facilities (one under a contingency, one under none) for n five-minute intervals."""
    starts = [T0 + i * M5 for i in range(n)]
    data = {
        "dataset": [dataset] * (2 * n),
        "iso": ["PJM"] * (2 * n),
        "market": ["RT5"] * (2 * n),
        "monitored_facility": ["BED-BLA 500 KV"] * n + ["O'HARE 138 KV"] * n,
        "contingency_facility": ["LOSS OF DOUBS"] * n + [""] * n,
        "interval_start": pa.array(starts * 2, pa.timestamp("us", tz="UTC")),
        "interval_end": pa.array([s + M5 for s in starts] * 2, pa.timestamp("us", tz="UTC")),
        "shadow_price": [price + i for i in range(2 * n)],
        "limit_control_pct": [99.5] * (2 * n),
    }
    data.update(override)
    return pa.table(data)


def telemetry(resources=("UNIT_A", "UNIT_B"), n: int = 2, base: float = 100.0) -> pa.Table:
    rows = [(r, T0 + i * M5) for r in resources for i in range(n)]
    return pa.table(
        {
            "dataset": [SCED] * len(rows),
            "iso": ["ERCOT"] * len(rows),
            "resource": [r for r, _ in rows],
            "resource_type": ["CCGT90"] * len(rows),
            "interval_start": pa.array([t for _, t in rows], pa.timestamp("us", tz="UTC")),
            "base_point": [base + i for i in range(len(rows))],
            "telemetered_output": [base - 1.5 + i for i in range(len(rows))],
            "hsl": [300.0] * len(rows),
            "lsl": [50.0] * len(rows),
            "status": ["ON"] * len(rows),
        }
    )


def everything(store) -> dict:
    return {
        "constraints": store.read_constraints(start=utc(2000, 1, 1), end=utc(2099, 1, 1)),
        "telemetry": store.read_telemetry(start=utc(2000, 1, 1), end=utc(2099, 1, 1)),
        "batches": store.batches().to_pylist(),
    }


# ---------------------------------------------------------------- constraints
def test_constraints_round_trip_with_lineage(store):
    table = constraints()
    fetched = utc(2025, 7, 15, 17)
    result = store.upsert_constraints(
        table, source="pjm:rt_marginal_value", fetched_at=fetched,
        source_url="https://api.pjm.com/api/v1/rt_marginal_value?x=1",
    )  # fmt: skip
    assert isinstance(result, RecordResult)
    assert (result.inserted, result.updated, result.unchanged) == (6, 0, 0)
    back = store.read_constraints(start=DAY[0], end=DAY[1])
    assert back.schema == CONSTRAINT_SCHEMA
    order = ["interval_start", "monitored_facility", "contingency_facility"]
    assert back.num_rows == 6
    assert back.to_pylist() == sorted(
        (dict(zip(CONSTRAINT_SCHEMA.names, [r.get(c) for c in CONSTRAINT_SCHEMA.names],
                  strict=True)) for r in table.to_pylist()),
        key=lambda r: tuple(r[c] for c in order),
    )  # fmt: skip
    # "" stays "" (not NULL) and the apostrophe survives, on both backends
    assert "" in back.column("contingency_facility").to_pylist()
    assert "O'HARE 138 KV" in back.column("monitored_facility").to_pylist()
    batch = store.batches().to_pylist()[0]
    assert batch["batch_id"] == result.batch_id
    assert (batch["source"], batch["fetched_at"], batch["status"]) == (
        "pjm:rt_marginal_value", fetched, "committed"
    )  # fmt: skip
    assert batch["source_url"] == "https://api.pjm.com/api/v1/rt_marginal_value?x=1"
    assert (batch["rows_received"], batch["rows_inserted"], batch["rows_revised"]) == (6, 6, 0)


def test_reupserting_the_same_constraints_changes_nothing(store):
    first = store.upsert_constraints(constraints(), source="a")
    before = everything(store)
    again = store.upsert_constraints(constraints(), source="a")
    assert (again.inserted, again.updated, again.unchanged, again.batch_id) == (0, 0, 6, None)
    assert not again.changed
    assert everything(store) == before
    # new bytes (another hash) with the same rows: an 'unchanged' batch, rows untouched
    third = store.upsert_constraints(constraints(), source="a", content_sha256="cd" * 32)
    assert (third.inserted, third.updated, third.unchanged) == (0, 0, 6)
    assert third.batch_id is not None and third.batch_id > first.batch_id
    assert store.batches().to_pylist()[0]["status"] == "unchanged"
    assert everything(store)["constraints"] == before["constraints"]


def test_a_changed_shadow_price_is_updated_latest_wins(store):
    store.upsert_constraints(constraints(), source="v1")
    corrected = constraints()
    prices = corrected.column("shadow_price").to_pylist()
    prices[4] = 99.0
    corrected = corrected.set_column(7, "shadow_price", pa.array(prices))
    result = store.upsert_constraints(corrected, source="v2")
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 5)
    back = store.read_constraints(start=DAY[0], end=DAY[1], monitored_facility="O'HARE 138 KV")
    assert back.column("shadow_price").to_pylist() == [13.0, 99.0, 15.0]
    assert store.batches().to_pylist()[0]["rows_revised"] == 1


def test_new_and_changed_rows_in_one_batch(store):
    store.upsert_constraints(constraints(2), source="v1")
    result = store.upsert_constraints(constraints(3, price=20.0), source="v2")
    assert (result.inserted, result.updated, result.unchanged) == (2, 4, 0)
    assert store.read_constraints(start=DAY[0], end=DAY[1]).num_rows == 6


def test_null_shadow_prices_of_event_only_datasets(store):
    events = constraints(2, dataset=DA, shadow_price=[None] * 4, market=["DA"] * 4)
    assert store.upsert_constraints(events, source="pjm:da").inserted == 4
    back = store.read_constraints(start=DAY[0], end=DAY[1], dataset=DA)
    assert back.column("shadow_price").null_count == 4
    # a null turning into a value is a change; the same nulls again are not
    assert store.upsert_constraints(events, source="pjm:da").unchanged == 4
    priced = events.set_column(7, "shadow_price", pa.array([1.0, None, None, None]))
    assert store.upsert_constraints(priced, source="pjm:da").updated == 1


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"monitored_facility": ["A"] * 6, "contingency_facility": ["X"] * 6}, "duplicate"),
        ({"shadow_price": [float("nan")] + [1.0] * 5}, "finite"),
        ({"interval_start": [datetime(2025, 7, 15, 16)] * 6}, "tz-aware"),
        ({"interval_end": pa.array([T0] * 6, pa.timestamp("us", tz="UTC"))}, "after"),
    ],
)
def test_invalid_constraints_raise_and_write_nothing(store, override, match):
    store.upsert_constraints(constraints(), source="good")
    before = everything(store)
    bad = constraints(**override)
    with pytest.raises(SchemaError, match=match):
        store.upsert_constraints(bad, source="bad")
    assert everything(store) == before  # not even a failed batch row


def test_a_failure_inside_the_transaction_rolls_back_and_is_recorded(store, monkeypatch):
    store.upsert_constraints(constraints(2), source="v1")
    before = everything(store)["constraints"]
    original = store._merge_records

    def merge_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "_merge_records", merge_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.upsert_constraints(constraints(3, price=50.0), source="v2", source_url="file:x")
    assert everything(store)["constraints"] == before
    failed = store.batches().to_pylist()[0]
    assert failed["status"] == "failed" and "disk on fire" in failed["error"]
    assert failed["source_url"] == "file:x" and failed["rows_inserted"] == 0


def test_constraint_reads_filter_and_are_half_open(store):
    store.upsert_constraints(constraints(3), source="rt")
    store.upsert_constraints(constraints(1, dataset=DA, market=["DA"] * 2), source="da")
    everything_ = store.read_constraints(start=DAY[0], end=DAY[1])
    assert everything_.num_rows == 8
    keys = [
        (r["interval_start"], r["monitored_facility"], r["contingency_facility"], r["dataset"])
        for r in everything_.to_pylist()
    ]
    assert keys == sorted(keys)
    assert store.read_constraints(start=DAY[0], end=DAY[1], dataset=DA).num_rows == 2
    assert store.read_constraints(start=DAY[0], end=DAY[1], iso="PJM").num_rows == 8
    assert store.read_constraints(start=DAY[0], end=DAY[1], iso="MISO").num_rows == 0
    assert store.read_constraints(start=T0 + M5, end=T0 + 2 * M5).num_rows == 2  # [start, end)
    quoted = store.read_constraints(start=DAY[0], end=DAY[1], monitored_facility="x' OR '1'='1")
    assert quoted.num_rows == 0
    with pytest.raises(InvalidArgument, match="unknown iso"):
        store.read_constraints(start=DAY[0], end=DAY[1], iso="XX")
    with pytest.raises(InvalidArgument, match="before end"):
        store.read_constraints(start=DAY[1], end=DAY[0])
    with pytest.raises(InvalidArgument, match="timezone-aware"):
        store.read_constraints(start=datetime(2025, 7, 15), end=DAY[1])


def test_lineage_arguments_are_checked(store):
    with pytest.raises(ValueError, match="source"):
        store.upsert_constraints(constraints(), source="")
    with pytest.raises(ValueError, match="64 lowercase hex"):
        store.upsert_constraints(constraints(), source="a", content_sha256="nope")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.upsert_telemetry(telemetry(), source="a", fetched_at=datetime(2025, 1, 1))
    assert store.batches().num_rows == 0


# ---------------------------------------------------------------- telemetry
def test_telemetry_round_trip_and_filters(store):
    result = store.upsert_telemetry(telemetry(("UNIT_A", "UNIT_B", "UNIT_C")), source="sced")
    assert (result.inserted, result.updated, result.unchanged) == (6, 0, 0)
    back = store.read_telemetry(start=DAY[0], end=DAY[1])
    assert back.schema == TELEMETRY_SCHEMA and back.num_rows == 6
    keys = [(r["interval_start"], r["resource"]) for r in back.to_pylist()]
    assert keys == sorted(keys)
    picked = store.read_telemetry(start=DAY[0], end=DAY[1], resources=["UNIT_C", "UNIT_A"])
    assert sorted(set(picked.column("resource").to_pylist())) == ["UNIT_A", "UNIT_C"]
    assert store.read_telemetry(start=DAY[0], end=DAY[1], resources=[]).num_rows == 0
    assert store.read_telemetry(start=DAY[0], end=DAY[1], iso="ERCOT").num_rows == 6
    assert store.read_telemetry(start=DAY[0], end=DAY[1], iso="PJM").num_rows == 0
    assert store.read_telemetry(start=DAY[0], end=DAY[1], dataset="other").num_rows == 0
    first = back.to_pylist()[0]
    assert (first["resource_type"], first["hsl"], first["status"]) == ("CCGT90", 300.0, "ON")


def test_telemetry_reupsert_and_correction(store):
    store.upsert_telemetry(telemetry(), source="sced")
    again = store.upsert_telemetry(telemetry(), source="sced")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    corrected = telemetry(("UNIT_A", "UNIT_B", "UNIT_D"))
    corrected = corrected.set_column(5, "base_point", pa.array([100.0, 101.0, 150.0, 151.0, 5, 6]))
    result = store.upsert_telemetry(corrected, source="sced")
    # UNIT_A as stored, UNIT_B corrected base points, UNIT_D new
    assert (result.inserted, result.updated, result.unchanged) == (2, 2, 2)
    back = store.read_telemetry(start=DAY[0], end=DAY[1], resources=["UNIT_B"])
    assert back.column("base_point").to_pylist() == [150.0, 151.0]


def test_invalid_telemetry_writes_nothing(store):
    bad = telemetry()
    bad = bad.set_column(5, "base_point", pa.array([float("nan"), 1.0, 2.0, 3.0]))
    with pytest.raises(SchemaError, match="base_point"):
        store.upsert_telemetry(bad, source="sced")
    dup = pa.concat_tables([telemetry(), telemetry().slice(0, 1)])
    with pytest.raises(SchemaError, match="duplicate"):
        store.upsert_telemetry(dup, source="sced")
    assert store.read_telemetry(start=DAY[0], end=DAY[1]).num_rows == 0
    assert store.batches().num_rows == 0


def test_status_counts_the_new_tables(store):
    store.upsert_constraints(constraints(), source="a")
    store.upsert_telemetry(telemetry(), source="b")
    counts = store.status().counts
    assert (counts["binding_constraints"], counts["resource_telemetry"]) == (6, 4)
    assert counts["job_runs"] == 0 and counts["ingest_batches"] == 2
