"""GraphQL at `/graphql` (Strawberry): the instrument catalogue, prices as column lists,
forward curves, and live price pushes over websockets.

Modules, one job each: `schema` (query and subscription roots), `types` (catalogue
types), `columns` (Series and Curve: column lists over Arrow), `loaders` (per-request
DataLoaders, one store read per field), `inputs` (argument checks), `limits` (depth,
tokens, aliases, cost, rows), `errors` (codes and masking), `scalars` (DateTime in UTC),
`subscriptions` (live prices), `context`, `router` (the FastAPI router).
"""

from .limits import GraphQLLimits
from .router import GRAPHQL_PATH, graphql_router

__all__ = ["GRAPHQL_PATH", "GraphQLLimits", "graphql_router"]
