"""Schemathesis over the served OpenAPI document: no 5xx, and every response conforms.

A real uvicorn server over a seeded store; schemathesis generates requests from the
document itself (valid and invalid), so every route and parameter that is documented is
exercised, including ones added after this test was written.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(
    seeded: PriceStore, live_server: Callable[[FastAPI], str]
) -> schemathesis.BaseSchema:
    base = live_server(create_app(seeded, settings=Settings(auth=False)))
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def test_no_server_errors_and_responses_conform(api_schema: schemathesis.BaseSchema) -> None:
    # One hypothesis run per operation (schemathesis' pytest plugin does not load under
    # pytest 9), collecting every failing operation so one run names them all.
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 3, "the OpenAPI document lists too few operations"
    for operation in operations:

        @_SETTINGS
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=_CHECKS, timeout=30)

        try:
            exercise()
        except Exception as exc:  # report them all, not the first
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
