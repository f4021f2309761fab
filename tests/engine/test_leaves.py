"""Leaf values completed by the engine exactly as graphql-core completes them, for every scalar and enum type.

The engine coerces leaves itself: a level's values in one loop (`_Run._complete_leaves`) and lists of plain
scalars in one pass (`leaves.plain_leaf_list`). For any value — huge ints, NaN and infinities, bools where ints
belong, Decimals, datetimes with and without a zone, strings where enums belong, containers — and any of the
shapes T, T!, [T], [T!], [T]!, [T!]!, the result and the errors must be graphql-core's own executor's (its base
class, not the schema's, whose list fast path is the engine's plain_leaf_list).
"""

from __future__ import annotations

import enum
import json
import os
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLScalarType,
    OperationDefinitionNode,
    Undefined,
    parse,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import Path
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.engine.execute import INVALID, _Run
from gateway.engine.leaves import plain_leaf_list
from gateway.engine.plan import FieldKind, FieldPlan
from gateway.schema import schema

GRAPHQL: Final = schema._schema
EXAMPLES: Final = 60 if os.environ.get("CI") else 300
LEAVES: Final[list[GraphQLLeafType]] = sorted(
    (t for name, t in GRAPHQL.type_map.items()
     if isinstance(t, GraphQLScalarType | GraphQLEnumType) and not name.startswith("__")),
    key=lambda t: t.name)
DOCUMENT: Final = parse("{ f }")
OPERATION = DOCUMENT.definitions[0]
assert isinstance(OPERATION, OperationDefinitionNode)
NODE = OPERATION.selection_set.selections[0]
assert isinstance(NODE, FieldNode)
DETAILS: Final = [FieldDetails(NODE, None)]
PARENT: Final = GRAPHQL.query_type
assert PARENT is not None
PATH: Final = Path(None, "f", None)

ENUM_MEMBERS: Final = [m for t in LEAVES if isinstance(t, GraphQLEnumType) and hasattr(t, "wrapped_cls")
                       for m in t.wrapped_cls]
ENUM_STRINGS: Final = [s for t in LEAVES if isinstance(t, GraphQLEnumType)
                       for name, v in t.values.items() for s in (name, str(v.value))]


class Plain(enum.Enum):
    """An enum no GraphQL type has."""

    HUMAN = "human"


ZONES = st.sampled_from([None, UTC, ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York"),
                         timezone(timedelta(hours=-5, minutes=-30))])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from([2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**53 + 1, 10**30, 0, -0]),
    st.floats(),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1.0, -0.0, 2.5, float(2**31), 1e300, 5e-324]),
    st.decimals(),
    st.sampled_from([Decimal("NaN"), Decimal("1.5"), Decimal("10"), Decimal("1E+40")]),
    st.text(max_size=6),
    st.sampled_from(["1", "1.5", "true", "", "2025-03-31", "2025-03-31T10:00:00Z", "ACTIVE", "active"]),
    st.datetimes(timezones=ZONES),
    st.dates(),
    st.uuids(),
    st.binary(max_size=3),
    st.sampled_from([*ENUM_MEMBERS, Plain.HUMAN]),
    st.sampled_from(ENUM_STRINGS),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=4)


def shapes(leaf: GraphQLLeafType) -> list[GraphQLOutputType]:
    return [leaf, GraphQLNonNull(leaf), GraphQLList(leaf), GraphQLList(GraphQLNonNull(leaf)),
            GraphQLNonNull(GraphQLList(leaf)), GraphQLNonNull(GraphQLList(GraphQLNonNull(leaf)))]


Answer = tuple[str, list[tuple[str, str, str]]]


def _errors(errors: list[GraphQLError]) -> list[tuple[str, str, str]]:
    return sorted((json.dumps(e.path), e.message,
                   type(e.original_error).__name__ if e.original_error is not None else "") for e in errors)


def _value(value: Any) -> str:
    return "INVALID" if value is INVALID else json.dumps(value, default=repr)


def graphql_core(type_: GraphQLOutputType, value: Any) -> Answer:
    """graphql-core's completion of `value` at a field of `type_`: what it returns, and its errors."""
    executor = Executor.build(GRAPHQL, DOCUMENT)
    assert isinstance(executor, Executor)
    info = executor.build_resolve_info(GraphQLField(type_), [NODE], PARENT, PATH)
    raised: list[GraphQLError] = []
    try:
        completed = executor.complete_value(type_, DETAILS, info, PATH, value, None)
    except Exception as error:
        try:
            executor.handle_field_error(error, type_, DETAILS, PATH)
            completed = None
        except GraphQLError as propagated:
            raised.append(propagated)
            completed = INVALID
    return _value(completed), _errors([*executor.collected_errors.errors, *raised])


async def engine(type_: GraphQLOutputType, value: Any) -> Answer:
    """The engine's completion of the same."""
    executor = Executor.build(GRAPHQL, DOCUMENT)
    run = _Run(executor, None, schema)  # type: ignore[arg-type]
    plan = FieldPlan("f", "f", DETAILS, PARENT, None, type_, FieldKind.ATTRIBUTE)
    completed = (await run.complete(plan, type_, [value], [PATH]))[0]
    return _value(completed), _errors(run.errors.kept())


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
@given(leaf=st.sampled_from(LEAVES), value=VALUES)
async def test_a_leaf_value_completes_as_graphql_core_completes_it(leaf: GraphQLLeafType, value: Any) -> None:
    for type_ in shapes(leaf)[:2]:
        assert await engine(type_, value) == graphql_core(type_, value), (str(type_), value)


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
@given(leaf=st.sampled_from(LEAVES), items=st.lists(SCALARS, max_size=4) | st.lists(st.floats(), max_size=4)
       | st.lists(st.integers(-(2**33), 2**33), max_size=4))
# The engine used to keep the null's error (it checks nulls before coercing); graphql-core meets item 0 first.
@example(leaf=GRAPHQL.type_map["AgentKind"], items=[False, None])
async def test_a_list_of_leaves_completes_as_graphql_core_completes_it(leaf: GraphQLLeafType, items: list[Any]) -> None:
    for type_ in shapes(leaf)[2:]:
        assert await engine(type_, items) == graphql_core(type_, items), (str(type_), items)


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
@given(leaf=st.sampled_from(LEAVES), items=st.lists(SCALARS, max_size=4), non_null=st.booleans())
def test_the_one_pass_list_coercion_gives_graphql_cores_values_or_leaves_the_list_to_it(
    leaf: GraphQLLeafType, items: list[Any], non_null: bool
) -> None:
    item_type: GraphQLOutputType = GraphQLNonNull(leaf) if non_null else leaf
    coerced = plain_leaf_list(item_type, items)
    if coerced is None:
        return  # the per-item path completes it (the tests above compare that path)
    value, errors = graphql_core(GraphQLList(item_type), items)
    assert errors == []
    assert json.dumps(coerced, default=repr) == value
    assert all(v is not Undefined for v in coerced)
