"""What one GraphQL operation may cost, and the extensions that enforce it.

Checked before anything runs: document size in tokens (while parsing), depth and aliases
(validation rules, cached with the validation result), and an estimated cost counted
over the selection: each field costs 1, a series or curve costs `series_cost`, and a
field's cost multiplies by how many items its list holds (`first`, or the number of ids
in `instruments`). While running: at most `max_rows_per_series` rows in any series and
`max_rows_per_request` in all of them together (the DataLoaders count).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from .errors import ErrorPolicy, GraphQLUserError, log

__all__ = [
    "DEFAULT_FIRST",
    "QUERY_TOO_COMPLEX",
    "GraphQLLimits",
    "estimate_cost",
    "limit_extensions",
]

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
DEFAULT_FIRST = 100
"""Page size of `instruments` when `first` is not given."""
_COSTLY_TYPES = frozenset({"Series", "Curve"})


@dataclass(frozen=True, slots=True)
class GraphQLLimits:
    """Per-operation limits; `app.state.graphql_limits` overrides the defaults."""

    max_depth: int = 8
    max_tokens: int = 2_000
    max_aliases: int = 30
    max_cost: int = 10_000
    series_cost: int = 25
    max_first: int = 1_000
    max_rows_per_series: int = 100_000
    max_rows_per_request: int = 1_000_000
    cache_size: int = 256
    """Distinct documents kept parsed and validated."""


@cache
def _rules(max_depth: int, max_aliases: int) -> tuple[type, ...]:
    """Rule classes built once, so the validation cache sees the same rules each time."""
    return (depth_rule(max_depth, None, None), aliases_rule(max_aliases))


class _ShapeRules(AddValidationRules):
    def __init__(self, limits: GraphQLLimits) -> None:
        super().__init__(list(_rules(limits.max_depth, limits.max_aliases)))


class _ParserCache(ParserCache):
    """Strawberry's parser cache, except that a document that fails to parse is left to
    Strawberry's own parse, which reports the error in the result (through ErrorPolicy);
    raised from here it would skip the operation hooks and reach the client uncoded."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


class _CostLimiter(SchemaExtension):
    """Refuse an operation whose estimated cost exceeds `max_cost`, before it runs.

    Runs at execution (not as a validation rule) because `first: $n` needs the variables.
    """

    def __init__(self, limits: GraphQLLimits) -> None:
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            try:
                cost = estimate_cost(
                    context.schema._schema,
                    context.graphql_document.definitions,
                    context.operation_name,
                    context.variables or {},
                    self.limits,
                )
            except Exception:  # a bug here must not turn every query into an error
                log.exception("graphql cost estimate failed; the operation runs unpriced")
                cost = 0
            if cost > self.limits.max_cost:
                raise GraphQLUserError(
                    f"query cost {cost:,} exceeds the limit of {self.limits.max_cost:,}: "
                    "lower `first`, request fewer instruments or series, or split the query "
                    f"(each field costs 1, each series or curve {self.limits.series_cost}, "
                    "multiplied by the list sizes above it)",
                    QUERY_TOO_COMPLEX,
                    cost=cost,
                    maxCost=self.limits.max_cost,
                )
        yield


def limit_extensions(limits: GraphQLLimits) -> list[Callable[[], SchemaExtension]]:
    """Extension factories for `strawberry.Schema(extensions=...)`, in running order."""
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: _ParserCache(maxsize=limits.cache_size),
        lambda: _ShapeRules(limits),
        lambda: ValidationCache(maxsize=limits.cache_size),
        lambda: _CostLimiter(limits),
        ErrorPolicy,
    ]


def estimate_cost(
    schema: GraphQLSchema,
    definitions: Any,
    operation_name: str | None,
    variables: Mapping[str, Any],
    limits: GraphQLLimits,
) -> int:
    """The cost of the operation that would run (0 if there is none to pick)."""
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return 0  # graphql-core reports the ambiguity itself
    operation = operations[0]
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    walker = _Walker(schema, fragments, variables, limits)
    return walker.cost(operation.selection_set, root, frozenset()) if root else 0


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limits: GraphQLLimits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits

    def cost(
        self, selections: SelectionSetNode, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> int:
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += self._field(node, parent, seen)
            elif isinstance(node, InlineFragmentNode):
                kind = self._type(node.type_condition.name.value if node.type_condition else None)
                total += self.cost(node.selection_set, kind or parent, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    kind = self._type(fragment.type_condition.name.value) or parent
                    total += self.cost(fragment.selection_set, kind, seen | {name})
        return total

    def _type(self, name: str | None) -> GraphQLNamedType | None:
        return self.schema.get_type(name) if name else None

    def _field(self, node: FieldNode, parent: GraphQLNamedType, seen: frozenset[str]) -> int:
        definition = _field_definition(parent, node.name.value)
        if definition is None:
            return 0  # validation rejects unknown fields; __typename is free
        named = get_named_type(definition.type)
        own = self.limits.series_cost if named.name in _COSTLY_TYPES else 1
        below = self.cost(node.selection_set, named, seen) if node.selection_set else 0
        return self._multiplier(node, definition) * (own + below)

    def _multiplier(self, node: FieldNode, definition: GraphQLField) -> int:
        arguments = {a.name.value: a.value for a in node.arguments or ()}
        if "first" in definition.args:
            default = definition.args["first"].default_value
            first = self._value(arguments.get("first"), default)
            return max(1, first if isinstance(first, int) else DEFAULT_FIRST)
        if "instruments" in definition.args:
            ids = self._value(arguments.get("instruments"), None)
            return max(1, len(ids) if isinstance(ids, list) else 1)
        return 1

    def _value(self, node: Any, default: Any) -> Any:
        if node is None:
            return default
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value, default)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return default


def _field_definition(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    """The schema field `name` of `parent` (None for __typename and unknown names)."""
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None
