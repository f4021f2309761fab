"""Operations generated from the schema: random selections, fragments, directives, variables and arguments.

Every document is built valid (checked with graphql-core's rules and the gateway's size limits) and small:
lists ask for at most 5 items. Arguments are valid values drawn from the seeded world — ids read from it,
ranges over its days, metric names — and now and then a deliberate fault a resolver must refuse: an id that
does not exist or is of the wrong type, a malformed cursor, an out-of-range `first`, a range that ends before
it starts. A Chooser makes every decision, so the same builder serves hypothesis (`Drawn`, shrinking towards
fewer and simpler selections) and the deterministic every-field operations (`Fixed`, valid values only).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Protocol, TypeVar

from graphql import (
    GraphQLCompositeType,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_composite_type,
    is_leaf_type,
    parse,
    specified_rules,
    validate,
)
from graphql.utilities import do_types_overlap
from hypothesis import strategies as st

from gateway.ids import decode_id, encode_id
from gateway.limits import QuerySizeRule
from gateway.schema import schema
from tests.engine.world import END, FIRST_DAY, World

T = TypeVar("T")
GRAPHQL: Final[GraphQLSchema] = schema._schema
MAX_FIRST: Final = 5
MAX_FIELDS: Final = 45
PRESETS: Final = ("TODAY", "YESTERDAY", "LAST_7_DAYS", "LAST_30_DAYS", "THIS_WEEK", "LAST_WEEK", "THIS_MONTH",
                  "LAST_MONTH")
# Arguments naming an object of one type, by argument (or input field) name.
ID_KINDS: Final = {"agentId": "Agent", "ownerId": "Agent", "assigneeId": "Agent", "teamId": "Team",
                   "campaignId": "Campaign", "leadId": "Lead"}
BAD_CURSORS: Final = ("garbage!", "W10", "bm90IGpzb24", "WyJ4Il0", "")
FORMULAS: Final = ("revenue / calls_total", "calls_handled * 2 + 1", "(leads_converted + 1) / (calls_total + 1)")
BAD_FORMULAS: Final = ("revenue +", "no_such_metric * 2", "")
TIMEZONES: Final = ("Europe/Berlin", "UTC", "Asia/Kolkata")
# Fields whose value is the clock's when a mutation writes them: two runs cannot agree on them.
CLOCK_FIELDS: Final = {"defineCustomMetric": frozenset({"updatedAt"})}


class EnumValue(str):
    """An enum value: bare in a document, a string in variables."""

    __slots__ = ()


class Chooser(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...

    def chance(self, percent: int) -> bool: ...

    def integer(self, low: int, high: int) -> int: ...

    def fault(self, percent: int) -> bool:
        """Whether to put a deliberate fault here (never, for valid-only choosers)."""
        ...


class Drawn:
    """Decisions drawn by hypothesis; every `chance` and `fault` shrinks towards no."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def choice(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) >= 100 - percent

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def fault(self, percent: int) -> bool:
        return self.chance(percent)


