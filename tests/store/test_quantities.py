"""Market quantities (cleared AS MW and the like): keyed upserts and reads. Both backends."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from carbon254.core.records import QUANTITY_SCHEMA, validate_quantities
from carbon254.core.schema import SchemaError

from .helpers import utc

T0 = utc(2024, 11, 3, 5)
H = timedelta(hours=1)
DS = "ercot.np3-911-er"


def quantities(n: int = 3, *, mw: float = 100.0, **override) -> pa.Table:
    starts = [T0 + i * H for i in range(n)]
    data = {
        "dataset": [DS] * (2 * n),
        "iso": ["ERCOT"] * (2 * n),
        "series": ["cleared.REGUP"] * n + ["self_arranged.REGUP"] * n,
        "interval_start": pa.array(starts * 2, pa.timestamp("us", tz="UTC")),
        "interval_end": pa.array([s + H for s in starts] * 2, pa.timestamp("us", tz="UTC")),
        "value": [mw + i for i in range(2 * n)],
    }
    data.update(override)
    return pa.table(data)


def test_insert_read_back_and_idempotent(store):
    first = store.upsert_quantities(quantities(), source=DS)
    assert (first.inserted, first.updated, first.unchanged) == (6, 0, 0)
    assert first.batch_id is not None
    again = store.upsert_quantities(quantities(), source=DS)
    assert (again.inserted, again.updated, again.changed) == (0, 0, False)
    table = store.read_quantities(start=T0, end=T0 + 3 * H)
    assert table.schema == QUANTITY_SCHEMA
    assert table.num_rows == 6
    assert table.column("series").to_pylist()[:2] == ["cleared.REGUP", "self_arranged.REGUP"]


def test_a_restated_value_replaces_the_stored_one(store):
    store.upsert_quantities(quantities(), source=DS)
    result = store.upsert_quantities(quantities(mw=200.0), source=DS)
    assert (result.inserted, result.updated, result.unchanged) == (0, 6, 0)
    values = store.read_quantities(start=T0, end=T0 + 3 * H).column("value").to_pylist()
    assert sorted(values) == [200.0 + i for i in range(6)]


def test_read_filters(store):
    store.upsert_quantities(quantities(), source=DS)
    assert store.read_quantities(start=T0, end=T0 + H, series=["cleared.REGUP"]).num_rows == 1
    assert store.read_quantities(start=T0, end=T0 + 3 * H, series=[]).num_rows == 0
    assert store.read_quantities(start=T0, end=T0 + 3 * H, iso="PJM").num_rows == 0
    assert store.read_quantities(start=T0, end=T0 + 3 * H, dataset=DS).num_rows == 6
    with pytest.raises(TypeError):
        store.read_quantities(start=T0, end=T0 + H, series="cleared.REGUP")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"value": [float("nan")] * 6}, "finite"),
        ({"series": ["cleared.REGUP"] * 6}, "duplicate"),
        ({"iso": ["XX"] * 6}, "unknown iso"),
    ],
)
def test_invalid_input_writes_nothing(store, override, message):
    with pytest.raises(SchemaError, match=message):
        store.upsert_quantities(quantities(**override), source=DS)
    assert store.read_quantities(start=T0, end=T0 + 3 * H).num_rows == 0
    assert store.batches().num_rows == 0


def test_end_before_start_is_refused():
    table = quantities(interval_end=pa.array([T0] * 6, pa.timestamp("us", tz="UTC")))
    with pytest.raises(SchemaError, match="interval_end must be after"):
        validate_quantities(table)
