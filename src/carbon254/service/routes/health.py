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
    # Cheap by design: a probe must not scan the prices table.
    try:
        version = store.schema_version()
        latest = store.latest_schema_version()
    except Exception as exc:
        raise Problem(503, f"store check failed ({type(exc).__name__})") from exc
    if version < latest:
        raise Problem(
            503, f"store schema version {version} is behind {latest}; run `carbon254 db init`"
        )
    body = {"status": "ok", "store": store.backend, "schema_version": version}
    return Response(orjson.dumps(body), media_type=JSON)
