"""The middleware as a whole: what is open, how credentials are sent and refused (HTTP
and websockets), and demo mode (auth off), through live servers."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from carbon254.service import create_app
from carbon254.service.auth import require_scope
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ..service_helpers import day_prices
from .auth_helpers import IdP, add_probe_routes

PROBE = "/api/v1/_probe"
WS_PROBE = "/api/v1/_ws_probe"


def test_exempt_paths_need_no_credentials(serve: Callable) -> None:
    _, base = serve()
    for path in ("/health", "/api/v1/health", "/openapi.json", "/docs", "/redoc"):
        assert httpx.get(f"{base}{path}").status_code == 200, path
    for path in ("/metrics", "/ready", "/docs/oauth2-redirect"):  # open, present or not
        assert httpx.get(f"{base}{path}").status_code != 401, path
    for path in (PROBE, "/api/v1/instruments", "/api/v1/healthz", "/healthcheck", "/docsx"):
        response = httpx.get(f"{base}{path}")
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == 'Bearer realm="carbon254"'
        assert response.json()["status"] == 401 and "authentication required" in response.text


def test_graphiql_page_is_open_but_queries_are_not(serve: Callable, new_key: Callable) -> None:
    _, base = serve(parts=("rest", "graphql"))
    page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    query = {"query": "{ __typename }"}
    assert (
        httpx.get(f"{base}/graphql", params=query, headers={"Accept": "text/html"}).status_code
        == 401
    )
    assert httpx.get(f"{base}/graphql", params=query).status_code == 401
    assert httpx.post(f"{base}/graphql", json=query).status_code == 401
    reader = {"X-API-Key": new_key("read")}  # a query by POST needs `read`, not `trade`
    response = httpx.post(f"{base}/graphql", json=query, headers=reader)
    assert response.status_code == 200 and response.json()["data"] == {"__typename": "Query"}


def test_credentials_sent_wrongly(serve: Callable, new_key: Callable) -> None:
    _, base = serve()
    key = new_key("read")
    both = {"X-API-Key": key, "Authorization": f"Bearer {key}"}
    response = httpx.get(f"{base}{PROBE}", headers=both)
    assert response.status_code == 400 and "not both" in response.json()["detail"]
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Token abc", key):
        response = httpx.get(f"{base}{PROBE}", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.headers["www-authenticate"] == 'Bearer realm="carbon254"'
    # Query parameters are for websockets only: a URL is logged, a header is not.
    assert httpx.get(f"{base}{PROBE}", params={"api_key": key}).status_code == 401


def _ws(base: str, path: str = WS_PROBE, **kwargs: object) -> dict:
    with connect(base.replace("http://", "ws://") + path, open_timeout=5, **kwargs) as ws:
        return json.loads(ws.recv(timeout=5))


def _ws_refused(base: str, path: str = WS_PROBE, **kwargs: object) -> tuple[int, str]:
    url = base.replace("http://", "ws://") + path
    with connect(url, open_timeout=5, **kwargs) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_websockets(serve: Callable, new_key: Callable, idp: IdP) -> None:
    _, base = serve()
    key = new_key("read")
    assert _ws(base, additional_headers={"X-API-Key": key})["kind"] == "apikey"
    assert _ws(base, f"{WS_PROBE}?api_key={key}")["kind"] == "apikey"
    token = idp.token(("read",), sub="ws-user")
    assert _ws(base, f"{WS_PROBE}?access_token={token}")["subject"] == "ws-user"
    code, reason = _ws_refused(base)
    assert code == 4401 and "authentication required" in reason
    code, reason = _ws_refused(base, f"{WS_PROBE}?access_token={idp.token(exp=1)}")
    assert code == 4401 and "expired" in reason
    code, reason = _ws_refused(base, f"{WS_PROBE}?access_token={idp.token(())}")
    assert code == 4403 and "'read'" in reason
    # A refused graphql-transport-ws client gets its subprotocol, then the close code.
    code, _ = _ws_refused(base, subprotocols=["graphql-transport-ws"])
    assert code == 4401


def test_websocket_rate_limit(serve: Callable, new_key: Callable) -> None:
    _, base = serve(rate_limit_per_minute=60, rate_limit_burst=1)
    key = new_key("read")
    assert _ws(base, f"{WS_PROBE}?api_key={key}")["kind"] == "apikey"
    code, reason = _ws_refused(base, f"{WS_PROBE}?api_key={key}")
    assert code == 4429 and "rate limit" in reason


def test_auth_off_is_anonymous_with_every_scope_and_says_so(
    store: PriceStore, live_server: Callable[[FastAPI], str], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(store, settings=Settings(auth=False), parts=("rest",))
    add_probe_routes(app)
    with caplog.at_level(logging.WARNING, logger="carbon254.service.auth"):
        base = live_server(app)
    banner = [r for r in caplog.records if "authentication is OFF" in r.getMessage()]
    assert len(banner) == 1 and banner[0].levelno == logging.WARNING
    assert "CARBON254_AUTH=off): demo only" in banner[0].getMessage()
    body = httpx.get(f"{base}/api/v1/_admin_probe").json()
    assert body == {
        "subject": "anonymous", "kind": "anonymous", "scopes": ["admin", "read", "trade"],
        "name": None,
    }  # fmt: skip
    assert httpx.post(f"{base}{PROBE}").status_code == 200
    assert "ratelimit-limit" not in httpx.get(f"{base}{PROBE}").headers
    assert _ws(base)["kind"] == "anonymous"


def test_auth_on_logs_what_it_accepts(
    serve: Callable, caplog: pytest.LogCaptureFixture, idp: IdP
) -> None:
    with caplog.at_level(logging.INFO, logger="carbon254.service.auth"):
        serve()
    lines = [r.getMessage() for r in caplog.records if r.name == "carbon254.service.auth"]
    assert any(f"OIDC bearer tokens from {idp.issuer}" in line for line in lines)
    assert not any("OFF" in line for line in lines)


def test_require_scope_names_only_known_scopes() -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        require_scope("superuser")


def test_credentials_in_a_websocket_url_never_reach_the_server_log(
    serve: Callable, new_key: Callable, idp: IdP
) -> None:
    """uvicorn logs each websocket's URL with its query (`"WebSocket /path?..." [accepted]`,
    at INFO: the level `carbon254 serve` runs at); the credential in it must not appear."""
    _, base = serve()
    key, token = new_key("read"), idp.token(("read",), sub="ws-user")
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    server_log = logging.getLogger("uvicorn.error")
    level = server_log.level
    server_log.addHandler(handler)
    server_log.setLevel(logging.INFO)
    try:
        assert _ws(base, f"{WS_PROBE}?access_token={token}")["subject"] == "ws-user"
        assert _ws(base, f"{WS_PROBE}?x=1&api%5Fkey={key}")["kind"] == "apikey"
        assert _ws_refused(base, f"{WS_PROBE}?api_key={key[:-2]}xx")[0] == 4401
    finally:
        server_log.removeHandler(handler)
        server_log.setLevel(level)
    requests = [line for line in lines if '"WebSocket ' in line]
    assert len(requests) == 3, lines
    assert not any(token in line or key[:-2] in line for line in lines), requests
    assert f'"WebSocket {WS_PROBE}?access_token=***"' in requests[0]
    assert "?x=1&api%5Fkey=***" in requests[1]


def test_a_cached_answer_is_served_only_past_auth(
    serve: Callable, new_key: Callable, idp: IdP, store: PriceStore
) -> None:
    """The response cache sits inside auth: once an answer is cached, a request without
    credentials, with bad ones, or without the scope still gets its 401/403, never it."""
    node = "PJM.RT5.LMP.51288"
    store.upsert_prices(day_prices(node, date(2025, 10, 15)), source="test")
    _, base = serve()
    url = f"{base}/api/v1/prices?instruments={node}&start=2025-10-15T04:00Z&end=2025-10-16T04:00Z"
    reader = {"X-API-Key": new_key("read")}
    assert [httpx.get(url, headers=reader).headers["x-cache"] for _ in range(2)] == ["miss", "hit"]
    refused = {
        401: [{}, {"X-API-Key": "c254_aaaaaaaa_" + "b" * 43}, {"Authorization": "Bearer x.y.z"}],
        403: [{"Authorization": f"Bearer {idp.token(())}"}],
    }
    for status, attempts in refused.items():
        for headers in attempts:
            response = httpx.get(url, headers=headers)
            assert response.status_code == status, headers
            assert "x-cache" not in response.headers and "columns" not in response.text
