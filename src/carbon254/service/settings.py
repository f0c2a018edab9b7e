"""`Settings`: how one API process is configured, read once from the environment.

Every part of the service (auth, cache, rate limits) takes its configuration from here,
so `create_app(store, settings=Settings(...))` in a test and `carbon254 serve` in
production build the same application from different inputs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Settings"]


def _flag_off(value: str | None) -> bool:
    return (value or "").strip().lower() in ("off", "0", "false", "no", "disabled")


@dataclass(frozen=True, slots=True)
class Settings:
    """Service configuration. `Settings.from_env()` is what `carbon254 serve` uses."""

    # -- auth (service/auth) -------------------------------------------------------
    auth: bool = True
    """False only for the embedded demo (`CARBON254_AUTH=off`); logged loudly at start."""
    oidc_issuer: str | None = None
    """e.g. `https://sso.example.com/realms/carbon254`; None disables bearer tokens."""
    oidc_audience: str = "carbon254-api"
    oidc_jwks_url: str | None = None
    """Default: `{issuer}/protocol/openid-connect/certs` (Keycloak's layout)."""
    rate_limit_per_minute: int = 600
    """Sustained requests per minute per API key or token subject."""
    rate_limit_burst: int = 120

    # -- cache (service/cache) -----------------------------------------------------
    redis_url: str | None = None
    """`redis://`, `rediss://`, `redis+sentinel://` or `redis+cluster://`; None: in-process LRU."""
    redis_namespace: str = "c254"
    """Prefix of every Redis key and channel (cache and change feed), so environments
    can share one Redis."""
    cache_max_bytes: int = 256 * 2**20
    """Size of the in-process LRU (ignored with Redis)."""
    cache_ttl_seconds: int = 24 * 3600
    """TTL of cached history (closed intervals)."""
    cache_live_ttl_seconds: int = 60
    """TTL of responses that reach into the live tail (recent or open intervals)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()

        def _int(name: str, default: int) -> int:
            raw = env.get(name)
            return int(raw) if raw not in (None, "") else default

        issuer = env.get("CARBON254_OIDC_ISSUER") or None
        return cls(
            auth=not _flag_off(env.get("CARBON254_AUTH")),
            oidc_issuer=issuer.rstrip("/") if issuer else None,
            oidc_audience=env.get("CARBON254_OIDC_AUDIENCE") or defaults.oidc_audience,
            oidc_jwks_url=env.get("CARBON254_OIDC_JWKS_URL") or None,
            rate_limit_per_minute=_int(
                "CARBON254_RATE_LIMIT_PER_MINUTE", defaults.rate_limit_per_minute
            ),
            rate_limit_burst=_int("CARBON254_RATE_LIMIT_BURST", defaults.rate_limit_burst),
            redis_url=env.get("CARBON254_REDIS_URL") or None,
            redis_namespace=env.get("CARBON254_REDIS_NAMESPACE") or defaults.redis_namespace,
            cache_max_bytes=_int("CARBON254_CACHE_MAX_BYTES", defaults.cache_max_bytes),
            cache_ttl_seconds=_int("CARBON254_CACHE_TTL", defaults.cache_ttl_seconds),
            cache_live_ttl_seconds=_int(
                "CARBON254_CACHE_LIVE_TTL", defaults.cache_live_ttl_seconds
            ),
        )

    @property
    def jwks_url(self) -> str | None:
        if self.oidc_jwks_url:
            return self.oidc_jwks_url
        if self.oidc_issuer:
            return f"{self.oidc_issuer}/protocol/openid-connect/certs"
        return None
