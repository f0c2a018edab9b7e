"""Forward-curve marks in the store: versions, supersession, as_of, idempotent re-uploads,
refusals that write nothing, and the curve catalogue. Both backends."""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from carbon254.core import LOCATION_SCHEMA
from carbon254.store import InvalidArgument

from .helpers import day_prices

HUB = "PJM.DA.LMP.WESTERN HUB"
NODE = "PJM.DA.LMP.51288"
JAN, FEB = date(2027, 1, 1), date(2027, 2, 1)


def marks(*rows: tuple[date, str, float]) -> pa.Table:
    month, peak, price = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table(
        {
            "month": pa.array(month, pa.date32()),
            "peak": pa.array(peak, pa.string()),
            "price": pa.array(price, pa.float64()),
        }
    )


def current(store, curve: str = HUB, **kwargs) -> list[tuple]:
    table = store.read_curve_marks(curve, **kwargs)
    return list(zip(*(table[c].to_pylist() for c in ("month", "peak", "price")), strict=True))


def _pause() -> datetime:
    """An instant strictly between two commits."""
    time.sleep(0.002)
    at = datetime.now(UTC)
    time.sleep(0.002)
    return at


def test_upload_read_supersede_and_as_of(store):
    first = store.upsert_curve_marks(
        HUB, marks((JAN, "on", 55.1), (JAN, "off", 40.0)), source="desk-x"
    )
    assert (first.version, first.rows_inserted, first.changed) == (1, 2, True)
    between = _pause()
    second = store.upsert_curve_marks(
        HUB, marks((JAN, "on", 56.0), (FEB, "on", 50.0)), source="desk-y", uploaded_by="alice"
    )
    assert (second.version, second.rows_inserted, second.rows_superseded) == (2, 1, 1)
    assert second.committed_at > between > first.committed_at

    # now: Jan on superseded by version 2; Jan off from version 1 still current
    assert current(store) == [(JAN, "on", 56.0), (JAN, "off", 40.0), (FEB, "on", 50.0)]
    assert store.read_curve_marks(HUB)["version"].to_pylist() == [2, 1, 2]
    assert store.read_curve_marks(HUB)["source"].to_pylist() == ["desk-y", "desk-x", "desk-y"]
    # as of between the uploads: exactly what the first one said
    assert current(store, as_of=between) == [(JAN, "on", 55.1), (JAN, "off", 40.0)]
    assert current(store, as_of=first.committed_at - timedelta(microseconds=1)) == []
    # history keeps the superseded mark, with who replaced it and when
    history = store.read_curve_marks(HUB, revisions=True).to_pylist()
    old = next(r for r in history if r["price"] == 55.1)
    assert (old["superseded_by"], old["superseded_at"]) == (2, second.committed_at)
    assert len(history) == 4
    # revisions as of between: the old mark is not superseded yet at that instant
    then = store.read_curve_marks(HUB, as_of=between, revisions=True).to_pylist()
    assert [(r["price"], r["superseded_by"], r["superseded_at"]) for r in then] == [
        (55.1, None, None),
        (40.0, None, None),
    ]


def test_identical_upload_is_idempotent(store):
    upload = marks((JAN, "on", 55.1), (JAN, "off", 40.0))
    first = store.upsert_curve_marks(HUB, upload, source="desk-x")
    again = store.upsert_curve_marks(HUB, upload, source="desk-x")
    assert (again.version, again.committed_at, again.changed) == (1, first.committed_at, False)
    assert (again.rows_unchanged, again.rows_inserted, again.rows_superseded) == (2, 0, 0)
    # a subset of what is held changes nothing either
    subset = store.upsert_curve_marks(HUB, marks((JAN, "off", 40.0)), source="other")
    assert (subset.version, subset.changed) == (1, False)
    assert len(store.read_curve_marks(HUB, revisions=True)) == 2
    # a new version for a real change, then re-uploading it answers with that version
    changed = store.upsert_curve_marks(HUB, marks((JAN, "on", 55.2)), source="desk-x")
    assert changed.version == 2
    assert store.upsert_curve_marks(HUB, marks((JAN, "on", 55.2)), source="x").version == 2


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (marks(), "at least one row"),
        (marks((JAN, "flat", 1.0)), "peak"),
        (marks((date(2027, 1, 15), "on", 1.0)), "first day"),
        (marks((JAN, "on", math.nan)), "finite"),
        (marks((JAN, "on", math.inf)), "finite"),
        (marks((JAN, "on", 1.0), (JAN, "on", 2.0)), "twice"),
        (pa.table({"month": [JAN], "price": [1.0]}), "missing"),
        (pa.table({"month": [JAN], "peak": ["on"], "price": [None]}), "nulls"),
    ],
)
def test_invalid_marks_write_nothing(store, table, message):
    store.upsert_curve_marks(HUB, marks((JAN, "on", 55.1)), source="desk-x")
    with pytest.raises(InvalidArgument, match=message):
        store.upsert_curve_marks(HUB, table, source="desk-x")
    assert store.read_curve_marks(HUB, revisions=True)["version"].to_pylist() == [1]


