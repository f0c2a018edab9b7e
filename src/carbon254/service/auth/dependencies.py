"""`require_scope(...)` and `PrincipalDep`: what a route says about who may call it.

The middleware has already refused requests without the method's scope (`read` for
GET/HEAD, `trade` for the rest); a route adds `Depends(require_scope("admin"))` when it
needs more, and reads the caller from `PrincipalDep` when it needs to know who it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ..problems import Problem
from .authenticator import Refusal
from .principal import SCOPES, Principal

__all__ = ["PrincipalDep", "current_principal", "require_scope"]


def current_principal(connection: HTTPConnection) -> Principal:
    """The request's principal (set by the auth middleware); 401 if there is none."""
    principal = connection.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        refusal = Refusal.unauthenticated("authentication required")
        raise Problem(401, refusal.detail, type=refusal.type, headers=refusal.headers)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_scope(scope: str) -> Callable[[HTTPConnection], Principal]:
    """A dependency that refuses (403, naming `scope`) a caller without `scope`, and
    returns the principal otherwise: `Depends(require_scope("admin"))`."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; scopes are {', '.join(SCOPES)}")

    def dependency(connection: HTTPConnection) -> Principal:
        principal = current_principal(connection)
        if not principal.allows(scope):
            refusal = Refusal.forbidden(scope, principal)
            raise Problem(403, refusal.detail, type=refusal.type, headers=refusal.headers)
        return principal

    dependency.__name__ = f"require_scope_{scope}"
    return dependency
