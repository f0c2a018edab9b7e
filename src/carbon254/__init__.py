"""carbon254: North American power-market data and analytics.

`import carbon254` stays light: it loads the core vocabulary only, never the server. The
SDK (`carbon254.Client`, `carbon254.AsyncClient`, the errors) loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core import InstrumentId, Iso, LocationType, Market, Product

if TYPE_CHECKING:
    from .client import (
        AsyncClient,
        AuthenticationError,
        Carbon254Error,
        Client,
        GraphQLError,
        NotFound,
        PermissionDenied,
        RateLimitError,
        ServerError,
        Timeout,
        TransportError,
        ValidationError,
    )

__version__ = "0.1.0"

_SDK = (
    "AsyncClient",
    "AuthenticationError",
    "Carbon254Error",
    "Client",
    "GraphQLError",
    "NotFound",
    "PermissionDenied",
    "RateLimitError",
    "ServerError",
    "Timeout",
    "TransportError",
    "ValidationError",
)

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "Carbon254Error",
    "Client",
    "GraphQLError",
    "InstrumentId",
    "Iso",
    "LocationType",
    "Market",
    "NotFound",
    "PermissionDenied",
    "Product",
    "RateLimitError",
    "ServerError",
    "Timeout",
    "TransportError",
    "ValidationError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The SDK (httpx, pydantic) loads when first touched, not on `import carbon254`.
    if name in _SDK or name == "client":
        # import_module, not `from . import client`: that asks this hook for `client` again.
        client = importlib.import_module(f"{__name__}.client")
        return client if name == "client" else getattr(client, name)
    raise AttributeError(f"module 'carbon254' has no attribute {name!r}")
