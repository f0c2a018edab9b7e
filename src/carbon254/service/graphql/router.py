"""`graphql_router()`: Strawberry's FastAPI router at `/graphql`, wired to `app.state`.

GET from a browser serves GraphiQL; GET/POST with a query execute it; websockets speak
graphql-transport-ws and the older graphql-ws for subscriptions. GraphQL errors come
back as `errors[]` with HTTP 200 (Strawberry's behaviour); requests that are not GraphQL
at all (a body that is not JSON, no query) get an RFC 9457 problem, like the REST API.
The routes stay out of the OpenAPI document: GraphQL describes itself (introspection).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cross_web import HTTPException
from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from ..problems import Problem
from .context import GraphQLContext
from .errors import sanitize
from .limits import GraphQLLimits
from .schema import build_schema

__all__ = ["GRAPHQL_PATH", "graphql_router"]

GRAPHQL_PATH = "/graphql"


class _Router(GraphQLRouter):
    async def process_result(self, request: Any, result: ExecutionResult) -> Any:
        """Errors raised outside the operation hooks (an extension failing before
        execution) pass `ErrorPolicy` by; code or mask them here too."""
        if result.errors:
            result.errors = [sanitize(error) for error in result.errors]
        return await super().process_result(request, result)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as exc:  # not a GraphQL request: answer as the REST API does
            detail = exc.reason
            if detail.startswith("subscriptions are not allowed"):
                detail = (
                    f"{detail}: subscriptions run over a websocket at {GRAPHQL_PATH} "
                    "(subprotocol graphql-transport-ws or graphql-ws)"
                )
            raise Problem(exc.status_code, detail) from None


def _context_getter(
    limits: GraphQLLimits,
) -> Callable[[HTTPConnection], Awaitable[GraphQLContext]]:
    async def get_context(connection: HTTPConnection) -> GraphQLContext:
        """A fresh context per HTTP request or websocket connection, from `app.state`
        (async: a sync dependency would cost a worker-thread hop per request)."""
        state = connection.app.state
        return GraphQLContext(
            store=state.store,
            limits=state.limits,
            graphql_limits=limits,
            changes=getattr(state, "changes", None),
            principal=getattr(connection.state, "principal", None),
        )

    return get_context


def graphql_router(limits: GraphQLLimits | None = None, path: str = GRAPHQL_PATH) -> GraphQLRouter:
    """The `/graphql` router; mount with `app.include_router(graphql_router())`."""
    limits = limits or GraphQLLimits()
    return _Router(
        build_schema(limits),
        path=path,
        graphql_ide="graphiql",
        context_getter=_context_getter(limits),
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        include_in_schema=False,
    )
