"""Plans: what to run for each selection set of an operation, compiled once per document and directive values.

A plan holds no variable values except those deciding @skip/@include (they are part of its cache key) and
never a result: arguments are read per execution.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, Generic, TypeVar

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
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


class ShapeKind(enum.Enum):
    LEAF = "leaf"
    LIST = "list"
    OBJECT = "object"
    ABSTRACT = "abstract"


@dataclass(eq=False)
class Shape:
    """How the values of one output type are completed: decided once, when the plan is made, instead of by
    isinstance checks on the type at every level."""

    graphql_type: GraphQLOutputType
    non_null: bool
    # The type without its NonNull.
    inner: GraphQLOutputType
    kind: ShapeKind
    # LIST: the items' shape.
    item: Shape | None = None
    # LEAF: the Python type whose values the scalar's coercion returns unchanged (str for String and ID, bool
    # for Boolean, int for Int within 32 bits, float for a finite Float), None for other scalars and enums.
    passthrough: type | None = None
    # OBJECT: the Strawberry class whose instances pass the type's is_type_of (None: check each value).
    own_class: type | None = None


def shape_of(type_: GraphQLOutputType) -> Shape:
    non_null = isinstance(type_, GraphQLNonNull)
    inner: GraphQLOutputType = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return Shape(type_, non_null, inner, ShapeKind.LEAF, passthrough=_passthrough(inner))
    if isinstance(inner, GraphQLList):
        return Shape(type_, non_null, inner, ShapeKind.LIST, item=shape_of(inner.of_type))
    if isinstance(inner, GraphQLObjectType):
        return Shape(type_, non_null, inner, ShapeKind.OBJECT, own_class=strawberry_class(inner))
    if isinstance(inner, GraphQLAbstractType):
        return Shape(type_, non_null, inner, ShapeKind.ABSTRACT)
    raise TypeError(f"unexpected output type {type_}")  # pragma: no cover - every output type is one of these


def _passthrough(leaf: GraphQLScalarType | GraphQLEnumType) -> type | None:
    # graphql-core's serialize_string and serialize_id return a str as it is, serialize_boolean a bool, and
    # serialize_int / serialize_float an int in range / a finite float unchanged (the engine checks those).
    for standard, python_type in ((GraphQLString, str), (GraphQLID, str), (GraphQLBoolean, bool),
                                  (GraphQLInt, int), (GraphQLFloat, float)):
        if leaf is standard:
            return python_type
    return None


def strawberry_class(type_: GraphQLObjectType) -> type | None:
    """The class whose instances pass the type's is_type_of (an isinstance check in Strawberry; we use no
    strawberry.cast); None for generic types."""
    definition = type_.extensions.get(STRAWBERRY_DEFINITION) if type_.extensions else None
    origin = getattr(definition, "origin", None)
    return origin if isinstance(origin, type) and not getattr(definition, "is_graphql_generic", False) else None


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
    # Called without arguments, so neither an Info nor converted arguments are needed: a resolver that takes
    # the parent alone (no info, parent or root parameter), or a batched form of a field without arguments.
    plain_call: bool = False
    # Sub-selections by the concrete object type they run on, planned when first met.
    children: dict[str, SelectionPlan] = field(default_factory=dict)
    shape: Shape = field(init=False)
    nodes: list[FieldNode] = field(init=False)

    def __post_init__(self) -> None:
        self.shape = shape_of(self.return_type)
        self.nodes = [d.node for d in self.details]


# Builds the response maps of a level from its fields' columns: build(keys, column, column, …).
MapBuilder = Callable[..., list[dict[str, Any]]]


@dataclass(eq=False)
class SelectionPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan]
    # The response keys, in order.
    keys: tuple[str, ...] = field(init=False)
    build: MapBuilder = field(init=False)

    def __post_init__(self) -> None:
        self.keys = tuple(fp.key for fp in self.fields)
        self.build = map_builder(len(self.keys))


@lru_cache(maxsize=256)
def map_builder(width: int) -> MapBuilder:
    """A function making one map per row from `width` columns, keys in order: a dict display in a comprehension,
    which builds each map in one step (several times faster than `dict(zip(keys, row))` per object).

    The source names only generated parameters; the response keys (client-chosen aliases) are values passed in.
    """
    if width == 0:
        return lambda keys: []  # a selection left empty by @skip/@include: no column gives the number of maps
    columns = ", ".join(f"c{i}" for i in range(width))
    keys = ", ".join(f"k{i}" for i in range(width))
    values = ", ".join(f"v{i}" for i in range(width))
    entries = ", ".join(f"k{i}: v{i}" for i in range(width))
    source = (f"def build(keys, {columns}):\n"
              f"    {keys}, = keys\n"
              f"    return [{{{entries}}} for {values}, in zip({columns})]\n")
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<map builder {width}>", "exec"), namespace)  # noqa: S102 - generated from a number
    built: MapBuilder = namespace["build"]
    return built


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

    def __init__(self, executor: Any, condition_variables: frozenset[str], *, events: bool = False) -> None:
        # events: a subscription's selection run over one event (a live group's refresh, gateway/live): its root
        # field's value is the event, which the root value carries as the field's attribute.
        self.events = events
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
        if operation.operation == OperationType.SUBSCRIPTION and not self.events:
            raise Fallback("subscription")
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise Fallback("no root type")
        collected = collect_fields(self.schema, self.fragments, self.conditions, root_type, operation)
        events = root_type if operation.operation == OperationType.SUBSCRIPTION else None
        return OperationPlan(operation, self._selection(root_type, collected.grouped_field_set, events))

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

    def _selection(self, type_: GraphQLObjectType, grouped: dict[str, list[FieldDetails]],
                   events: GraphQLObjectType | None = None) -> SelectionPlan:
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
            resolver = strawberry.base_resolver
            batch = batch_form(resolver.wrapped_func) if resolver else None
            kind = FieldKind.ATTRIBUTE if basic else FieldKind.BATCH if batch is not None else FieldKind.RESOLVER
            if type_ is events:
                # A subscription field over its event: the value is the event (Strawberry's resolve is the
                # identity on it), carried by the root value as this attribute.
                kind, resolver, batch = FieldKind.ATTRIBUTE, None, None
            has_arguments = bool(definition.args or node.arguments)
            plain_call = resolver is not None and not has_arguments and not strawberry.arguments and \
                resolver.parent_parameter is None and resolver.root_parameter is None and \
                (kind is FieldKind.BATCH or (resolver.self_parameter is not None and resolver.info_parameter is None))
            fields.append(FieldPlan(
                key, name, details, type_, definition, definition.type, kind,
                attribute=strawberry.python_name, strawberry=strawberry, batch=batch,
                has_arguments=has_arguments, plain_call=plain_call,
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
