"""Probes. `GET /health` (and `/api/v1/health`): liveness, is the store reachable and
migrated. `GET /ready`: readiness, may this process take traffic — the store answers and
the response cache (when one is configured) answers its ping."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...store.base import PriceStore
from ..formats import JSON
from ..problems import Problem, ProblemModel
from ..state import StoreDep

__all__ = ["READY_TIMEOUT", "router"]

router = APIRouter(tags=["health"])

READY_TIMEOUT = 2.0  # seconds a dependency may take to answer a readiness probe

_EXAMPLE = {"status": "ok", "store": "duckdb", "schema_version": 1}
_READY_EXAMPLE = {
    "status": "ready",
    "store": "ok",
    "cache": "ok",
    "backends": {"store": "postgres", "cache": "redis"},
}


def _store_check(store: PriceStore) -> tuple[int, str | None]:
    """The store's schema version, and what is wrong with the store (None if nothing).
    Cheap by design: a probe must not scan the prices table."""
    try:
        version = store.schema_version()
        latest = store.latest_schema_version()
    except Exception as exc:
        return -1, f"store check failed ({type(exc).__name__})"
    if version < latest:
        return version, (
            f"store schema version {version} is behind {latest}; run `carbon254 db init`"
        )
    return version, None


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
    version, problem = _store_check(store)
    if problem is not None:
        raise Problem(503, problem)
    body = {"status": "ok", "store": store.backend, "schema_version": version}
    return Response(orjson.dumps(body), media_type=JSON)


async def _store_problem(store: PriceStore) -> str | None:
    try:
        _, problem = await asyncio.wait_for(run_in_threadpool(_store_check, store), READY_TIMEOUT)
    except TimeoutError:
        return f"store did not answer within {READY_TIMEOUT:g} s"
    return problem


async def _cache_problem(cache: Any) -> str | None:
    try:
        answered = await asyncio.wait_for(cache.ping(), READY_TIMEOUT)
    except TimeoutError:
        return f"cache did not answer its ping within {READY_TIMEOUT:g} s"
    except Exception as exc:
        return f"cache ping failed ({type(exc).__name__})"
    return None if answered else "cache ping answered false"


async def _absent() -> None:
    return None


@router.get(
    "/ready",
    summary="Readiness: store and cache reachable",
    description=(
        "200 when the store answers (and is migrated) and the response cache, if one is "
        "configured, answers its ping (`cache` is `absent` when none is); 503 with a "
        "problem body naming the dependency that failed otherwise. A load balancer takes "
        "the process out of rotation on 503; `/health` is the liveness probe."
    ),
    responses={
        200: {"content": {JSON: {"example": _READY_EXAMPLE}}},
        503: {"model": ProblemModel, "description": "the store or the cache did not answer"},
    },
)
async def ready(request: Request) -> Response:
    state = request.app.state
    store: PriceStore = state.store
    cache = getattr(state, "cache", None)
    store_problem, cache_problem = await asyncio.gather(
        _store_problem(store), _absent() if cache is None else _cache_problem(cache)
    )
    body: dict[str, Any] = {
        "store": "failed" if store_problem else "ok",
        "cache": "absent" if cache is None else "failed" if cache_problem else "ok",
        "backends": {"store": store.backend, "cache": _cache_backend(cache)},
    }
    problems = [p for p in (store_problem, cache_problem) if p]
    if problems:
        raise Problem(
            503, f"not ready: {'; '.join(problems)}", headers={"Retry-After": "5"}, **body
        )
    return Response(orjson.dumps({"status": "ready", **body}), media_type=JSON)


def _cache_backend(cache: Any) -> str | None:
    if cache is None:
        return None
    try:
        return str(cache.stats().get("backend"))
    except Exception:
        return None
