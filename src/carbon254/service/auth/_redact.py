"""Credentials out of the server's request log lines.

A websocket may carry its credential in the URL (`?access_token=`, `?api_key=`: browsers
cannot set headers on one), and uvicorn logs every websocket's URL with its query
(`"WebSocket /graphql?access_token=..." [accepted]`, at INFO) and, in its access log,
every HTTP request's. This filter blanks those parameters' values in the records of
uvicorn's loggers before any handler formats them.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

__all__ = ["install_log_redaction", "redact_query"]

_SECRET_PARAMS = frozenset({"access_token", "api_key"})
_SERVER_LOGGERS = ("uvicorn.error", "uvicorn.access")


def redact_query(text: str) -> str:
    """`text` with the value of every credential parameter of its query replaced by `***`
    (a name is matched as the server decodes it: `api%5Fkey` is `api_key`)."""
    path, sep, query = text.partition("?")
    if not sep:
        return text
    pairs = []
    for pair in query.split("&"):
        name, eq, _ = pair.partition("=")
        if eq and unquote_plus(name).lower() in _SECRET_PARAMS:
            pair = f"{name}=***"
        pairs.append(pair)
    return f"{path}?{'&'.join(pairs)}"


class _RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and "?" in a for a in args):
            record.args = tuple(
                redact_query(a) if isinstance(a, str) and "?" in a else a for a in args
            )
        return True


_FILTER = _RedactCredentials()


def install_log_redaction() -> None:
    """Add the filter to uvicorn's loggers (once per process; idempotent)."""
    for name in _SERVER_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
