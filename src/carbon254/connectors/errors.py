"""Typed connector failures. Each names the dataset and says what was wrong.

A connector raises these instead of returning partial data, so the caller can store
nothing and retry later: a failed fetch or parse never reaches the store.
"""

from __future__ import annotations

__all__ = [
    "ConnectorError",
    "FetchError",
    "MissingCredentials",
    "NoData",
    "PayloadError",
    "RateLimited",
]


class ConnectorError(RuntimeError):
    """Base of every connector failure; `dataset` names the dataset it happened in."""

    def __init__(self, dataset: str, message: str) -> None:
        super().__init__(f"{dataset}: {message}")
        self.dataset = dataset
        self.reason = message


class MissingCredentials(ConnectorError):
    """An environment variable the dataset's auth needs is not set (its value is never shown)."""


class FetchError(ConnectorError):
    """The upstream could not be reached or kept failing after every retry."""

    def __init__(self, dataset: str, message: str, *, status: int | None = None) -> None:
        super().__init__(dataset, message)
        self.status = status


class RateLimited(FetchError):
    """HTTP 429 on the last attempt; `retry_after` is the server's hint in seconds."""

    def __init__(self, dataset: str, message: str, *, retry_after: float | None) -> None:
        super().__init__(dataset, message, status=429)
        self.retry_after = retry_after


class PayloadError(ConnectorError):
    """The bytes are not the data we asked for: an HTML error page, an empty body, a
    truncated zip, missing or unknown columns, unparseable values."""


class NoData(ConnectorError):
    """The upstream answered correctly but has nothing for the requested window yet."""
