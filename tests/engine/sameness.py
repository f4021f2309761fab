"""When two answers to one operation are the same: graphql-core's rule for errors, with its one race allowed.

Data must be equal, key order included. Errors are compared as `gateway.engine.extension.compare` does (path,
message, locations, the original error's type; as sets, none from inside a subtree another error nulled), by
the position each error nulled. That position comes from the operation's types: an error of a nullable field
nulls that field, even where the data shows only an ancestor's null. (The shadow comparison reads the types off
the operation's plan, gateway/engine/errors.py; this module off the document, so the two do not share a mistake.)

One difference is not a difference: when several errors null the same position (two non-null fields of one
object failing, a service token refused on every root field), graphql-core reports the one that happened
first — a race between resolvers, which cancels the others — and the engine the first depth first (graphql-core's
choice when no resolver on the way awaits). Both are valid answers. Such a group passes when both errors are
real: graphql-core, run once more without null propagation, raises each of them at its own path.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    parse,
)

from gateway.engine.errors import value_at
from gateway.schema import schema

GRAPHQL = schema._schema

View = tuple[str, str, str, str]
Position = tuple[str | int, ...]


@dataclass(frozen=True)
class Outcome:
    raw: ExecutionResult    # as the executor answered (graphql-core's or the engine's errors, unmasked)
    final: ExecutionResult  # what a client gets (error codes, masked internal errors)
    query: str
    operation_name: str | None = None

    def error_paths(self) -> set[Position]:
        """Where the kept errors are (none from inside a subtree another error nulled)."""
        nullability = Nullability(self.query, self.operation_name)
        return {tuple(json.loads(views[0][0]) or ()) for views in grouped(self.raw, nullability).values()}


def view(error: GraphQLError) -> View:
    """What must be equal of two errors (as the shadow comparison sees them)."""
    original = error.original_error
    return (json.dumps(error.path), error.message, json.dumps([tuple(loc) for loc in error.locations or ()]),
            type(original).__name__ if original is not None else "")


class Nullability:
    """Which positions of an operation's response are nullable, from its document and the schema: where the
    null of an error at a path stops."""

    def __init__(self, query: str, operation_name: str | None) -> None:
        document = parse(query)
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        self.operation = next((o for o in operations if operation_name is None or
                               (o.name is not None and o.name.value == operation_name)), None)

    def _fields(self, selections: list[SelectionSetNode], parent: GraphQLNamedType, key: str
                ) -> list[tuple[FieldNode, GraphQLNamedType]]:
        """The field nodes answering `key` in these selection sets, each with the type it is selected on."""
        found: list[tuple[FieldNode, GraphQLNamedType]] = []
        todo = [(s, parent) for s in selections]
        while todo:
            selection_set, on = todo.pop()
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    if (selection.alias or selection.name).value == key:
                        found.append((selection, on))
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    todo.append((selection.selection_set,
                                 GRAPHQL.type_map[condition.name.value] if condition is not None else on))
                elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments:
                    fragment = self.fragments[selection.name.value]
                    todo.append((fragment.selection_set, GRAPHQL.type_map[fragment.type_condition.name.value]))
        return found

    def nullable_prefixes(self, path: Position) -> list[bool] | None:
        """For each prefix of `path` (the root first), whether that position may be null; None if unknown."""
        if self.operation is None:
            return None
        root = GRAPHQL.get_root_type(self.operation.operation)
        if root is None:
            return None
        nullable = [True]
        selections = [self.operation.selection_set]
        type_: Any = root
        for segment in path:
            if isinstance(segment, int):
                inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
                if not isinstance(inner, GraphQLList):
                    return None
                type_ = inner.of_type
            else:
                named = get_named_type(type_)
                fields = self._fields(selections, named, segment)
                if not fields:
                    return None
                node, on = fields[0]
                if node.name.value == "__typename":
                    type_ = GraphQLNonNull(GRAPHQL.type_map["String"])
                else:
                    definitions = getattr(on, "fields", {})
                    if node.name.value not in definitions:
                        return None
                    type_ = definitions[node.name.value].type
                selections = [n.selection_set for n, _ in fields if n.selection_set is not None]
            nullable.append(not isinstance(type_, GraphQLNonNull))
        return nullable

    def stop(self, data: Any, path: Position) -> Position:
        """The position an error at `path` nulled: the nearest nullable one at or above it (by the types; by
        the data, its nearest null, where the types cannot tell)."""
        nullable = self.nullable_prefixes(path)
        if nullable is not None:
            return path[:max(n for n, may in enumerate(nullable) if may)]
        for n in range(len(path), -1, -1):
            found, value = value_at(data, path[:n])
            if found and value is None:
                return path[:n]
        return ()


def grouped(result: ExecutionResult, nullability: Nullability) -> dict[Position, list[View]]:
    """The errors by the position each nulled, under the engine's rule: the first of each position, none from
    inside a subtree another one nulled (graphql-core reports those that came before the nulling)."""
    stops = [(error, nullability.stop(result.data, tuple(error.path or ()))) for error in result.errors or []]
    positions = {stop for _, stop in stops}
    groups: dict[Position, list[View]] = {}
    for error, stop in stops:
        if stop in groups or any(stop[:n] in positions for n in range(len(stop))):
            continue
        groups[stop] = [view(error)]
    return groups


def _dumps(data: Any) -> str:
    return json.dumps(data, default=str)


async def difference(planned: ExecutionResult, reference: ExecutionResult, nullability: Nullability,
                     every_error: Callable[[], Awaitable[Sequence[GraphQLError]]] | None) -> str | None:
    """Why the answers differ, or None when they are the same (`every_error` None: no race is allowed)."""
    if _dumps(planned.data) != _dumps(reference.data):
        return "the data differ"
    ours, theirs = grouped(planned, nullability), grouped(reference, nullability)
    if ours.keys() != theirs.keys():
        return "the errors null different positions"
    racing = [stop for stop in ours if ours[stop] != theirs[stop]]
    if not racing:
        return None
    if every_error is None:
        return f"the errors nulling {[list(stop) for stop in racing]} differ"
    possible = {view(e) for e in await every_error()}
    for stop in racing:
        for side in (ours[stop], theirs[stop]):
            if len(side) != 1:
                return f"at {list(stop)} several errors are reported"
            path = tuple(json.loads(side[0][0]) or ())
            # A race needs an error that propagated to a null above it, and that really happens.
            if len(path) <= len(stop) or side[0] not in possible:
                return f"the error nulling {list(stop)} is not one graphql-core raises: {side[0]}"
        ours_path, theirs_path = (json.loads(side[0][0]) for side in (ours[stop], theirs[stop]))
        if ours_path[:-1] == theirs_path[:-1] and isinstance(ours_path[-1], int):
            # Items of one list of leaves are completed in order, with no await between them: no race.
            return f"the error nulling {list(stop)} is not the first item's: {ours[stop][0]}"
    return None


async def assert_same(query: str, variables: Any, planned: Outcome, reference: Outcome,
                      every_error: Callable[[], Awaitable[Outcome]] | None, operation_name: str | None = None
                      ) -> None:
    """Fails with both answers unless they are the same (raw and as a client sees them); without
    `every_error`, errors must be the same even where graphql-core could have raced."""
    cached: list[Outcome] = []
    nullability = Nullability(query, operation_name)

    async def oracle() -> Outcome:
        if not cached:
            cached.append(await every_error())
        return cached[0]

    async def raw_errors() -> Sequence[GraphQLError]:
        return (await oracle()).raw.errors or []

    async def final_errors() -> Sequence[GraphQLError]:
        return (await oracle()).final.errors or []

    for what, ours, theirs, errors in (("raw", planned.raw, reference.raw, raw_errors),
                                       ("final", planned.final, reference.final, final_errors)):
        why = await difference(ours, theirs, nullability, errors if every_error is not None else None)
        assert why is None, (
            f"the planned engine and graphql-core differ ({what} results): {why}\n"
            f"query: {query}\nvariables: {variables}\n"
            f"planned data:   {_dumps(ours.data)[:3000]}\nreference data: {_dumps(theirs.data)[:3000]}\n"
            f"planned errors:   {sorted(view(e) for e in ours.errors or [])}\n"
            f"reference errors: {sorted(view(e) for e in theirs.errors or [])}")
