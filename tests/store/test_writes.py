"""Writes: idempotence, revisions, atomic batches, lineage. Runs on DuckDB and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from carbon254.core import SchemaError, validate_prices
from carbon254.store import DuplicateRowError, UnknownInstrument

from .helpers import day_prices, dump, prices, utc

PJM = ["PJM.DA.LMP.51288", "PJM.DA.LMP.33092", "PJM.DA.LMP.5021673"]
DAY = date(2024, 7, 10)


def test_first_batch_inserts_every_row_and_records_lineage(store):
    table = day_prices(PJM, "PJM", DAY)
    fetched = utc(2024, 7, 11, 9, 30)
    result = store.upsert_prices(table, source="pjm:da_hrl_lmps", fetched_at=fetched)
    assert (result.rows_received, result.rows_inserted, result.rows_revised) == (72, 72, 0)
    assert result.instruments_created == 3 and result.status == "committed"
    batch = store.batches().to_pylist()[0]
    assert batch["batch_id"] == result.batch_id
    assert batch["source"] == "pjm:da_hrl_lmps"
    assert batch["fetched_at"] == fetched
    assert batch["content_sha256"] == result.content_sha256 and len(result.content_sha256) == 64
    assert (batch["rows_received"], batch["rows_inserted"], batch["status"]) == (
        72,
        72,
        "committed",
    )


def test_rows_round_trip_exactly(store):
    table = day_prices(PJM, "PJM", DAY)
    store.upsert_prices(table, source="t")
    back = store.read_prices(PJM, utc(2024, 7, 10), utc(2024, 7, 12))
    expected = validate_prices(table).sort_by(
        [("instrument", "ascending"), ("interval_start", "ascending")]
    )
    assert back.to_pylist() == expected.to_pylist()
    assert back.schema.field("interval_start").type == pa.timestamp("us", tz="UTC")


def test_reingesting_the_same_data_changes_nothing(store):
    table = day_prices(PJM, "PJM", DAY)
    first = store.upsert_prices(table, source="t")
    before = dump(store), store.batches().to_pylist()
    again = store.upsert_prices(table, source="t")
    assert again.status == "duplicate" and again.duplicate_of == first.batch_id
    assert (again.rows_inserted, again.rows_revised, again.rows_unchanged) == (0, 0, 72)
    assert (dump(store), store.batches().to_pylist()) == before


def test_overlapping_batch_with_same_values_is_a_noop_for_prices(store):
    store.upsert_prices(day_prices(PJM, "PJM", DAY), source="t")
    subset = day_prices(PJM[:1], "PJM", DAY)
    before = dump(store)
    result = store.upsert_prices(subset, source="subset")
    assert (result.rows_inserted, result.rows_revised, result.rows_unchanged) == (0, 0, 24)
    assert result.status == "unchanged"
    assert dump(store) == before


def test_changed_value_moves_old_value_to_revisions(store):
    first = store.upsert_prices(day_prices(PJM, "PJM", DAY), source="v1")
    corrected = day_prices(PJM[:1], "PJM", DAY, base=40.0)
    second = store.upsert_prices(corrected, source="v2")
    assert (second.rows_revised, second.rows_inserted, second.rows_unchanged) == (24, 0, 0)
    now = store.read_prices(PJM[:1], utc(2024, 7, 10), utc(2024, 7, 12))
    assert now.column("value")[0].as_py() == 40.0
    revisions = store.revisions(PJM[:1], utc(2024, 7, 10), utc(2024, 7, 12))
    assert revisions.num_rows == 24
    old = revisions.to_pylist()[0]
    assert old["value"] == 30.0
    assert old["batch_id"] == first.batch_id and old["superseded_by"] == second.batch_id
    assert old["recorded_at"] < old["superseded_at"]
    # the other instruments were not touched
    assert store.revisions(PJM[1:], utc(2024, 7, 10), utc(2024, 7, 12)).num_rows == 0


def test_a_change_in_components_only_is_a_revision(store):
    table = day_prices(PJM[:1], "PJM", DAY)
    store.upsert_prices(table, source="v1")
    shifted = table.set_column(
        table.column_names.index("energy"),
        "energy",
        pa.compute.subtract(table.column("energy"), 0.5),
    )
    shifted = shifted.set_column(
        shifted.column_names.index("loss"), "loss", pa.compute.add(table.column("loss"), 0.5)
    )
    result = store.upsert_prices(shifted, source="v2")
    assert result.rows_revised == 24


def _stream(tables, fail_after: int | None = None):
    for i, table in enumerate(tables):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("feed broke mid-batch")
        yield from table.to_batches()


def test_failure_mid_batch_leaves_the_store_exactly_as_before(store):
    store.upsert_prices(day_prices(PJM, "PJM", DAY), source="v1")
    before = dump(store)
    # First half revises existing rows and adds a new instrument; then the stream raises.
    first_half = pa.concat_tables(
        [
            day_prices(PJM, "PJM", DAY, base=50.0),
            day_prices(["PJM.DA.LMP.99999"], "PJM", DAY),
        ]
    )
    second_half = day_prices(PJM, "PJM", date(2024, 7, 11))
    with pytest.raises(RuntimeError, match="feed broke"):
        store.upsert_prices(_stream([first_half, second_half], fail_after=1), source="broken")
    assert dump(store) == before
    failed = store.batches().to_pylist()[0]
    assert failed["status"] == "failed" and "feed broke" in failed["error"]
    assert failed["rows_inserted"] == 0
    # and the store is usable afterwards, including the instrument that was rolled back
    result = store.upsert_prices(first_half, source="retry")
    assert (result.rows_revised, result.rows_inserted, result.instruments_created) == (72, 24, 1)


def test_invalid_second_chunk_rolls_back_the_first(store):
    good = day_prices(PJM, "PJM", DAY)
    bad = day_prices(PJM, "PJM", date(2024, 7, 11))
    bad = bad.set_column(bad.column_names.index("loss"), "loss", pa.compute.add(bad["loss"], 1.0))
    with pytest.raises(SchemaError, match=r"within \$0\.01"):
        store.upsert_prices([good, bad], source="x")
    assert store.read_prices(None, utc(2024, 1, 1), utc(2025, 1, 1)).num_rows == 0
    assert store.instruments().num_rows == 0


def test_duplicate_rows_across_chunks_of_one_batch_are_rejected(store):
    table = day_prices(PJM, "PJM", DAY)
    with pytest.raises(DuplicateRowError):
        store.upsert_prices([table, table.slice(0, 5)], source="dup")
    assert store.read_prices(None, utc(2024, 1, 1), utc(2025, 1, 1)).num_rows == 0


def test_duplicate_rows_within_a_chunk_are_rejected(store):
    table = day_prices(PJM, "PJM", DAY)
    with pytest.raises(SchemaError, match="duplicate"):
        store.upsert_prices(pa.concat_tables([table, table.slice(3, 1)]), source="dup")
    assert store.instruments().num_rows == 0


def test_stream_of_chunks_is_one_batch(store):
    days = [day_prices(PJM, "PJM", date(2024, 7, d)) for d in (10, 11, 12)]
    result = store.upsert_prices(_stream(days), source="stream")
    assert (result.rows_received, result.rows_inserted) == (216, 216)
    assert len(store.batches().to_pylist()) == 1


def test_reads_during_a_write_see_only_committed_data(store):
    store.upsert_prices(day_prices(PJM, "PJM", DAY), source="v1")
    inside, release = threading.Event(), threading.Event()
    seen: list[float] = []

    def slow_stream():
        yield from day_prices(PJM, "PJM", DAY, base=99.0).to_batches()
        inside.set()
        release.wait(10)

    def reader():
        inside.wait(10)
        table = store.read_prices(PJM[:1], utc(2024, 7, 10), utc(2024, 7, 12))
        seen.append(table.column("value")[0].as_py())
        release.set()

    thread = threading.Thread(target=reader)
    thread.start()
    store.upsert_prices(slow_stream(), source="v2")
    thread.join(10)
    assert seen == [30.0]
    assert (
        store.read_prices(PJM[:1], utc(2024, 7, 10), utc(2024, 7, 12))["value"][0].as_py() == 99.0
    )


def test_source_is_required_and_fetched_at_must_be_aware(store):
    table = day_prices(PJM, "PJM", DAY)
    with pytest.raises(ValueError, match="source"):
        store.upsert_prices(table, source="")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.upsert_prices(table, source="x", fetched_at=datetime(2024, 1, 1))


def test_given_content_hash_is_recorded(store):
    table = prices(PJM[:1], [utc(2024, 7, 10, 4)])
    result = store.upsert_prices(table, source="raw", content_sha256="ab" * 32)
    assert store.batches().to_pylist()[0]["content_sha256"] == "ab" * 32
    assert result.content_sha256 == "ab" * 32


def test_new_instruments_of_a_failed_batch_leave_no_trace(store):
    # new instruments in two chunks, then the stream breaks
    chunks = [
        day_prices(["PJM.DA.LMP.1001"], "PJM", DAY),
        day_prices(["PJM.DA.LMP.1002"], "PJM", DAY),
        day_prices(["PJM.DA.LMP.1003"], "PJM", DAY),
    ]
    with pytest.raises(RuntimeError):
        store.upsert_prices(_stream(chunks, fail_after=2), source="broken")
    for name in ("PJM.DA.LMP.1001", "PJM.DA.LMP.1002"):
        with pytest.raises(UnknownInstrument):
            store.read_prices([name], utc(2024, 7, 10), utc(2024, 7, 12))
    # a different new instrument must not inherit anything of the rolled-back ones
    other = day_prices(["PJM.DA.LMP.2001"], "PJM", DAY, base=77.0)
    assert store.upsert_prices(other, source="other").instruments_created == 1
    back = store.read_prices(["PJM.DA.LMP.2001"], utc(2024, 7, 10), utc(2024, 7, 12))
    assert back["value"].to_pylist() == other["value"].to_pylist()
    assert store.revisions(None, utc(2024, 7, 10), utc(2024, 7, 12)).num_rows == 0
    retry = store.upsert_prices(_stream(chunks), source="retry")
    assert (retry.instruments_created, retry.rows_inserted) == (3, 72)
    assert store.read_prices(["PJM.DA.LMP.1001"], utc(2024, 7, 10), utc(2024, 7, 12)).num_rows == 24


def test_revisions_carry_the_commit_times_of_both_batches(store):
    store.upsert_prices(day_prices(PJM[:1], "PJM", DAY), source="v1")
    store.upsert_prices(day_prices(PJM[:1], "PJM", DAY, base=31.0), source="v2")
    batches = {b["batch_id"]: b for b in store.batches().to_pylist()}
    revision = store.revisions(PJM[:1], utc(2024, 7, 10), utc(2024, 7, 12)).to_pylist()[0]
    assert revision["recorded_at"] == batches[revision["batch_id"]]["committed_at"]
    assert revision["superseded_at"] == batches[revision["superseded_by"]]["committed_at"]
    assert revision["recorded_at"] < revision["superseded_at"]


def test_rows_outside_the_supported_span_are_rejected(store):
    stray = prices(PJM[:1], [datetime(1900, 1, 1, 5, tzinfo=UTC)])
    with pytest.raises(SchemaError, match="1990"):
        store.upsert_prices(stray, source="typo")
    assert store.instruments().num_rows == 0


def test_content_hash_must_be_a_sha256(store):
    table = prices(PJM[:1], [utc(2024, 7, 10, 4)])
    with pytest.raises(ValueError, match="64 lowercase hex"):
        store.upsert_prices(table, source="raw", content_sha256="x' OR '1'='1")
    assert store.batches().num_rows == 0


def test_closing_releases_the_duckdb_file_for_another_process(tmp_path):
    import subprocess
    import sys

    from carbon254.store import open_store

    path = tmp_path / "owned.duckdb"
    store = open_store(f"duckdb://{path}")
    reader = threading.Thread(target=lambda: store.latest())  # a per-thread cursor
    reader.start()
    reader.join()
    store.close()
    code = f"from carbon254.store import open_store; open_store('duckdb://{path}').close()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
