"""`serve --service NAME`: one seed service alone on its historical port, or a clear refusal."""

from __future__ import annotations

import pytest

from carbon254.cli import main
from carbon254.service.services import SERVICES, ServiceNotBuilt, resolve_service


def test_historical_ports() -> None:
    ports = {name: service.port for name, service in SERVICES.items()}
    assert ports == {"ml": 8006, "graphql": 8007, "risk": 8008, "lmp": 8009}


def test_graphql_is_built_and_mounts_only_graphql() -> None:
    service = resolve_service("GraphQL")
    assert service.port == 8007
    assert service.parts == ("graphql",)


@pytest.mark.parametrize("name", ["ml", "risk", "lmp"])
def test_unbuilt_engines_are_absent_not_stubbed(name: str) -> None:
    with pytest.raises(ServiceNotBuilt, match=f"the {name} service .* is not built yet"):
        resolve_service(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [("risk", "not built yet"), ("nosuch", "unknown service 'nosuch'")],
)
def test_cli_refuses_with_exit_code_2(
    name: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--service", name]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
