"""Typed errors: one class per thing a caller can do something about.

Every HTTP error the API returns is an RFC 9457 problem body; the error keeps it whole
(`problem`) and lifts the useful members (`detail`, `type`, `errors`, `retry_after`) onto
attributes, so callers branch on the class and read the server's own words.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "Carbon254Error",
    "GraphQLError",
    "NotFound",
    "PermissionDenied",
    "RateLimitError",
    "ServerError",
    "Timeout",
    "TransportError",
    "ValidationError",
]


class Carbon254Error(Exception):
    """Base of every error the SDK raises.

    For an HTTP error response: `status`, the problem body (`problem`, a dict; empty when
    the server sent none), its `detail`, `type` and `title`, the request's `method` and
    `url`, and the server's `X-Request-ID` when present. Other 4xx statuses (400, 405,
    406, 409, 413, ...) raise this class itself.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        problem: dict[str, Any] | None = None,
        method: str | None = None,
        url: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.problem: dict[str, Any] = dict(problem or {})
        self.method = method
        self.url = url
        self.request_id = request_id

    @property
    def detail(self) -> str | None:
        """The problem's `detail`: what the server said was wrong."""
        value = self.problem.get("detail")
        return str(value) if value is not None else None

    @property
    def type(self) -> str | None:
        """The problem's `type` URI (e.g. `urn:carbon254:problem:invalid-parameter`)."""
        value = self.problem.get("type")
        return str(value) if value is not None else None

    @property
    def title(self) -> str | None:
        value = self.problem.get("title")
        return str(value) if value is not None else None

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method and self.url else ""
        status = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{status}{self.message}{where}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors: pickling (multiprocessing, Dask) restores attributes.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[Carbon254Error], args: tuple[Any, ...], attrs: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(attrs)
    return error


class AuthenticationError(Carbon254Error):
    """401: no credentials, a bad or revoked API key, an expired or invalid token, or the
    OIDC token endpoint refused the client credentials."""


class PermissionDenied(Carbon254Error):
    """403: the credentials are valid but lack the scope the request needs."""


class NotFound(Carbon254Error):
    """404: e.g. an instrument the store has never seen (`instruments` lists them)."""

    @property
    def instruments(self) -> list[str]:
        value = self.problem.get("instruments")
        return [str(v) for v in value] if isinstance(value, list) else []


class ValidationError(Carbon254Error):
    """422: the request's parameters were refused. `errors` lists each bad parameter as
    the server reported it (`{"param": ..., "in": ..., "detail": ...}`)."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        value = self.problem.get("errors")
        return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


class RateLimitError(Carbon254Error):
    """429 after the retries ran out (or a wait longer than the client allows).

    `retry_after` is the server's `Retry-After` in seconds (None when absent).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class GraphQLError(Carbon254Error):
    """A GraphQL response with `errors` (GraphQL answers them with HTTP 200). `errors` is
    the list as sent (message, path, extensions.code); `data` what did resolve, if any."""

    def __init__(
        self,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        data: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errors = list(errors or [])
        self.data = data


class ServerError(Carbon254Error):
    """5xx after the retries ran out (502/503/504 are retried; 500 is not)."""


class TransportError(Carbon254Error):
    """No HTTP response: connection refused or reset, DNS, TLS, protocol errors.

    The httpx exception is the `__cause__`.
    """


class Timeout(TransportError):
    """Connect, read, write or pool timeout (after the retries ran out)."""