class Fixed:
    """Seeded decisions without faults: for operations that must succeed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def chance(self, percent: int) -> bool:
        return self.rng.randrange(100) >= 100 - percent

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def fault(self, percent: int) -> bool:
        return False


@dataclass(frozen=True)
class Operation:
    query: str
    variables: dict[str, Any]
    operation_name: str | None = None


def literal(value: Any) -> str:
    """The value as a GraphQL literal."""
    if value is None:
        return "null"
    if isinstance(value, EnumValue):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {value!r}")


def unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def is_connection(definition: GraphQLField) -> bool:
    return "first" in definition.args and "after" in definition.args


@dataclass
class Values:
    """Argument values for the seeded world: valid ones, and deliberate faults now and then."""

    world: World
    choose: Chooser
    # The every-field operations: ranges over every seeded day and only the arguments a field needs, so that
    # each list shows every kind of row.
    minimal: bool = False

    def id_of(self, kind: str) -> str:
        c = self.choose
        if c.fault(12):
            other = c.choice([k for k in self.world.ids if k != kind])
            return c.choice([
                encode_id(kind, uuid.UUID(int=c.integer(0, 2**128 - 1), version=4)),  # well-formed, nobody's
                c.choice(self.world.ids[other]),                                       # another type's
                c.choice(self.world.foreign_ids[kind] or self.world.foreign_ids["Agent"]),  # another tenant's
                "not-an-id",
            ])
        return c.choice(self.world.ids[kind])

    def any_id(self) -> str:
        kinds = [k for k, ids in self.world.ids.items() if ids]
        return self.id_of(self.choose.choice(kinds))

    def raw_uuid(self, kind: str) -> str:
        return str(decode_id(self.choose.choice(self.world.ids[kind]))[1])

    def date_range(self) -> dict[str, Any]:
        c = self.choose
        if self.minimal:
            return {"from": FIRST_DAY.isoformat(), "to": END.isoformat()}
        if c.fault(10):
            return c.choice([
                {"from": END.isoformat(), "to": FIRST_DAY.isoformat()},        # ends before it starts
                {"from": "2023-01-01", "to": END.isoformat()},                 # longer than any list allows
                {"from": FIRST_DAY.isoformat()},                               # half a range
                {"preset": EnumValue("TODAY"), "from": FIRST_DAY.isoformat()},  # both forms
                {},
            ])
        if c.chance(15):
            return {"preset": EnumValue(c.choice(PRESETS))}
        start = FIRST_DAY + timedelta(days=c.integer(0, (END - FIRST_DAY).days))
        end = min(start + timedelta(days=c.integer(0, 8)), END + timedelta(days=2))
        return {"from": start.isoformat(), "to": end.isoformat()}

    def first(self) -> int:
        c = self.choose
        if c.fault(8):
            return c.choice([-1, 201, 100000])
        return c.integer(0, MAX_FIRST)

    def positive(self, low: int, high: int, bad: Sequence[int]) -> int:
        return self.choose.choice(bad) if self.choose.fault(8) else self.choose.integer(low, high)

    def ratio(self, good: Sequence[float], bad: Sequence[float]) -> float:
        return self.choose.choice(bad) if self.choose.fault(8) else self.choose.choice(good)

    def cursor(self) -> str:
        c = self.choose
        if c.fault(40) or not self.world.cursors:
            return c.choice(BAD_CURSORS)
        # A real cursor, of this list or (as often as not) of another one.
        return c.choice(self.world.cursors)

    def metric_names(self, many: bool) -> dict[str, Any]:
        """`metric`/`customMetric` (exactly one, unless faulty) or `metrics`/`customMetrics` (1 to 3 in all)."""
        c = self.choose
        metrics = [EnumValue(v) for v in enum_values("Metric")]
        custom = [*self.world.custom_metrics]
        if not many:
            if c.fault(8):
                return c.choice([{}, {"metric": c.choice(metrics), "customMetric": c.choice(custom)},
                                 {"customMetric": "no_such_metric"}])
            if c.chance(20):
                return {"customMetric": c.choice(custom)}
            return {"metric": c.choice(metrics)}
        if c.fault(8):
            return c.choice([{"metrics": []}, {"customMetrics": ["no_such_metric"]}, {"metrics": None}])
        chosen: dict[str, Any] = {"metrics": unique([c.choice(metrics) for _ in range(c.integer(1, 3))])}
        if c.chance(25):
            chosen["customMetrics"] = unique([c.choice(custom) for _ in range(c.integer(1, 2))])
            if c.chance(30):
                del chosen["metrics"]
        return chosen

    def events(self) -> list[dict[str, Any]]:
        c = self.choose
        events: list[dict[str, Any]] = []
        for i in range(c.integer(0, 3)):
            event_id = str(uuid.UUID(int=c.integer(0, 2**128 - 1), version=4))
            kind = c.choice(["track", "points", "broken"]) if c.fault(60) else c.choice(["track", "points"])
            at = f"{END.isoformat()}T1{i}:00:00Z"
            if kind == "track":
                data: dict[str, Any] = {"name": c.choice(self.world.event_names or ["x"]), "category": "action"}
                events.append({"id": event_id, "type": "track", "occurredAt": at, "data": data})
            elif kind == "points":
                agent = self.raw_uuid("Agent") if not c.fault(30) else str(uuid.UUID(int=c.integer(1, 2**64)))
                events.append({"id": event_id, "type": "points.awarded", "occurredAt": at,
                               "data": {"agent_id": agent, "points": c.integer(-5, 5), "reason": "generated"}})
            else:
                events.append(c.choice([
                    {"id": event_id, "type": "no.such.type", "occurredAt": at},
                    {"id": "not-a-uuid", "type": "track", "occurredAt": at, "data": {"name": "x"}},
                    {"id": event_id, "type": "track", "occurredAt": "yesterday", "data": {"name": "x",
                                                                                           "category": "action"}},
                ]))
        if events and c.fault(10):
            events.append(dict(events[0]))  # the same event twice in one batch
        return events

    def settings(self) -> dict[str, Any]:
        c = self.choose
        chosen: dict[str, Any] = {}
        if c.chance(50):
            chosen["timezone"] = "Mars/Olympus" if c.fault(20) else c.choice(TIMEZONES)
        if c.chance(50) or not chosen:
            chosen["serviceLevelThresholdSeconds"] = self.positive(5, 60, [0, 3601])
        if c.chance(30):
            chosen["defaultExportFormat"] = EnumValue(c.choice(enum_values("ExportFormat")))
        return chosen

    def of_type(self, name: str, type_: GraphQLInputType, where: str) -> Any:
        """A value of `type_` for the argument or input field `name` (of `where`)."""
        c = self.choose
        inner = unwrap(type_)
        named = get_named_type(type_)
        if name in ID_KINDS:
            return self.id_of(ID_KINDS[name])
        if name == "id" and where == "Query.node":
            return self.any_id()
        if name == "range":
            return self.date_range()
        if name == "first":
            return self.positive(1, MAX_FIRST, [0, 201]) if where == "Query.leaderboard" else self.first()
        if name == "after":
            return self.cursor()
        if name == "agents":
            if c.fault(8):
                return c.choice([[], [self.id_of("Team")], [encode_id("Agent", uuid.UUID(int=7))]])
            return unique([self.id_of("Agent") for _ in range(c.integer(1, 3))])
        if name == "names":
            return unique([c.choice([*self.world.event_names, "no_such_event"]) for _ in range(c.integer(1, 2))])
        if name == "horizon":
            return self.positive(1, 6, [0, 367])
        if name == "top":
            return self.positive(1, MAX_FIRST, [0, -3])
        if name == "level":
            return self.ratio([0.8, 0.95], [0.0, 1.5])
        if name in ("alpha", "beta"):
            return self.ratio([0.2, 0.6], [-0.5, 1.5])
        if name == "events":
            return self.events()
        if name == "settings":
            return self.settings()
        if name == "name" and where.startswith("Mutation."):
            return c.choice(["Bad Name!", "x" * 70]) if c.fault(15) else c.choice(
                [*self.world.custom_metrics, "generated_metric"])
        if name == "formula":
            return c.choice(BAD_FORMULAS) if c.fault(20) else c.choice(FORMULAS)
        if name == "description":
            return "d" * 1001 if c.fault(10) else c.choice(["", "made by a test"])
        if isinstance(inner, GraphQLList):
            return [self.of_type(name, inner.of_type, where) for _ in range(c.integer(1, 2))]
        if isinstance(named, GraphQLEnumType):
            return EnumValue(c.choice(list(named.values)))
        if isinstance(named, GraphQLInputObjectType):
            return self.input_object(named, where)
        scalar = named.name
        if scalar == "Int":
            return c.integer(1, 3)
        if scalar == "Float":
            return c.choice([0.5, 1, 2.5])
        if scalar == "Boolean":
            return c.choice([True, False])
        if scalar == "ID":
            return self.any_id()
        if scalar == "Date":
            return (FIRST_DAY + timedelta(days=c.integer(0, 13))).isoformat()
        return c.choice(["x", "generated"])

    def input_object(self, type_: GraphQLInputObjectType, where: str) -> dict[str, Any]:
        c = self.choose
        chosen: dict[str, Any] = {}
        for name, definition in type_.fields.items():
            required = isinstance(definition.type, GraphQLNonNull) and definition.default_value is Undefined
            if required or c.chance(35):
                nullable = not isinstance(definition.type, GraphQLNonNull)
                chosen[name] = None if nullable and c.chance(10) else self.of_type(
                    name, definition.type, f"{where}.{name}")
        return chosen

    def arguments(self, parent: GraphQLObjectType, name: str, definition: GraphQLField) -> dict[str, Any]:
        """The arguments to give `parent.name` (the others are left out)."""
        c = self.choose
        where = f"{parent.name}.{name}"
        chosen: dict[str, Any] = {}
        args = definition.args
        if "metric" in args or "metrics" in args:
            chosen.update(self.metric_names(many="metrics" in args))
        for arg_name, arg in args.items():
            if arg_name in ("metric", "customMetric", "metrics", "customMetrics"):
                continue
            required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
            # Connections always get a small `first` (their default is 50).
            wanted = required or (arg_name == "first" and is_connection(definition)) or (
                not self.minimal and c.chance(25))
            if not wanted:
                continue
            if not isinstance(arg.type, GraphQLNonNull) and c.chance(5):
                chosen[arg_name] = None
                continue
            chosen[arg_name] = self.of_type(arg_name, arg.type, where)
        if is_connection(definition) and chosen.get("first") is None:
            chosen["first"] = self.first()
        return chosen


def unique(items: list[T]) -> list[T]:
    return list(dict.fromkeys(items))


def enum_values(name: str) -> list[str]:
    type_ = GRAPHQL.type_map[name]
    assert isinstance(type_, GraphQLEnumType)
    return list(type_.values)


@dataclass
class Scope:
    """Response keys of one selection set (its fragments included): a taken key gets an alias, never a merge."""

    keys: set[str] = field(default_factory=set)
    always_alias: bool = False


@dataclass
class Builder:
    """One document under construction."""

    world: World
    choose: Chooser
    values: Values = field(init=False)
    definitions: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    fragments: dict[str, tuple[GraphQLCompositeType, str]] = field(default_factory=dict)
    counter: int = 0
    fields: int = 0

    def __post_init__(self) -> None:
        self.values = Values(self.world, self.choose)

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- values and variables -------------------------------------------------------------------------------

    def argument(self, type_: GraphQLInputType, value: Any) -> str:
        """The argument's text: a literal or, now and then, a variable (with or without a default)."""
        c = self.choose
        if not c.chance(30):
            return literal(value)
        name = self.fresh("v")
        if value is not None and c.chance(35):
            # A nullable variable with a default, also where the argument is non-null; usually left unsent.
            self.definitions.append(f"${name}: {unwrap(type_)} = {literal(value)}")
            if c.chance(30):
                self.variables[name] = value
            return f"${name}"
        self.definitions.append(f"${name}: {type_}")
        if value is not None or c.chance(50):
            self.variables[name] = value
        return f"${name}"

    def condition(self) -> str:
        c = self.choose
        directive = c.choice(["skip", "include"])
        value = c.choice([True, False])
        if c.chance(50):
            return f" @{directive}(if: {literal(value)})"
        name = self.fresh("c")
        if c.chance(30):
            self.definitions.append(f"${name}: Boolean = {literal(value)}")
            if c.chance(50):
                self.variables[name] = not value
        else:
            self.definitions.append(f"${name}: Boolean!")
            self.variables[name] = value
        return f" @{directive}(if: ${name})"

    def directives(self) -> str:
        return self.condition() if self.choose.chance(10) else ""

    # -- selections -----------------------------------------------------------------------------------------

    def field(self, parent: GraphQLObjectType, name: str, depth: int, scope: Scope) -> str:
        definition = parent.fields[name]
        self.fields += 1
        arguments = self.values.arguments(parent, name, definition)
        rendered = ", ".join(f"{k}: {self.argument(definition.args[k].type, v)}" for k, v in arguments.items())
        text = f"{name}({rendered})" if rendered else name
        if scope.always_alias or name in scope.keys or self.choose.chance(12):
            key = self.fresh("a")
            text = f"{key}: {text}"
        else:
            key = name
        scope.keys.add(key)
        named = get_named_type(definition.type)
        text += self.directives()
        if is_composite_type(named):
            excluded = CLOCK_FIELDS.get(name, frozenset()) if parent.name == "Mutation" else frozenset()
            text += " { " + self.selection(named, depth - 1, Scope(), excluded) + " }"
        return text

    def fields_of(self, type_: GraphQLObjectType | GraphQLInterfaceType, depth: int,
                  excluded: frozenset[str]) -> list[str]:
        names = [n for n in type_.fields if n not in excluded]
        if depth <= 0 or self.fields >= MAX_FIELDS:
            names = [n for n in names if is_leaf_type(get_named_type(type_.fields[n].type))]
        return names

    def selection(self, type_: GraphQLCompositeType, depth: int, scope: Scope,
                  excluded: frozenset[str] = frozenset()) -> str:
        """The inside of a selection set on `type_` (never empty)."""
        c = self.choose
        parts: list[str] = []
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            names = self.fields_of(type_, depth, excluded)
            wanted = c.integer(1 if isinstance(type_, GraphQLObjectType) else 0, 3)
            for _ in range(min(wanted, len(names))):
                name = c.choice(names)
                names.remove(name)
                parts.append(self.field(type_, name, depth, scope))
        if isinstance(type_, GraphQLInterfaceType):
            for _ in range(c.integer(1, 2)):
                possible = c.choice(GRAPHQL.get_possible_types(type_))
                parts.append(self.inline_fragment(possible, depth, scope, excluded))
        if c.chance(12) and depth > 0:
            parts.append(self.inline_fragment(self.overlapping(type_), depth, scope, excluded, type_))
        if c.chance(12) and depth > 0:
            parts.append(self.spread(type_, depth, excluded))
        if c.chance(12) or not parts:
            key = "__typename" if "__typename" not in scope.keys and not scope.always_alias else self.fresh("a")
            scope.keys.add(key)
            parts.append("__typename" if key == "__typename" else f"{key}: __typename")
        if parts and c.chance(8):
            parts.append(c.choice(parts))  # the same selection twice: graphql merges them
        return " ".join(parts)

    def overlapping(self, type_: GraphQLCompositeType) -> GraphQLCompositeType:
        """A type a fragment inside a selection on `type_` may name: itself, an interface of it, a possible type."""
        candidates: list[GraphQLCompositeType] = [type_]
        if isinstance(type_, GraphQLObjectType):
            candidates += type_.interfaces
        if isinstance(type_, GraphQLInterfaceType):
            candidates += GRAPHQL.get_possible_types(type_)
            candidates += [t for t in GRAPHQL.type_map.values()
                           if isinstance(t, GraphQLInterfaceType) and t is not type_
                           and do_types_overlap(GRAPHQL, t, type_)]
        return self.choose.choice(candidates)

    def inline_fragment(self, on: GraphQLCompositeType, depth: int, scope: Scope, excluded: frozenset[str],
                        parent: GraphQLCompositeType | None = None) -> str:
        # Without a type condition a fragment is on its parent's type.
        condition = "" if on is parent and self.choose.chance(30) else f" on {on.name}"
        body = self.selection(on, depth, scope, excluded)
        return f"...{condition}{self.directives()} {{ {body} }}"

    def spread(self, type_: GraphQLCompositeType, depth: int, excluded: frozenset[str]) -> str:
        """A named fragment on a type overlapping `type_`: one already defined, or a new one."""
        usable = [n for n, (on, _) in self.fragments.items() if do_types_overlap(GRAPHQL, on, type_)]
        if usable and self.choose.chance(50):
            name = self.choose.choice(usable)
        else:
            on = self.overlapping(type_)
            # Its own keys are all aliases: spread anywhere, it never collides with what is beside it.
            body = self.selection(on, depth - 1, Scope(always_alias=True), excluded)
            name = self.fresh("F")
            self.fragments[name] = (on, f"fragment {name} on {on.name} {{ {body} }}")
        return f"...{name}{self.directives()}"

    # -- operations -----------------------------------------------------------------------------------------

    def operation(self, mutation: bool, roots: int, depth: int) -> Operation:
        root = GRAPHQL.mutation_type if mutation else GRAPHQL.query_type
        assert root is not None
        scope = Scope()
        names = list(root.fields)
        parts = []
        for _ in range(roots):
            name = self.choose.choice(names)
            names.remove(name)
            parts.append(self.field(root, name, depth, scope))
        if not mutation and self.choose.chance(8):
            parts.append(self.inline_fragment(root, depth, scope, frozenset(), root))
        if not mutation and self.choose.chance(5):
            parts.append("__typename" if "__typename" not in scope.keys else f"{self.fresh('a')}: __typename")
        return self.document("mutation" if mutation else "query", " ".join(parts))

    def document(self, keyword: str, body: str) -> Operation:
        name = self.fresh("Op") if self.choose.chance(20) else None
        header = keyword
        if name is not None:
            header += f" {name}"
        if self.definitions:
            header += "(" + ", ".join(self.definitions) + ")"
        text = f"{header} {{ {body} }}"
        if self.fragments:
            text += "\n" + "\n".join(f for _, f in self.fragments.values())
        if name is not None and self.choose.chance(30):
            # Another operation beside it: the one named must be the one run.
            text += "\nquery Other { __typename }"
        return Operation(text, dict(self.variables), name)


