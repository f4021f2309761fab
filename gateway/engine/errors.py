"""Which errors a response keeps: graphql-core's rule, made deterministic, for the engine and for the shadow
comparison of any executor's errors.

    an error at its path ─▶ its stop, where its null stopped: its own position if that may be null, else the
                            nearest ancestor that may (the engine records it as it nulls; for another executor's
                            errors the operation's plan tells, see Positions)
    ─▶ no error whose stop lies inside the subtree of another error's stop (graphql-core reports those it met
       before the nulling one, a matter of timing)
    ─▶ one error per stop: of several, the first depth first — list items by index, an object's fields in the
       selection's order — where graphql-core, with no await on the way, stops completing that subtree
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import GraphQLAbstractType, GraphQLError, GraphQLObjectType
from graphql.pyutils import Path

from gateway.engine.plan import FieldPlan, Planner, SelectionPlan, Shape

Position = tuple[str | int, ...]
T = TypeVar("T")


@dataclass
class Errors:
    """Errors at their own paths (as a tuple and as the engine's Path), and the positions where a null was put
    because of one."""

    found: list[tuple[GraphQLError, Position, Path]] = field(default_factory=list)
    nulled: set[Position] = field(default_factory=set)

    def kept(self, root: SelectionPlan | None = None) -> list[GraphQLError]:
        """One error per nulled position, none from inside a subtree that was nulled: of several, the first depth
        first through the plan `root` (without one, the first found)."""
        nulled = self.nulled
        stops: dict[Position, list[int]] = {}
        for i, (_, path, _) in enumerate(self.found):
            # Where the error's null stopped: the nearest nulled position on its path (itself, or an ancestor).
            stop = next((path[:n] for n in range(len(path), -1, -1) if path[:n] in nulled), ())
            stops.setdefault(stop, []).append(i)
        kept: list[GraphQLError] = []
        for indexes in _outermost(stops):
            first = indexes[0]
            if len(indexes) > 1 and root is not None:  # rare: order keys only for errors competing for one stop
                first = min(indexes, key=lambda i: depth_first(root, self.found[i][2]))
            kept.append(self.found[first][0])
        return kept


def _outermost(stops: dict[Position, list[T]]) -> Iterator[list[T]]:
    """The groups of errors by stop, without those whose stop lies inside another's nulled subtree."""
    for stop, group in stops.items():
        if not any(stop[:n] in stops for n in range(len(stop))):
            yield group


def depth_first(root: SelectionPlan, path: Path) -> tuple[int, ...]:
    """A position's place in depth-first order: its list indexes, and for each of its fields the field's ordinal
    in its selection — found through the plans, which the parent type on each field of the engine's paths picks
    under an abstract type."""
    nodes: list[Path] = []
    node: Path | None = path
    while node is not None:
        nodes.append(node)
        node = node.prev
    order: list[int] = []
    plan = root
    parent: FieldPlan | None = None
    for node in reversed(nodes):
        key = node.key
        if isinstance(key, int):
            order.append(key)
            continue
        if parent is not None:
            assert node.typename is not None, "the engine's field paths carry their parent type"
            plan = parent.children[node.typename]
        ordinal = plan.keys.index(key)
        order.append(ordinal)
        parent = plan.fields[ordinal]
    return tuple(order)


class Positions:
    """Which positions of an operation's response may be null, read off its plan (sub-selections planned when
    first needed, as execution plans them)."""

    def __init__(self, root: SelectionPlan, planner: Planner) -> None:
        self.root = root
        self.planner = planner

    def nullable(self, path: Position, data: Any = None) -> list[bool] | None:
        """For each prefix of `path` (the root first), whether that position may be null; None where the plan
        cannot tell (a key it lacks, or an abstract position whose possible types disagree). `data`, the
        response, narrows an abstract position to the types whose selection gave its keys."""
        below = self._field(self.root, path, 0, data)
        return None if below is None else [True, *below]

    def _field(self, plan: SelectionPlan, path: Position, at: int, data: Any) -> list[bool] | None:
        """The nullability of path[at:], whose first segment is a key of `plan`."""
        fp = next((f for f in plan.fields if f.key == path[at]), None)
        if fp is None:
            return None
        shape = fp.shape
        nullable = [not shape.non_null]
        at += 1
        while at < len(path) and isinstance(path[at], int):
            if shape.item is None:
                return None
            shape = shape.item
            nullable.append(not shape.non_null)
            at += 1
        if at == len(path):
            return nullable
        below = self._object(fp, shape, path, at, data)
        return None if below is None else nullable + below

    def _object(self, fp: FieldPlan, shape: Shape, path: Position, at: int, data: Any) -> list[bool] | None:
        """The nullability of path[at:], below an object position of `fp`, whichever its runtime type."""
        inner = shape.inner
        candidates: Sequence[GraphQLObjectType]
        if isinstance(inner, GraphQLObjectType):
            candidates = [inner]
        elif isinstance(inner, GraphQLAbstractType):
            candidates = self.planner.schema.get_possible_types(inner)
        else:
            return None
        found, value = value_at(data, path[:at])
        keys = tuple(value) if found and isinstance(value, dict) else None
        answers: list[list[bool]] = []
        for runtime in candidates:
            try:
                plan = self.planner.child(fp, runtime)
            except TypeError:
                continue  # a selection the engine cannot run on this type: it never answers there
            if keys is not None and keys != plan.keys:
                continue
            answer = self._field(plan, path, at, data)
            if answer is not None and answer not in answers:
                answers.append(answer)
        return answers[0] if len(answers) == 1 else None


def value_at(data: Any, path: Position) -> tuple[bool, Any]:
    """(found, value) of the response at `path`."""
    value = data
    for segment in path:
        if isinstance(segment, int):
            if not (isinstance(value, list) and 0 <= segment < len(value)):
                return False, None
            value = value[segment]
        else:
            if not (isinstance(value, dict) and segment in value):
                return False, None
            value = value[segment]
    return True, value


def normalised_errors(data: Any, errors: Sequence[GraphQLError], positions: Positions | None
                      ) -> list[GraphQLError]:
    """Errors under the engine's rule, whichever executor produced them: the first of each stop as listed (an
    executor lists them as it meets them), none from inside a nulled subtree.

    An error's stop is read off the operation's types (`positions`): an error of a nullable field stopped there,
    even inside a subtree whose null is all the data shows. Where the types cannot tell, it is the error's
    nearest null in the data."""
    stops: dict[Position, list[GraphQLError]] = {}
    for error in errors:
        path = tuple(error.path or ())
        nullable = positions.nullable(path, data) if positions is not None else None
        stop = path[:max(n for n, may in enumerate(nullable) if may)] if nullable is not None else \
            _nearest_null(data, path)
        stops.setdefault(stop, []).append(error)
    return [group[0] for group in _outermost(stops)]


def _nearest_null(data: Any, path: Position) -> Position:
    for n in range(len(path), -1, -1):
        found, value = value_at(data, path[:n])
        if found and value is None:
            return path[:n]
    return ()
