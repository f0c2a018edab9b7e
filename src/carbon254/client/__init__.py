"""The carbon254 SDK: `Client` and `AsyncClient` over httpx (imports only `core/`)."""

from ._async import AsyncClient
from ._auth import ApiKey, ClientCredentials
from ._retry import RetryPolicy
from ._sync import Client
from .errors import (
    AuthenticationError,
    Carbon254Error,
    GraphQLError,
    NotFound,
    PermissionDenied,
    RateLimitError,
    ServerError,
    Timeout,
    TransportError,
    ValidationError,
)
from .frames import Frame, PriceFrame, Rows

__all__ = [
    "ApiKey",
    "AsyncClient",
    "AuthenticationError",
    "Carbon254Error",
    "Client",
    "ClientCredentials",
    "Frame",
    "GraphQLError",
    "NotFound",
    "PermissionDenied",
    "PriceFrame",
    "RateLimitError",
    "RetryPolicy",
    "Rows",
    "ServerError",
    "Timeout",
    "TransportError",
    "ValidationError",
]
