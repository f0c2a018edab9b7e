"""RFC 9457 problem details: every error the API returns is `application/problem+json`.

`Problem` is the exception routes and parameter parsers raise; `install_problem_handlers`
turns it, FastAPI's request validation errors, Starlette's HTTP errors and store errors
into problem bodies, and any unexpected exception into a bare 500 with no traceback text.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..store.base import InvalidArgument, ResultTooLarge, UnknownInstrument

__all__ = [
    "INVALID_PARAMETER",
    "PROBLEM_JSON",
    "UNKNOWN_INSTRUMENT",
    "Problem",
    "ProblemModel",
    "install_problem_handlers",
    "problem_response",
]

log = logging.getLogger("carbon254.service")

PROBLEM_JSON = "application/problem+json"
INVALID_PARAMETER = "urn:carbon254:problem:invalid-parameter"
UNKNOWN_INSTRUMENT = "urn:carbon254:problem:unknown-instrument"


class ProblemModel(BaseModel):
    """The problem body, for the OpenAPI document (extension members are allowed)."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None


class Problem(Exception):
    """An error response. `extensions` become extra members of the problem body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str = "about:blank",
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers
        self.extensions = extensions


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(problem.extensions)
    return Response(_dumps(body), problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def _dumps(body: dict[str, Any]) -> bytes:
    """orjson, or the standard library for what orjson refuses (integers past 64 bits
    echoed from a bad parameter): describing bad input must never fail itself."""
    try:
        return orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(body, default=str, separators=(",", ":")).encode()


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request.url.path)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_validation_error(e) for e in exc.errors()]
    detail = "; ".join(e["detail"] for e in errors) or "invalid request"
    problem = Problem(422, detail, type=INVALID_PARAMETER, errors=errors)
    return problem_response(problem, request.url.path)


def _validation_error(error: dict[str, Any]) -> dict[str, str]:
    loc = [str(part) for part in error.get("loc", ())]
    where, name = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("request", "".join(loc))
    if error.get("type") == "missing":
        detail = f"{where} parameter {name!r} is required"
    else:
        detail = f"{where} parameter {name!r}: {error.get('msg', 'is invalid')}"
    return {"param": name, "in": where, "detail": detail}


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    detail = str(exc.detail)
    if status == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"no resource at {request.url.path}"
    elif status == 405 and detail == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
        allowed = (exc.headers or {}).get("Allow", "")
        detail = f"method {request.method} is not allowed here; allowed: {allowed}"
    return problem_response(Problem(status, detail, headers=exc.headers), request.url.path)


async def _on_unknown_instrument(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UnknownInstrument)
    problem = Problem(404, str(exc), type=UNKNOWN_INSTRUMENT, instruments=exc.instruments)
    return problem_response(problem, request.url.path)


async def _on_store_refusal(request: Request, exc: Exception) -> Response:
    """The store refused the request's arguments (e.g. a time outside the data span)."""
    detail = str(exc)
    if isinstance(exc, ResultTooLarge):
        detail += "; narrow the time range or request fewer instruments"
    return problem_response(Problem(422, detail, type=INVALID_PARAMETER), request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    problem = Problem(500, "an unexpected error occurred; it has been logged on the server")
    return problem_response(problem, request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(UnknownInstrument, _on_unknown_instrument)
    app.add_exception_handler(InvalidArgument, _on_store_refusal)
    app.add_exception_handler(ResultTooLarge, _on_store_refusal)
    app.add_exception_handler(Exception, _on_unexpected)
