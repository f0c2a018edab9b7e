"""Typed errors: problem bodies from a real server, and every status mapped (respx)."""

from __future__ import annotations

import pickle

import httpx
import pytest
import respx

import carbon254
from carbon254.client import errors

from ..service.service_helpers import PJM_DA

URL = "http://api.test"


def test_unknown_instrument_is_not_found_naming_it(client: carbon254.Client) -> None:
    with pytest.raises(carbon254.NotFound) as caught:
        client.prices(["PJM.DA.LMP.404404", PJM_DA], "2024-11-03", "2024-11-04")
    error = caught.value
    assert error.status == 404
    assert error.instruments == ["PJM.DA.LMP.404404"]
    assert "PJM.DA.LMP.404404" in error.detail
    assert error.problem["type"] == "urn:carbon254:problem:unknown-instrument"
    assert "GET" in str(error) and "/api/v1/prices" in str(error)


def test_bad_parameters_are_one_validation_error_listing_each(client: carbon254.Client) -> None:
    with pytest.raises(carbon254.ValidationError) as caught:
        client.prices("PJM.XX.LMP.1", "2024-11-05", "2024-11-03", wire="json")
    error = caught.value
    assert error.status == 422
    assert {e["param"] for e in error.errors} == {"instruments", "start"}
    assert "market 'XX'" in error.detail and "must be before end" in error.detail
    assert error.type == "urn:carbon254:problem:invalid-parameter"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, carbon254.Carbon254Error),
        (401, carbon254.AuthenticationError),
        (403, carbon254.PermissionDenied),
        (404, carbon254.NotFound),
        (406, carbon254.Carbon254Error),
        (422, carbon254.ValidationError),
        (429, carbon254.RateLimitError),
        (500, carbon254.ServerError),
        (503, carbon254.ServerError),
    ],
)
@respx.mock
def test_status_maps_to_error_class(status: int, cls: type) -> None:
    problem = {"type": "about:blank", "title": "x", "status": status, "detail": f"said {status}"}
    headers = {"Retry-After": "7", "X-Request-ID": "req-1"}
    respx.get(f"{URL}/api/v1/health").respond(status, json=problem, headers=headers)
    with carbon254.Client(URL, retries=0) as client, pytest.raises(cls) as caught:
        client.health()
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, carbon254.Carbon254Error)
    assert (error.status, error.detail, error.request_id) == (status, f"said {status}", "req-1")
    if cls is carbon254.RateLimitError:
        assert error.retry_after == 7.0


@respx.mock
def test_error_without_problem_body() -> None:
    respx.get(f"{URL}/api/v1/health").respond(502, text="Bad gateway from the proxy\n")
    with carbon254.Client(URL, retries=0) as client, pytest.raises(carbon254.ServerError) as caught:
        client.health()
    assert caught.value.problem == {}
    assert caught.value.message == "Bad gateway from the proxy"


@respx.mock
def test_unreadable_success_body_is_a_carbon254_error() -> None:
    respx.get(f"{URL}/api/v1/prices").respond(200, content=b"not arrow", headers={
        "Content-Type": "application/vnd.apache.arrow.stream"
    })  # fmt: skip
    with carbon254.Client(URL) as client, pytest.raises(carbon254.Carbon254Error) as caught:
        client.prices(PJM_DA, "2024-11-03", "2024-11-04")
    assert "could not read the response" in str(caught.value)


def test_errors_pickle_with_their_attributes() -> None:
    error = errors.RateLimitError(
        "slow down", retry_after=3.0, status=429, problem={"detail": "slow down"}, url="u"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.RateLimitError
    assert (copy.retry_after, copy.status, copy.detail, copy.url) == (3.0, 429, "slow down", "u")
    invalid = pickle.loads(pickle.dumps(errors.ValidationError("x", problem={"errors": [{}]})))
    assert invalid.errors == [{}]


def test_transport_errors() -> None:
    from .sdk_helpers import closed_port

    with (
        carbon254.Client(closed_port(), retries=0) as client,
        pytest.raises(carbon254.TransportError) as caught,
    ):
        client.health()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.status is None
