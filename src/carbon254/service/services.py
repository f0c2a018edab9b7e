"""The seed services and their historical ports.

`carbon254 serve` mounts every built part on one port (8000). Each seed service can also
be served alone on the port it always had: ML 8006, GraphQL 8007, risk 8008, LMP 8009.
A service whose engine is not built yet is absent: asking for it is an error that says
so, never an empty stub on its port.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PORT", "SERVICES", "Service", "ServiceNotBuilt", "resolve_service"]

DEFAULT_PORT = 8000


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    port: int
    title: str
    parts: tuple[str, ...]
    """The application parts (`app.PARTS`) it mounts; empty while its engine is unbuilt."""
    lands_with: str = ""
    """Where its engine comes from, for the error when it is not built yet."""


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("ml", 8006, "price forecasts", (), "the forecasting issues"),
        Service("graphql", 8007, "GraphQL gateway", ("graphql",)),
        Service("risk", 8008, "Value-at-Risk", (), "the VaR engine issue"),
        Service("lmp", 8009, "LMP decomposition", (), "the LMP decomposition issue"),
    )
}


class ServiceNotBuilt(LookupError):
    """A known service whose engine does not exist yet, or an unknown name."""


def resolve_service(name: str) -> Service:
    """The service called `name`, refusing unknown names and unbuilt engines."""
    service = SERVICES.get(name.strip().lower())
    if service is None:
        raise ServiceNotBuilt(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
    if not service.parts:
        raise ServiceNotBuilt(
            f"the {service.name} service ({service.title}, port {service.port}) is not built "
            f"yet; its engine lands with {service.lands_with}"
        )
    return service
