"""GET /api/v1/instruments (search) and GET /api/v1/locations (the versioned directory),
on both backends: the store's search filters are new SQL."""

from __future__ import annotations

import io

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from ..service_helpers import CAISO_DA, ERCOT_RT15, PJM_DA
from .rest_helpers import ARROW, HUB, NODE_A, NODE_B, PARQUET

INSTRUMENTS = "/api/v1/instruments"
LOCATIONS = "/api/v1/locations"


def _ids(client: httpx.Client, **params: str) -> list[str]:
    response = client.get(INSTRUMENTS, params=params)
    assert response.status_code == 200, response.text
    return response.json()["columns"]["instrument"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "western"}, [HUB]),  # the directory name, any case
        ({"name": "HB_"}, [ERCOT_RT15]),  # the location id
        ({"name": "5128"}, [PJM_DA, NODE_A]),
        ({"name": "aldene"}, [PJM_DA, NODE_A]),  # both markets of one location
        ({"name": "old name"}, [NODE_B]),  # an earlier name of a renamed node
        ({"name": "th_np15"}, [CAISO_DA]),  # not in the directory: its id still matches
        ({"name": "100%"}, []),  # no LIKE wildcards
        ({"name": "o'brien"}, []),
        ({"location_type": "hub"}, [ERCOT_RT15, HUB]),
        ({"location_type": "HUB", "iso": "PJM"}, [HUB]),
        ({"location_type": "BUS", "market": "DA"}, [PJM_DA]),
        ({"location_type": "GENERATOR"}, []),
        ({"iso": "PJM", "market": "RT5", "product": "LMP"}, [HUB, NODE_A, NODE_B]),
    ],
)
def test_instrument_search(any_rest: httpx.Client, params: dict, expected: list[str]) -> None:
    assert _ids(any_rest, **params) == sorted(expected)


def test_instrument_catalogue_formats(rest: httpx.Client) -> None:
    params = {"iso": "PJM", "market": "RT5"}
    arrow = rest.get(INSTRUMENTS, params=params, headers={"Accept": ARROW})
    table = pa.ipc.open_stream(arrow.content).read_all()
    csv = rest.get(INSTRUMENTS, params={**params, "format": "csv"})
    assert csv.headers["content-disposition"] == 'attachment; filename="instruments.csv"'
    parsed = pacsv.read_csv(io.BytesIO(csv.content))
    assert parsed.column("instrument").to_pylist() == table.column("instrument").to_pylist()
    assert parsed.column_names == table.column_names
    parquet = rest.get(INSTRUMENTS, params=params, headers={"Accept": PARQUET})
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"location_type": "PLANET"}, ["location_type 'PLANET'"]),
        ({"name": "  "}, ["name must not be empty"]),
        ({"name": "x" * 201}, ["longer than 200"]),
        ({"name": "a\x00b"}, ["control characters"]),
    ],
)
def test_bad_searches(rest: httpx.Client, params: dict, words: list[str]) -> None:
    response = rest.get(INSTRUMENTS, params=params)
    assert response.status_code == 422
    for word in words:
        assert word in response.json()["detail"]


def _locations(client: httpx.Client, **params: str) -> list[tuple[str, str, str | None]]:
    response = client.get(LOCATIONS, params=params)
    assert response.status_code == 200, response.text
    columns = response.json()["columns"]
    return list(
        zip(
            columns["location"], columns["effective_date"], columns["termination_date"], strict=True
        )
    )


def test_location_directory_with_versions(any_rest: httpx.Client) -> None:
    every = _locations(any_rest)
    assert len(every) == 5
    # The retired node keeps both versions, with their dates, ordered by effective date.
    assert _locations(any_rest, name="kearny") == [("5021673", "2020-01-01", "2024-09-01")]
    assert _locations(any_rest, iso="pjm", type="load") == [
        ("5021673", "2010-01-01", "2020-01-01"),
        ("5021673", "2020-01-01", "2024-09-01"),
    ]
    # `on`: what was in effect that day. Termination dates are exclusive.
    assert [r[0] for r in _locations(any_rest, iso="PJM", on="2024-08-31")] == [
        "5021673",
        "51288",
        "WESTERN_HUB",
    ]
    assert [r[0] for r in _locations(any_rest, iso="PJM", on="2024-09-01")] == [
        "51288",
        "WESTERN_HUB",
    ]
    assert _locations(any_rest, on="2019-06-30", name="old") == [
        ("5021673", "2010-01-01", "2020-01-01")
    ]
    assert _locations(any_rest, type="hub", iso="ERCOT") == [("HB_NORTH", "2010-12-01", None)]


def test_location_filters_echo_and_errors(rest: httpx.Client) -> None:
    body = rest.get(LOCATIONS, params={"iso": "pjm", "on": "2024-01-01"}).json()
    assert body["filters"] == {"iso": "PJM", "type": None, "name": None, "on": "2024-01-01"}
    response = rest.get(LOCATIONS, params={"on": "2024-02-30", "type": "moon", "iso": "ISO"})
    assert response.status_code == 422
    assert [e["param"] for e in response.json()["errors"]] == ["iso", "type", "on"]
    csv = rest.get(LOCATIONS, params={"format": "csv", "iso": "ERCOT"})
    assert csv.text.splitlines() == [
        "iso,location,name,location_type,zone,effective_date,termination_date",
        '"ERCOT","HB_NORTH","North Hub","HUB",,2010-12-01,',  # null: empty, unquoted
    ]