def check(operation: Operation) -> Operation:
    """The operation, after making sure graphql-core and the gateway's limits accept it."""
    errors = validate(GRAPHQL, parse(operation.query), [*specified_rules, QuerySizeRule])
    assert not errors, f"generated an invalid operation: {errors}\n{operation.query}"
    return operation


def operations(world: World, mutations: int = 10) -> st.SearchStrategy[Operation]:
    """Random operations on the seeded world: mostly queries, `mutations` percent mutations."""

    @st.composite
    def build(draw: st.DrawFn) -> Operation:
        choose = Drawn(draw)
        mutation = choose.chance(mutations)
        builder = Builder(world, choose)
        return check(builder.operation(mutation, choose.integer(1, 2 if mutation else 3), choose.integer(1, 6)))

    return build()




Path = list[tuple[GraphQLObjectType, str]]


def runtime_targets(parent: GraphQLObjectType, definition: GraphQLField) -> list[GraphQLObjectType]:
    """The object types a field's values are known to have: its type, or for an interface the parent's own
    kind of it (Agent.metrics is AgentMetrics); `node(id:)` is left out, the id decides."""
    named = get_named_type(definition.type)
    if isinstance(named, GraphQLObjectType):
        return [named]
    if isinstance(named, GraphQLInterfaceType):
        own = GRAPHQL.type_map.get(parent.name + named.name)
        return [own] if isinstance(own, GraphQLObjectType) else []
    return []


