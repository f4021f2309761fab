"""Plans: what to run for each selection set of an operation, compiled once per document and directive values.

A plan holds no variable values except those deciding @skip/@include (they are part of its cache key) and
never a result: arguments are read per execution.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    visit,
)
from graphql.execution.collect_fields import FieldDetails, collect_fields, collect_subfields
from graphql.execution.values import VariableValues
from strawberry.types.field import StrawberryField

from gateway.engine.batch import BatchForm, batch_form

STRAWBERRY_DEFINITION: Final = "strawberry-definition"
TYPENAME_TYPE: Final = GraphQLNonNull(GraphQLString)
TYPENAME: Final = "__typename"
# Directives whose values select fields; their variables are part of a plan's key.
CONDITIONS: Final = frozenset({"skip", "include"})
INCREMENTAL: Final = frozenset({"defer", "stream"})
PLAN_CACHE_SIZE: Final = 512

K = TypeVar("K")
V = TypeVar("V")


class Fallback(Exception):
    """The operation uses something the engine leaves to graphql-core."""


class FieldKind(enum.Enum):
    TYPENAME = "typename"
    ATTRIBUTE = "attribute"
    RESOLVER = "resolver"
    BATCH = "batch"


@dataclass(eq=False)
class FieldPlan:
    """One response key of a selection set: how to get its value and what it returns."""

    key: str
    name: str
    details: list[FieldDetails]
    parent_type: GraphQLObjectType
    definition: GraphQLField | None
    return_type: GraphQLOutputType
    kind: FieldKind
    attribute: str = ""
    strawberry: StrawberryField | None = None
    batch: BatchForm | None = None
    has_arguments: bool = False
    # Sub-selections by the concrete object type they run on, planned when first met.
    children: dict[str, SelectionPlan] = field(default_factory=dict)

    @property
    def nodes(self) -> list[FieldNode]:
        return [d.node for d in self.details]


@dataclass(eq=False)
class SelectionPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan]


@dataclass(eq=False)
class OperationPlan:
    operation: OperationDefinitionNode
    root: SelectionPlan


@dataclass(frozen=True)
class DocumentFacts:
    """What a document needs decided before it is planned."""

    condition_variables: frozenset[str]
    incremental: bool


def document_facts(document: DocumentNode) -> DocumentFacts:
    variables: set[str] = set()
    incremental = False

    class _Scan(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            nonlocal incremental
            name = node.name.value
            if name in INCREMENTAL:
                incremental = True
            if name in CONDITIONS:
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        variables.add(argument.value.name.value)

    visit(document, _Scan())
    return DocumentFacts(frozenset(variables), incremental)


class Planner:
    """Builds the plans of one (document, operation, directive values) and their sub-selections on demand.

    It keeps the schema, the document's fragments and operation, and the values of the variables that
    @skip/@include read (part of the cache key) — no other variable value.
    """

    def __init__(self, executor: Any, condition_variables: frozenset[str]) -> None:
        values: VariableValues = executor.variable_values
        self.schema: GraphQLSchema = executor.schema
        self.fragments = executor.fragments
        self.operation: OperationDefinitionNode = executor.operation
        self.conditions = VariableValues(
            {k: v for k, v in values.sources.items() if k in condition_variables},
            {k: v for k, v in values.coerced.items() if k in condition_variables},
        )

    def operation_plan(self) -> OperationPlan:
        operation = self.operation
        if operation.operation == OperationType.SUBSCRIPTION:
            raise Fallback("subscription")
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise Fallback("no root type")
        collected = collect_fields(self.schema, self.fragments, self.conditions, root_type, operation)
        return OperationPlan(operation, self._selection(root_type, collected.grouped_field_set))

    def child(self, parent: FieldPlan, runtime_type: GraphQLObjectType) -> SelectionPlan:
        plan = parent.children.get(runtime_type.name)
        if plan is None:
            collected = collect_subfields(self.schema, self.fragments, self.conditions, self.operation,
                                          runtime_type, parent.details)
            try:
                plan = self._selection(runtime_type, collected.grouped_field_set)
            except Fallback as e:
                # Too late to fall back (a mutation may have written): what falls back is known at the root.
                raise TypeError(f"the planned executor cannot run {runtime_type.name} here: {e}") from e
            parent.children[runtime_type.name] = plan
        return plan

    def _selection(self, type_: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]) -> SelectionPlan:
        fields: list[FieldPlan] = []
        for key, details in grouped.items():
            if any(d.defer_usage is not None or d.fragment_variable_values is not None for d in details):
                raise Fallback("incremental delivery or fragment arguments")
            node = details[0].node
            name = node.name.value
            if name == TYPENAME:
                fields.append(FieldPlan(key, name, details, type_, None, TYPENAME_TYPE, FieldKind.TYPENAME))
                continue
            if name.startswith("__"):
                raise Fallback("introspection")
            definition = type_.fields.get(name)
            if definition is None:
                continue  # graphql-core skips unknown fields too (validation refuses them first)
            strawberry = definition.extensions.get(STRAWBERRY_DEFINITION) if definition.extensions else None
            if not isinstance(strawberry, StrawberryField):
                raise Fallback(f"field {type_.name}.{name} is not Strawberry's")
            basic = strawberry.base_resolver is None and not strawberry.extensions
            if not basic and strawberry.extensions:
                raise Fallback(f"field {type_.name}.{name} has field extensions")
            batch = batch_form(strawberry.base_resolver.wrapped_func) if strawberry.base_resolver else None
            kind = FieldKind.ATTRIBUTE if basic else FieldKind.BATCH if batch is not None else FieldKind.RESOLVER
            fields.append(FieldPlan(
                key, name, details, type_, definition, definition.type, kind,
                attribute=strawberry.python_name, strawberry=strawberry, batch=batch,
                has_arguments=bool(definition.args or node.arguments),
            ))
        return SelectionPlan(type_, fields)


class _Lru(Generic[K, V]):
    """At most `size` values by key; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        found = self._values.get(key)
        if found is not None:
            self._values.move_to_end(key)
            return found
        made = make()
        self._values[key] = made
        if len(self._values) > self.size:
            self._values.popitem(last=False)
        return made


class PlanCache:
    """Operation plans by (query text, operation name, directive variable values), and what each document needs
    decided before planning; least recently used out."""

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self._plans: _Lru[tuple[Any, ...], tuple[OperationPlan, Planner]] = _Lru(size)
        self._facts: _Lru[str, DocumentFacts] = _Lru(size)

    def facts(self, query: str, document: DocumentNode) -> DocumentFacts:
        return self._facts.get_or_make(query, lambda: document_facts(document))

    def get(self, key: tuple[Any, ...], build: Callable[[], tuple[OperationPlan, Planner]]
            ) -> tuple[OperationPlan, Planner]:
        return self._plans.get_or_make(key, build)
