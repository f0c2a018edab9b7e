"""`GET /health` (for probes) and `GET /api/v1/health`: is the store reachable and migrated."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from ..formats import JSON
from ..problems import Problem, ProblemModel
from ..state import StoreDep

__all__ = ["router"]

router = APIRouter(tags=["health"])

_EXAMPLE = {"status": "ok", "store": "duckdb", "schema_version": 1}


@router.get("/health", include_in_schema=False)
@router.get(
    "/api/v1/health",
    summary="Service and store health",
    responses={
        200: {"content": {JSON: {"example": _EXAMPLE}}},
        503: {"model": ProblemModel, "description": "store unreachable or not migrated"},
    },
)
def health(store: StoreDep) -> Response:
    try:
        status = store.status()
    except Exception as exc:
        raise Problem(503, f"store check failed ({type(exc).__name__})") from exc
    if status.schema_version < status.latest_schema_version:
        raise Problem(
            503,
            f"store schema version {status.schema_version} is behind "
            f"{status.latest_schema_version}; run the migrations",
        )
    body = {"status": "ok", "store": status.backend, "schema_version": status.schema_version}
    return Response(orjson.dumps(body), media_type=JSON)
