"""Authentication, authorization scopes and per-key rate limits for the API.

`install_auth(app)` adds the middleware (`middleware.AuthMiddleware`) that gives every
request a `Principal` (`request.state.principal`): from an API key (`apikeys`), an OIDC
access token (`oidc`), or, with `CARBON254_AUTH=off`, the anonymous principal with every
scope. Routes that need more than the method's scope add `Depends(require_scope(...))`.
See docs/auth.md.
"""

from __future__ import annotations

from fastapi import FastAPI

from ._redact import install_log_redaction
from .authenticator import Authenticator
from .dependencies import PrincipalDep, current_principal, require_scope
from .middleware import AuthMiddleware
from .principal import ANONYMOUS, SCOPES, Principal

__all__ = [
    "ANONYMOUS",
    "SCOPES",
    "Authenticator",
    "Principal",
    "PrincipalDep",
    "current_principal",
    "install_auth",
    "require_scope",
]


def install_auth(app: FastAPI) -> Authenticator:
    """Authenticate every request to `app` with its settings and store
    (`app.state.settings`, `app.state.store`); the authenticator is `app.state.auth`."""
    auth = Authenticator(app.state.settings, app.state.store)
    app.state.auth = auth
    install_log_redaction()  # websocket credentials may ride in URLs, which uvicorn logs
    app.add_middleware(AuthMiddleware, auth=auth)
    return auth
