"""`Authenticator`: a request's credential -> `Principal`, or a `Refusal` saying why not.

One per application (`app.state.auth`), built from its `Settings` and store: the API key
verifier, the OIDC verifier (when an issuer is configured) and the rate limiter.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Scope

from ...store.base import PriceStore
from ..settings import Settings
from .apikeys import ApiKeyVerifier, is_api_key
from .oidc import JwksCache, JwksUnavailable, OidcVerifier
from .principal import Principal, TokenRejected
from .ratelimit import Decision, RateLimiter

__all__ = ["REALM", "Authenticator", "Refusal"]

log = logging.getLogger("carbon254.service.auth")

REALM = "carbon254"
_PROBLEM = "urn:carbon254:problem:"


def _quoted(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


class Refusal(Exception):
    """A request refused by auth: the status, a problem detail and response headers."""

    def __init__(self, status: int, detail: str, type: str, headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.status, self.detail, self.type, self.headers = status, detail, type, headers

    @classmethod
    def unauthenticated(cls, detail: str) -> Refusal:
        """No usable credential (RFC 6750: the challenge carries no error code)."""
        challenge = f'Bearer realm="{REALM}"'
        return cls(401, detail, _PROBLEM + "unauthenticated", {"WWW-Authenticate": challenge})

    @classmethod
    def invalid(cls, detail: str) -> Refusal:
        """A credential was sent and is not acceptable."""
        challenge = (
            f'Bearer realm="{REALM}", error="invalid_token", error_description="{_quoted(detail)}"'
        )
        return cls(401, detail, _PROBLEM + "invalid-credentials", {"WWW-Authenticate": challenge})

    @classmethod
    def forbidden(cls, scope: str, principal: Principal) -> Refusal:
        have = ", ".join(sorted(principal.scopes)) or "none"
        detail = f"this request needs scope {scope!r}; the credential has: {have}"
        challenge = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
        headers = {"WWW-Authenticate": challenge}
        return cls(403, detail, _PROBLEM + "insufficient-scope", headers)

    @classmethod
    def rate_limited(cls, decision: Decision, principal: Principal) -> Refusal:
        detail = (
            f"rate limit of {decision.per_minute} requests per minute (burst {decision.burst}) "
            f"exceeded for {principal.kind} {principal.subject}; retry in "
            f"{decision.retry_after} s"
        )
        headers = {k.decode(): v.decode() for k, v in decision.headers()}
        return cls(429, detail, _PROBLEM + "rate-limited", headers)

    @classmethod
    def unavailable(cls, detail: str) -> Refusal:
        return cls(503, detail, _PROBLEM + "auth-unavailable", {"Retry-After": "5"})

    @classmethod
    def bad_request(cls, detail: str) -> Refusal:
        return cls(400, detail, _PROBLEM + "invalid-credentials", {})


class Authenticator:
    """Everything one application needs to authenticate, authorize and limit requests."""

    def __init__(self, settings: Settings, store: PriceStore) -> None:
        self.enabled = settings.auth
        self.settings = settings
        self.apikeys = ApiKeyVerifier(store)
        self.oidc: OidcVerifier | None = None
        if settings.oidc_issuer and settings.jwks_url:
            jwks = JwksCache(settings.jwks_url)
            self.oidc = OidcVerifier(settings.oidc_issuer, settings.oidc_audience, jwks)
        self.limiter = RateLimiter(
            settings.rate_limit_per_minute,
            settings.rate_limit_burst,
            redis_url=settings.redis_url,
            prefix=f"{getattr(settings, 'redis_namespace', 'c254')}:ratelimit:",
        )

    def describe(self) -> str:
        """One line for the startup log (no secrets: the issuer and backends only)."""
        tokens = (
            f"OIDC bearer tokens from {self.settings.oidc_issuer} "
            f"(aud {self.settings.oidc_audience})"
            if self.oidc
            else "no OIDC issuer (CARBON254_OIDC_ISSUER unset): API keys only"
        )
        limit = self.settings.rate_limit_per_minute
        limits = (
            f"rate limit {limit}/min burst {self.settings.rate_limit_burst} "
            f"({self.limiter.backend})"
            if limit > 0
            else "no rate limit"
        )
        return f"API keys; {tokens}; {limits}"

    async def authenticate(self, scope: Scope, headers: dict[str, str]) -> Principal:
        credential = _credential(scope, headers)
        if is_api_key(credential):
            try:
                return await self.apikeys.verify(credential)
            except TokenRejected as exc:
                raise Refusal.invalid(str(exc)) from None
            except Exception as exc:
                log.error("API key check failed: %s: %s", type(exc).__name__, exc)
                raise Refusal.unavailable("API keys cannot be checked right now") from None
        if self.oidc is None:
            raise Refusal.invalid(
                "bearer tokens are not accepted here (no OIDC issuer configured); use an API key"
            )
        try:
            return await self.oidc.verify(credential)
        except TokenRejected as exc:
            raise Refusal.invalid(str(exc)) from None
        except JwksUnavailable as exc:
            raise Refusal.unavailable(f"bearer tokens cannot be checked right now: {exc}") from None

    async def aclose(self) -> None:
        await self.limiter.aclose()


def _credential(scope: Scope, headers: dict[str, str]) -> str:
    """The one credential the request carries, or a `Refusal`."""
    bearer: str | None = None
    authorization = headers.get("authorization")
    if authorization is not None:
        kind, _, value = authorization.strip().partition(" ")
        if kind.lower() != "bearer" or not value.strip():
            raise Refusal.unauthenticated(
                "only Bearer credentials are accepted: Authorization: Bearer <token or API "
                "key>, or X-API-Key: <API key>"
            )
        bearer = value.strip()
    key = headers.get("x-api-key", "").strip() or None
    if bearer is not None and key is not None:
        raise Refusal.bad_request("send one credential: Authorization or X-API-Key, not both")
    if key is not None and not is_api_key(key):
        raise Refusal.invalid("API key is malformed (expected c254_<id>_<secret>)")
    credential: Any = bearer or key
    if credential is None and scope["type"] == "websocket":
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        credential = (query.get("access_token") or query.get("api_key") or [None])[0]
    if not credential:
        raise Refusal.unauthenticated(
            "authentication required: send Authorization: Bearer <token or API key>, "
            "or X-API-Key: <API key>"
        )
    return credential
