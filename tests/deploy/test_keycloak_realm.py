"""The Keycloak realm export (`deploy/keycloak/carbon254-realm.json`) says what the API
expects: roles, clients, PKCE, the audience mapper; and it carries no secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carbon254.service.auth.principal import SCOPES

REALM_FILE = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "carbon254-realm.json"


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    return json.loads(REALM_FILE.read_text())


def _client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    (client,) = [c for c in realm["clients"] if c["clientId"] == client_id]
    return client


def test_realm_and_roles(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "carbon254" and realm["enabled"]
    assert realm["defaultSignatureAlgorithm"] == "RS256"
    roles = {r["name"]: r for r in realm["roles"]["realm"]}
    assert set(roles) == set(SCOPES)
    assert roles["trade"]["composites"]["realm"] == ["read"]
    assert roles["admin"]["composites"]["realm"] == ["trade"]


def test_clients(realm: dict[str, Any]) -> None:
    api = _client(realm, "carbon254-api")
    assert api["bearerOnly"] and not api["standardFlowEnabled"]
    excel = _client(realm, "carbon254-excel")
    assert excel["publicClient"] and excel["standardFlowEnabled"]
    assert not excel["implicitFlowEnabled"] and not excel["directAccessGrantsEnabled"]
    assert excel["attributes"]["pkce.code.challenge.method"] == "S256"
    assert excel["redirectUris"] and all(u.startswith("https://") for u in excel["redirectUris"])
    sdk = _client(realm, "carbon254-sdk")
    assert not sdk["publicClient"] and sdk["serviceAccountsEnabled"]
    assert not sdk["standardFlowEnabled"]
    (account,) = [u for u in realm["users"] if u.get("serviceAccountClientId") == "carbon254-sdk"]
    assert account["realmRoles"] == ["read"]


def test_tokens_for_the_api_carry_its_audience(realm: dict[str, Any]) -> None:
    for client_id in ("carbon254-excel", "carbon254-sdk"):
        mappers = [
            m
            for m in _client(realm, client_id)["protocolMappers"]
            if m["protocolMapper"] == "oidc-audience-mapper"
        ]
        assert len(mappers) == 1, client_id
        config = mappers[0]["config"]
        assert config["included.client.audience"] == "carbon254-api"
        assert config["access.token.claim"] == "true"


def test_no_secrets(realm: dict[str, Any]) -> None:
    assert all("secret" not in client for client in realm["clients"])
    assert all("credentials" not in user for user in realm["users"])