def test_refusals_of_arguments(store):
    with pytest.raises(InvalidArgument, match="source"):
        store.upsert_curve_marks(HUB, marks((JAN, "on", 1.0)), source="")
    with pytest.raises(InvalidArgument, match="instrument id"):
        store.upsert_curve_marks("PJM.XX.LMP.HUB", marks((JAN, "on", 1.0)), source="x")
    with pytest.raises(InvalidArgument, match="future"):
        store.read_curve_marks(HUB, as_of=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(InvalidArgument, match="timezone-aware"):
        store.read_curve_marks(HUB, as_of=datetime(2026, 1, 1))


def test_curves_are_separate_and_ids_canonical(store):
    store.upsert_curve_marks("pjm.da.lmp.WESTERN HUB", marks((JAN, "on", 1.0)), source="x")
    store.upsert_curve_marks("PJM.RT5.LMP.WESTERN HUB", marks((JAN, "on", 2.0)), source="x")
    assert current(store, HUB) == [(JAN, "on", 1.0)]
    assert current(store, "PJM.RT5.LMP.WESTERN HUB") == [(JAN, "on", 2.0)]


def test_catalogue_lists_hubs_and_marked_curves(store):
    day = date(2024, 7, 10)
    store.upsert_prices(day_prices([HUB, NODE], "PJM", day), source="test")
    directory = [
        ("WESTERN HUB", "Western Hub", "HUB", date(2000, 1, 1)),
        ("51288", "Some Bus", "BUS", date(2000, 1, 1)),
    ]
    store.upsert_locations(
        pa.Table.from_pylist(
            [
                {"iso": "PJM", "location": loc, "name": name, "location_type": kind,
                 "zone": None, "effective_date": eff, "termination_date": None}
                for loc, name, kind, eff in directory
            ],
            schema=LOCATION_SCHEMA,
        )
    )  # fmt: skip
    catalogue = store.curve_catalogue().to_pylist()
    assert [(r["instrument"], r["hub"], r["marks"]) for r in catalogue] == [(HUB, True, 0)]
    assert catalogue[0]["name"] == "Western Hub"
    assert catalogue[0]["first_interval"] == datetime(2024, 7, 10, 4, tzinfo=UTC)

    result = store.upsert_curve_marks(NODE, marks((JAN, "on", 1.0), (FEB, "on", 2.0)), source="x")
    catalogue = store.curve_catalogue().to_pylist()
    assert [(r["instrument"], r["hub"], r["marks"]) for r in catalogue] == [
        (NODE, False, 2),
        (HUB, True, 0),
    ]
    assert catalogue[0]["marks_committed_at"] == result.committed_at
    # asked by id: the ones the store knows, hub or not, and marked ones; others absent
    asked = store.curve_catalogue([HUB, NODE, "PJM.DA.LMP.NOWHERE"]).to_pylist()
    assert [(r["instrument"], r["hub"], r["name"]) for r in asked] == [
        (NODE, False, "Some Bus"),
        (HUB, True, "Western Hub"),
    ]
    store.upsert_curve_marks("PJM.DA.LMP.NEVER PRICED", marks((JAN, "on", 1.0)), source="x")
    unpriced = store.curve_catalogue(["PJM.DA.LMP.NEVER PRICED"]).to_pylist()
    assert [(r["hub"], r["marks"], r["last_interval"]) for r in unpriced] == [(False, 1, None)]
    assert len(store.curve_catalogue()) == 3
    assert store.curve_catalogue([]).num_rows == 0
