"""The location directory rules: valid names, no overlapping versions."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from carbon254.core import LOCATION_SCHEMA, SchemaError, validate_locations


def rows(*items: dict) -> pa.Table:
    base = {
        "iso": "MISO",
        "location": "AMIL.BGS6",
        "name": None,
        "location_type": "GENERATOR",
        "zone": None,
        "effective_date": date(2020, 1, 1),
        "termination_date": None,
    }
    return pa.Table.from_pylist([base | item for item in items], schema=LOCATION_SCHEMA)


def test_consecutive_versions_are_fine():
    table = rows({"termination_date": date(2022, 1, 1)}, {"effective_date": date(2022, 1, 1)})
    assert validate_locations(table).num_rows == 2


@pytest.mark.parametrize(
    ("first_end", "second_start"),
    [(None, date(2022, 1, 1)), (date(2022, 1, 2), date(2022, 1, 1))],
)
def test_overlapping_versions_are_rejected(first_end, second_start):
    table = rows({"termination_date": first_end}, {"effective_date": second_start})
    with pytest.raises(SchemaError, match=r"AMIL\.BGS6: the version effective 2020-01-01"):
        validate_locations(table)


def test_other_locations_do_not_count_as_overlap():
    table = rows({}, {"location": "AMIL.BGS7", "effective_date": date(2021, 1, 1)})
    assert validate_locations(table).num_rows == 2


@pytest.mark.parametrize("name", ["a,b", "", " padded", "tab\tname"])
def test_location_must_be_usable_in_an_instrument_id(name):
    with pytest.raises(SchemaError, match="location directory"):
        validate_locations(rows({"location": name}))
