"""The column-list fast path gives exactly what graphql-core gives, errors included."""

from __future__ import annotations

import asyncio

import pytest
import strawberry

from carbon254.service.graphql.execution import ColumnExecutionContext


@strawberry.type(name="Series")
class _Columns:
    floats: list[float | None]
    strict: list[float]
    ids: list[strawberry.ID]


def _run(floats: list, strict: list, execution_context_class: type | None) -> dict:
    @strawberry.type
    class Query:
        @strawberry.field
        def series(self) -> _Columns:
            return _Columns(floats=floats, strict=strict, ids=["a", "b"])

    schema = strawberry.Schema(Query, execution_context_class=execution_context_class)
    result = asyncio.run(schema.execute("{ series { floats strict ids } }"))
    errors = [(e.message, e.path) for e in result.errors or ()]
    return {"data": result.data, "errors": errors}


@pytest.mark.parametrize(
    ("floats", "strict"),
    [
        ([1.5, None, 3], [1.0, 2.0]),  # ints serialize as floats
        ([1.0], [1.0, None]),  # a null in a non-null list: graphql-core's error and path
        ([float("nan")], [1.0]),  # a value Float rejects: graphql-core's error
        ([], []),
    ],
)
def test_fast_path_matches_graphql_core(floats: list, strict: list) -> None:
    plain = _run(floats, strict, None)
    fast = _run(floats, strict, ColumnExecutionContext)
    assert fast == plain


def test_fast_path_is_taken_for_clean_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    base = ColumnExecutionContext.__mro__[1]
    original = base.complete_iterable_value
    slow: list[str] = []

    def spy(self, item_type, fields, info, path, items, position):  # type: ignore[no-untyped-def]
        slow.append(info.field_name)
        return original(self, item_type, fields, info, path, items, position)

    monkeypatch.setattr(base, "complete_iterable_value", spy)
    assert _run([1.0, None], [2.0], ColumnExecutionContext)["errors"] == []
    assert slow == []
    _run([1.0], [None], ColumnExecutionContext)
    assert slow == ["strict"]
