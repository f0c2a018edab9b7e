"""The per-request GraphQL context: the store, the limits, fresh DataLoaders, the caller.

Built by the router for every HTTP request and once per websocket connection. What the
auth middleware put on `request.state.principal` is passed along (None without auth);
GraphQL itself checks nothing: the middleware has already refused what it must.
"""

from __future__ import annotations

from typing import Any

from strawberry.fastapi import BaseContext

from ...ingest.events import ChangeFeed
from ...store.base import PriceStore
from ..params import Limits
from .limits import GraphQLLimits
from .loaders import Loaders, RowBudget, make_loaders

__all__ = ["GraphQLContext"]


class GraphQLContext(BaseContext):
    """What resolvers see as `info.context`."""

    def __init__(
        self,
        store: PriceStore,
        limits: Limits,
        graphql_limits: GraphQLLimits,
        changes: ChangeFeed | None,
        principal: Any = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.limits = limits
        self.graphql_limits = graphql_limits
        self.changes = changes
        self.principal = principal
        budget = RowBudget(
            total=min(limits.max_rows, graphql_limits.max_rows_per_request),
            per_series=graphql_limits.max_rows_per_series,
        )
        self.loaders: Loaders = make_loaders(store, budget)
