"""Every bad request is a 4xx RFC 9457 problem naming what was wrong; never a bare 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from carbon254.service import create_app
from carbon254.service.settings import Settings

from .service_helpers import PJM_DA, open_duckdb

PROBLEM = "application/problem+json"
DAY = {"start": "2024-11-03", "end": "2024-11-04"}


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["type"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"instruments": "PJM.XX.LMP.51288", **DAY}, 422, ["PJM.XX.LMP.51288", "market", "'XX'"]),
        ({"instruments": "PJM.DA.LMP", **DAY}, 422, ["'PJM.DA.LMP'", "four"]),
        ({"instruments": "FOO.DA.LMP.1", **DAY}, 422, ["iso", "'FOO'"]),
        ({"instruments": "PJM.DA.LMP.bad*loc", **DAY}, 422, ["location", "'bad*loc'"]),
        ({"instruments": f"{PJM_DA},,{PJM_DA}", **DAY}, 422, ["empty id at position 2"]),
        ({"instruments": "", **DAY}, 422, ["at least one instrument"]),
        ({"instruments": "PJM.DA.LMP.99999", **DAY}, 404, ["PJM.DA.LMP.99999"]),
        ({"instruments": f"{PJM_DA},PJM.RT5.LMP.51288", **DAY}, 404, ["PJM.RT5.LMP.51288"]),
        ({"instruments": PJM_DA, "start": "2024-11-04", "end": "2024-11-04"}, 422, ["before"]),
        ({"instruments": PJM_DA, "start": "2024-11-05", "end": "2024-11-04"}, 422, ["before"]),
        ({"instruments": PJM_DA, "start": "yesterday", "end": "2024-11-04"}, 422, ["'yesterday'"]),
        ({"instruments": PJM_DA, "start": "2024-11-03", "end": "2024-13-01"}, 422, ["end"]),
        ({"instruments": PJM_DA, **DAY, "as_of": "2024-11-03T25:00"}, 422, ["as_of"]),
        ({"instruments": PJM_DA, "start": "2024-11-03T00:00:00 04:00", "end": "2024-11-04"}, 422,
         ["%2B"]),
        ({"instruments": PJM_DA, "start": "9999-12-31T23:00-05:00", "end": "2024-11-04"}, 422,
         ["out of range"]),
        (DAY, 422, ["'instruments'", "required"]),
        ({"instruments": PJM_DA, "end": "2024-11-04"}, 422, ["'start'", "required"]),
        ({"instruments": PJM_DA, "start": "2023-01-01", "end": "2024-11-04"}, 422, ["366 days"]),
        ({"instruments": PJM_DA, **DAY, "as_of": "2099-01-01"}, 422, ["as_of", "in the future"]),
        ({"instruments": PJM_DA, "start": "1900-01-01", "end": "1900-01-02"}, 422, ["1990"]),
    ],
)  # fmt: skip
def test_bad_price_requests(client: httpx.Client, params: dict, status: int, words: list) -> None:
    body = _problem(client.get("/api/v1/prices", params=params), status)
    for word in words:
        assert word in body["detail"]
    assert body["instance"] == "/api/v1/prices"


def test_bad_instrument_error_names_part(client: httpx.Client) -> None:
    params = {"instruments": "PJM.XX.LMP.1", **DAY}
    body = _problem(client.get("/api/v1/prices", params=params), 422)
    assert body["errors"] == [
        {
            "param": "instruments",
            "in": "query",
            "detail": body["detail"],
            "value": "PJM.XX.LMP.1",
            "part": "market",
        }
    ]


def test_unknown_instruments_listed(client: httpx.Client) -> None:
    params = {"instruments": "PJM.DA.LMP.1,PJM.DA.LMP.2", **DAY}
    body = _problem(client.get("/api/v1/prices", params=params), 404)
    assert body["instruments"] == ["PJM.DA.LMP.1", "PJM.DA.LMP.2"]


def test_all_parameter_errors_reported_together(client: httpx.Client) -> None:
    params = {"instruments": "PJM.XX.LMP.1", "start": "soon", "end": "later"}
    body = _problem(client.get("/api/v1/prices", params=params), 422)
    assert [e["param"] for e in body["errors"]] == ["instruments", "start", "end"]


def test_exactly_the_range_limit_is_allowed(client: httpx.Client) -> None:
    params = {"instruments": PJM_DA, "start": "2024-01-01", "end": "2025-01-01"}  # 366 days
    assert client.get("/api/v1/prices", params=params).status_code == 200


def test_too_many_instruments(client: httpx.Client) -> None:
    ids = ",".join(f"PJM.DA.LMP.{n}" for n in range(101))
    body = _problem(client.get("/api/v1/prices", params={"instruments": ids, **DAY}), 422)
    assert "at most 100 instruments" in body["detail"]


def test_unacceptable_media_type(client: httpx.Client) -> None:
    params = {"instruments": PJM_DA, **DAY}
    response = client.get("/api/v1/prices", params=params, headers={"Accept": "image/png"})
    body = _problem(response, 406)
    assert "image/png" in body["detail"] and "text/csv" in body["detail"]


def test_unknown_route_and_wrong_method(client: httpx.Client) -> None:
    assert "/api/v1/nothing" in _problem(client.get("/api/v1/nothing"), 404)["detail"]
    response = client.post("/api/v1/prices")
    assert "POST" in _problem(response, 405)["detail"]
    assert response.headers["allow"] == "GET"


def test_bad_instrument_filters(client: httpx.Client) -> None:
    params = {"iso": "XYZ", "market": "RT7"}
    body = _problem(client.get("/api/v1/instruments", params=params), 422)
    assert "iso 'XYZ'" in body["detail"] and "market 'RT7'" in body["detail"]


def test_unexpected_error_is_a_bare_500(
    tmp_path: Path, live_server: Callable[[FastAPI], str], caplog: pytest.LogCaptureFixture
) -> None:
    from .service_helpers import day_prices

    store = open_duckdb(tmp_path / "broken.duckdb")
    store.upsert_prices(day_prices(PJM_DA, date(2024, 11, 3)), source="test")

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    store.read_prices = explode  # type: ignore[method-assign]
    base = live_server(create_app(store, owns_store=True, settings=Settings(auth=False)))
    response = httpx.get(f"{base}/api/v1/prices", params={"instruments": PJM_DA, **DAY})
    body = _problem(response, 500)
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert body["detail"].startswith("an unexpected error occurred")
    assert "secret internal detail" in caplog.text  # logged on the server instead


def test_health_reports_broken_store(tmp_path: Path, live_server: Callable[[FastAPI], str]) -> None:
    store = open_duckdb(tmp_path / "sick.duckdb")

    def sick() -> None:
        raise OSError("disk on fire")

    store.schema_version = sick  # type: ignore[method-assign]
    base = live_server(create_app(store, owns_store=True, settings=Settings(auth=False)))
    response = httpx.get(f"{base}/api/v1/health")
    assert "store check failed" in _problem(response, 503)["detail"]
    assert "disk on fire" not in response.text


def test_a_page_over_the_row_limit_is_a_422(
    tmp_path: Path, live_server: Callable[[FastAPI], str]
) -> None:
    from carbon254.service.params import Limits

    from .service_helpers import day_prices

    store = open_duckdb(tmp_path / "rows.duckdb")
    store.upsert_prices(day_prices(PJM_DA, date(2024, 11, 3)), source="test")
    base = live_server(
        create_app(
            store, owns_store=True, limits=Limits(max_rows=10), settings=Settings(auth=False)
        )
    )
    params = {"instruments": PJM_DA, **DAY}
    body = _problem(httpx.get(f"{base}/api/v1/prices", params={**params, "limit": 11}), 422)
    assert "limit must be between 1 and 10" in body["detail"]
    # Without a limit the page is as large as the server allows, and says what follows.
    page = httpx.get(f"{base}/api/v1/prices", params=params).json()
    assert page["row_count"] == 10 and page["next_cursor"]
    # A spread (not paged) over the limit is refused with a hint.
    spread = {"hub": PJM_DA, "nodes": PJM_DA, **DAY}
    body = _problem(httpx.get(f"{base}/api/v1/spreads", params=spread), 422)
    assert "more than 10 rows" in body["detail"] and "narrow" in body["detail"]


def test_problem_body_with_an_integer_past_64_bits_is_still_a_problem() -> None:
    from carbon254.service.problems import Problem, problem_response

    response = problem_response(Problem(422, "limit is too large", value=10**20))
    assert response.status_code == 422
    assert b'"value":100000000000000000000' in response.body