def paths_to_every_type() -> dict[str, Path]:
    """For each object type reachable from the roots, the cheapest field path to it: a nullable to-one relation
    costs more than a list or a non-null field, as it may well be null (Query's paths before Mutation's)."""
    roots = [t for t in (GRAPHQL.query_type, GRAPHQL.mutation_type) if t is not None]
    found: dict[str, Path] = {}
    queue: list[tuple[int, int, GraphQLObjectType, Path]] = [(0, i, root, []) for i, root in enumerate(roots)]
    order = len(queue)
    while queue:
        queue.sort(key=lambda entry: (entry[0], entry[1]))
        cost, _, type_, path = queue.pop(0)
        if type_.name in found:
            continue
        found[type_.name] = path
        for name, definition in type_.fields.items():
            step = 1 if isinstance(definition.type, GraphQLNonNull) or isinstance(unwrap(definition.type),
                                                                                     GraphQLList) else 5
            for target in runtime_targets(type_, definition):
                if target.name not in found:
                    order += 1
                    queue.append((cost + step, order, target, [*path, (type_, name)]))
    return found


@dataclass
class EveryField:
    """Builds `root { … { <every field of a type> } }`, with valid arguments and lists long enough to show
    every kind of row."""

    world: World
    seed: int

    def __post_init__(self) -> None:
        self.builder = Builder(self.world, Fixed(self.seed))
        self.builder.values.minimal = True

    def arguments(self, parent: GraphQLObjectType, name: str) -> str:
        definition = parent.fields[name]
        arguments = self.builder.values.arguments(parent, name, definition)
        if is_connection(definition):
            arguments["first"] = 10
            arguments.pop("after", None)
        if name == "trackEvents":
            # One good event and one refused, so that the report has a RejectedEvent.
            arguments["events"] = [
                {"id": str(uuid.UUID(int=1, version=4)), "type": "track", "occurredAt": f"{END}T12:00:00Z",
                 "data": {"name": "generated", "category": "action"}},
                {"id": str(uuid.UUID(int=2, version=4)), "type": "no.such.type", "occurredAt": f"{END}T12:00:00Z"},
            ]
        rendered = ", ".join(f"{k}: {literal(v)}" for k, v in arguments.items())
        return f"{name}({rendered})" if rendered else name

    def all_fields(self, type_: GraphQLObjectType, excluded: frozenset[str]) -> str:
        parts = []
        for name, definition in type_.fields.items():
            if name in excluded:
                continue
            text = self.arguments(type_, name)
            if is_composite_type(get_named_type(definition.type)):
                text += " { __typename }"
            parts.append(text)
        return " ".join(parts)

    def operation(self, type_name: str, path: Path) -> Operation:
        target = GRAPHQL.type_map[type_name]
        assert isinstance(target, GraphQLObjectType)
        root = path[0][0] if path else target
        excluded = CLOCK_FIELDS.get(path[-1][1], frozenset()) if path and path[-1][0].name == "Mutation" \
            else frozenset()
        inner = self.all_fields(target, excluded)
        for parent, name in reversed(path):
            named = get_named_type(parent.fields[name].type)
            body = inner if named is target else f"... on {target.name} {{ {inner} }}"
            inner = f"{self.arguments(parent, name)} {{ {body} }}"
            target = parent
        return check(self.builder.document("mutation" if root.name == "Mutation" else "query", inner))


def every_field_operations(world: World) -> list[Operation]:
    """One operation per object type reachable from the roots, selecting every field of it."""
    return [EveryField(world, seed).operation(type_name, path)
            for seed, (type_name, path) in enumerate(sorted(paths_to_every_type().items()))]
