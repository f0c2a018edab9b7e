"""The time-versioned location directory. Runs on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from carbon254.core import LOCATION_SCHEMA, SchemaError

from .helpers import day_prices, utc


def directory(rows: list[dict]) -> pa.Table:
    full = [{"name": None, "zone": None, "termination_date": None} | row for row in rows]
    return pa.Table.from_pylist(full, schema=LOCATION_SCHEMA)


NODE = {
    "iso": "PJM",
    "location": "32417",
    "name": "ALDENE 230 KV T-10",
    "location_type": "LOAD",
    "zone": "PSEG",
    "effective_date": date(2015, 1, 1),
}
HUB = {
    "iso": "PJM",
    "location": "51288",
    "name": "WESTERN HUB",
    "location_type": "HUB",
    "effective_date": date(2001, 4, 1),
}


def test_insert_then_unchanged(store):
    first = store.upsert_locations(directory([NODE, HUB]))
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    result = store.upsert_locations(directory([NODE, HUB]))
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 2)
    assert store.locations().num_rows == 2


def test_retiring_a_node_keeps_it_and_its_history(store):
    store.upsert_locations(directory([NODE, HUB]))
    store.upsert_prices(day_prices(["PJM.DA.LMP.32417"], "PJM", date(2024, 7, 10)), source="p")
    retired = NODE | {"termination_date": date(2024, 9, 1)}
    result = store.upsert_locations(directory([retired]))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
    # still in the directory, with its termination date; gone from the directory in force later
    rows = {r["location"]: r for r in store.locations(iso="PJM").to_pylist()}
    assert rows["32417"]["termination_date"] == date(2024, 9, 1)
    assert {r["location"] for r in store.locations(on=date(2024, 8, 31)).to_pylist()} == {
        "32417",
        "51288",
    }
    assert {r["location"] for r in store.locations(on=date(2024, 9, 1)).to_pylist()} == {"51288"}
    # and its prices are still there
    assert (
        store.read_prices(["PJM.DA.LMP.32417"], utc(2024, 7, 10), utc(2024, 7, 12)).num_rows == 24
    )


def test_a_renamed_node_is_a_new_version(store):
    store.upsert_locations(directory([NODE | {"termination_date": date(2020, 6, 1)}]))
    renamed = NODE | {"name": "ALDENE 230 KV T-11", "effective_date": date(2020, 6, 1)}
    result = store.upsert_locations(directory([renamed]))
    assert result.inserted == 1
    names = [r["name"] for r in store.locations().to_pylist()]
    assert names == ["ALDENE 230 KV T-10", "ALDENE 230 KV T-11"]
    assert [r["name"] for r in store.locations(on=date(2019, 1, 1)).to_pylist()] == [
        "ALDENE 230 KV T-10"
    ]
    assert [r["name"] for r in store.locations(on=date(2024, 1, 1)).to_pylist()] == [
        "ALDENE 230 KV T-11"
    ]


def test_bad_directory_rows_are_rejected_whole(store):
    bad = NODE | {"location_type": "SUBSTATION"}
    with pytest.raises(SchemaError, match="SUBSTATION"):
        store.upsert_locations(directory([HUB, bad]))
    assert store.locations().num_rows == 0


def test_a_version_overlapping_a_stored_one_is_rejected(store):
    store.upsert_locations(directory([NODE]))  # open-ended since 2015
    clash = NODE | {"name": "ALDENE NEW", "effective_date": date(2020, 6, 1)}
    with pytest.raises(SchemaError, match="overlaps"):
        store.upsert_locations(directory([clash]))
    assert [r["name"] for r in store.locations().to_pylist()] == ["ALDENE 230 KV T-10"]
