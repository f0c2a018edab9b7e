"""GraphQL errors: a machine-readable `extensions.code` on every error, nothing leaked.

Resolvers raise `bad_input(...)` / `not_found(...)`; store refusals map to the same codes
through `from_store_error`. `ErrorPolicy` runs last on every result: errors it does not
recognize (a bug, a dropped database connection) are logged with their traceback and
reach the client as "Unexpected error." with code INTERNAL_SERVER_ERROR; parse and
validation errors get GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED (Apollo's names,
which GraphQL clients already understand).
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.extensions import MaskErrors

from ...store.base import InvalidArgument, ResultTooLarge, StoreError, UnknownInstrument

__all__ = [
    "BAD_USER_INPUT",
    "INTERNAL",
    "NOT_FOUND",
    "PARSE_FAILED",
    "RESULT_TOO_LARGE",
    "VALIDATION_FAILED",
    "ErrorPolicy",
    "GraphQLUserError",
    "bad_input",
    "from_store_error",
    "log_errors",
    "not_found",
    "sanitize",
]

log = logging.getLogger("carbon254.service.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"
RESULT_TOO_LARGE = "RESULT_TOO_LARGE"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL = "INTERNAL_SERVER_ERROR"


class GraphQLUserError(StrawberryGraphQLError):
    """An error the client caused and can fix; its message is safe to return."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def bad_input(message: str, **extensions: Any) -> GraphQLUserError:
    return GraphQLUserError(message, BAD_USER_INPUT, **extensions)


def not_found(message: str, **extensions: Any) -> GraphQLUserError:
    return GraphQLUserError(message, NOT_FOUND, **extensions)


def from_store_error(exc: StoreError) -> GraphQLUserError | None:
    """The client-facing error for a store refusal, or None for a genuine failure."""
    if isinstance(exc, UnknownInstrument):
        return not_found(str(exc), instruments=exc.instruments)
    if isinstance(exc, ResultTooLarge):
        return GraphQLUserError(
            f"{exc}; narrow the time range, request fewer instruments, or use "
            "GET /api/v1/prices (Arrow) for bulk reads",
            RESULT_TOO_LARGE,
            maxRows=exc.max_rows,
        )
    if isinstance(exc, InvalidArgument):
        return bad_input(str(exc))
    return None


def _user_error(error: GraphQLError) -> bool:
    """Whether `error` is safe to show as is (raised on purpose, or from parse/validate)."""
    original = error.original_error
    if original is None:
        return True  # parse and validation errors, built by graphql-core itself
    return isinstance(original, GraphQLError)


def _code_for(error: GraphQLError) -> str:
    message = error.message
    if message.startswith("Syntax Error"):
        return PARSE_FAILED
    if "got invalid value" in message or "cannot represent" in message.lower():
        return BAD_USER_INPUT  # a variable or literal of the wrong shape (a bad DateTime)
    if error.path is None:
        return VALIDATION_FAILED
    return INTERNAL


def log_errors(errors: list[GraphQLError]) -> None:
    """Log unexpected errors with their traceback; client mistakes only at debug level."""
    for error in errors:
        if _user_error(error):
            log.debug("graphql client error: %s", error.message)
        else:
            original = error.original_error
            log.error(
                "graphql resolver failed at %s: %s",
                ".".join(map(str, error.path or ())) or "(operation)",
                error.message,
                exc_info=(type(original), original, original.__traceback__)
                if original is not None
                else None,
            )


_MASKED = "Unexpected error."


def sanitize(error: GraphQLError) -> GraphQLError:
    """`error` with a code, or masked as "Unexpected error." when it is not a user error."""
    if not _user_error(error):
        return GraphQLError(
            _MASKED,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL},
        )
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": _code_for(error)}
    return error


class ErrorPolicy(MaskErrors):
    """Mask unexpected errors and give every error an `extensions.code`."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [sanitize(error) for error in errors]
