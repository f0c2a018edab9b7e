"""Fixtures for auth tests: the loopback IdP, a live app with auth on, API keys, Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from carbon254.service import create_app
from carbon254.service.auth.apikeys import create_key
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ...conftest import missing
from .auth_helpers import IdP, add_probe_routes, serve_idp

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def idp() -> Iterator[IdP]:
    with serve_idp() as provider:
        yield provider


@pytest.fixture
def build_app(store: PriceStore, idp: IdP) -> Callable[..., FastAPI]:
    """`build_app(**settings)`: an app with auth on, trusting `idp`, with probe routes."""

    def build(parts: tuple[str, ...] = ("rest",), **overrides: Any) -> FastAPI:
        options: dict[str, Any] = {
            "auth": True,
            "oidc_issuer": idp.issuer,
            "oidc_jwks_url": idp.jwks_url,
            "rate_limit_per_minute": 6000,
            "rate_limit_burst": 1000,
        }
        app = create_app(store, settings=Settings(**(options | overrides)), parts=parts)
        add_probe_routes(app)
        return app

    return build


@pytest.fixture
def serve(
    build_app: Callable[..., FastAPI], live_server: Callable[[FastAPI], str]
) -> Callable[..., tuple[FastAPI, str]]:
    """`serve(**settings)` -> (app, base URL) of a live server."""

    def start(parts: tuple[str, ...] = ("rest",), **overrides: Any) -> tuple[FastAPI, str]:
        app = build_app(parts, **overrides)
        return app, live_server(app)

    return start


@pytest.fixture
def new_key(store: PriceStore) -> Callable[..., str]:
    """`new_key("read", "trade", rate_limit_per_minute=...)` -> the whole key."""

    def make(*scopes: str, **kwargs: Any) -> str:
        return create_key(store, "test key", list(scopes) or ["read"], **kwargs)[1]

    return make


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis server, or skip (fail under CARBON254_REQUIRE_SERVICES=1)."""
    try:
        import redis
    except ImportError:
        missing("Redis", "redis-py is not installed", "CARBON254_REQUIRE_SERVICES")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        missing("Redis", f"{REDIS_URL}: {exc}", "CARBON254_REQUIRE_SERVICES")
    return REDIS_URL
