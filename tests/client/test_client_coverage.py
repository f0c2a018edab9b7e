"""Every operation the API documents has an SDK method, on both clients: a route that
lands without one fails here until the SDK gets it."""

from __future__ import annotations

import inspect

import carbon254
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

SDK_METHODS = {
    ("GET", "/api/v1/health"): "health",
    ("GET", "/ready"): "ready",
    ("GET", "/api/v1/prices"): "prices",  # and iter_pages
    ("GET", "/api/v1/prices/latest"): "latest",
    ("GET", "/api/v1/spreads"): "spreads",
    ("GET", "/api/v1/instruments"): "instruments",
    ("GET", "/api/v1/locations"): "locations",
    ("GET", "/api/v1/quality/completeness"): "completeness",
    ("GET", "/api/v1/batches"): "batches",
    ("GET", "/api/v1/jobs"): "jobs",
    ("GET", "/api/v1/curves"): "curves",
    ("GET", "/api/v1/curves/{instrument}"): "curve",
    ("GET", "/api/v1/curves/{instrument}/marks"): "marks",
    ("POST", "/api/v1/curves/{instrument}/marks"): "upload_marks",
}
# Parameters the SDK takes under another name, or handles itself.
RENAMED = {("/api/v1/locations", "type"): "location_type", ("/api/v1/prices", "limit"): "page_size"}
HANDLED = {"format", "cursor", "instrument"}  # Accept header; pages; the path


def test_every_documented_operation_has_a_method(sdk_store: PriceStore) -> None:
    document = create_app(sdk_store, settings=Settings(auth=False)).openapi()
    operations = {
        (method.upper(), path): [p["name"] for p in op.get("parameters", [])]
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }
    assert set(operations) == set(SDK_METHODS)
    for (method, path), params in operations.items():
        name = SDK_METHODS[(method, path)]
        for cls in (carbon254.Client, carbon254.AsyncClient):
            accepted = set(inspect.signature(getattr(cls, name)).parameters)
            for param in params:
                if param in HANDLED:
                    continue
                sdk_name = RENAMED.get((path, param), param)
                assert sdk_name in accepted, f"{cls.__name__}.{name} lacks {param!r}"


def test_both_clients_have_the_same_methods_and_signatures() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_") and name not in ("close", "aclose")
        }

    sync, asynchronous = public(carbon254.Client), public(carbon254.AsyncClient)
    assert sync.keys() == asynchronous.keys()
    for name, signature in sync.items():
        assert list(signature.parameters) == list(asynchronous[name].parameters), name
        if name != "iter_pages":
            assert inspect.iscoroutinefunction(getattr(carbon254.AsyncClient, name)), name
    assert inspect.isasyncgenfunction(carbon254.AsyncClient.iter_pages)
