"""The OpenAPI document, made to tell the truth about errors and security.

FastAPI documents every error response as `application/json` and adds its own
`HTTPValidationError` shape for 422; this API answers every error with an RFC 9457
problem (`application/problem+json`). `install_openapi` rewrites the generated document
once, for every route (including ones added later), so clients and schemathesis see the
responses that are actually sent: problem bodies, and the 401/403/429 that authentication
and rate limits add to every protected operation.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .problems import PROBLEM_JSON, ProblemModel

__all__ = ["install_openapi"]

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemModel"}
_PUBLIC = ("/health", "/ready", "/metrics", "/api/v1/health")
_AUTH_RESPONSES = {
    "401": "missing, invalid or expired credentials (`WWW-Authenticate` says why)",
    "403": "the credentials lack the scope this operation needs",
    "429": "the per-key rate limit is exhausted; retry after `Retry-After` seconds",
}
_SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An OIDC access token (RS256) from the configured Keycloak realm, "
        "or an API key `c254_…` sent as a bearer token.",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def install_openapi(app: FastAPI, *, auth: bool) -> None:
    """Serve the rewritten document at `/openapi.json` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _rewrite(document, auth=auth)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite(document: dict[str, Any], *, auth: bool) -> dict[str, Any]:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.setdefault("ProblemModel", ProblemModel.model_json_schema())
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[:1] in "45":
                    _as_problem(response)
            if auth and not path.startswith(_PUBLIC):
                operation.setdefault("security", [{"bearerAuth": []}, {"apiKey": []}])
                for status, text in _AUTH_RESPONSES.items():
                    responses.setdefault(status, _problem_response(text))
    if auth:
        components.setdefault("securitySchemes", {}).update(_SECURITY_SCHEMES)
    for name in ("HTTPValidationError", "ValidationError"):
        if not _referenced(document, f"#/components/schemas/{name}"):
            schemas.pop(name, None)
    return document


def _as_problem(response: dict[str, Any]) -> None:
    """An error response documented as a problem body, whatever FastAPI put there."""
    content = response.setdefault("content", {})
    content.pop("application/json", None)
    content[PROBLEM_JSON] = {"schema": _PROBLEM_REF}
    if response.get("description") == "Validation Error":
        response["description"] = "invalid parameters (every problem listed in `errors`)"


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}


def _referenced(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_referenced(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_referenced(v, ref) for v in node)
    return False
