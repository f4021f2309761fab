"""What an operation will cost, known before any SQL runs; over the budget it is refused with QUERY_TOO_COMPLEX.

The cost is an upper bound of the work an answer can take, in units of roughly a microsecond of the gateway's
time (one field value resolved and serialised):

    cost(selection set) = Σ over its fields:  work(field) + items(field) × (weight(field) + cost(its selections))

- items: 1 for one value; for a list, the most it can hold — a connection's `edges` its `first` (default 50), a
  leaderboard's `entries` its `first`, series and trend values the buckets of the range at the granularity,
  `series` the metrics asked for, a forecast's values its `horizon`, `compare` rows its agents,
  `dailyReports` the range's days, introspection lists their average size in this schema, lists of an enum
  the enum's size, and UNBOUNDED_LIST for the few lists nothing bounds (an agent's campaigns, a lead's history);
- weight: FIELD per value, INTROSPECTION_FIELD for introspection (graphql-core's generic executor runs it);
- work: what a field computes beyond its values (the weights below): a series' buckets × metrics, a forecast's
  fitting, a ranking, a scan of raw track events, the events trackEvents stores.

Arguments come from the document and the request's variables: graphql-core's validation rules do not see
variables, so this runs as a Strawberry extension right after validation, which does. Arguments outside their
allowed range are priced at the bound (the resolver refuses them with BAD_USER_INPUT, the better answer).
Fragments count where they are spread, aliases as the fields they are; on an abstract type every fragment
counts, and @skip/@include are not looked at (an upper bound).
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_list_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from graphql.utilities import value_from_ast_untyped
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.analysis import MAX_HORIZON
from gateway.limits import limits_of, too_complex
from gateway.periods import MAX_BUCKETS, MAX_DAYS

# The weights, in units (README "Cost of an operation"). A unit is about a microsecond of the gateway's time.
FIELD: Final = 1  # each field value the answer can hold
INTROSPECTION_FIELD: Final = 4  # each introspection value: graphql-core's generic executor resolves it
SERIES_POINT: Final = 1  # each bucket of each metric a series or trend computes from the rollups
FORECAST_FIT: Final = 160  # each bucket of a fitted forecast: ≈480 passes over the series, 3 passes a unit
RANKING: Final = 200  # a leaderboard or a standing ranks every agent of its scope
EVENT_SCAN_DAY: Final = 100  # each day of raw track events eventAnalytics reads
EVENT_INGESTED: Final = 20  # each event trackEvents validates and stores
UNBOUNDED_LIST: Final = 20  # the size assumed for a list nothing bounds
# A user's widgets, and the most series points one widget shows (both enforced when widgets are written).
MAX_WIDGETS: Final = 100
MAX_WIDGET_POINTS: Final = 2000
# What reading one widget's figures can take, whatever its stored config: its series points, or a ranking,
# or a table of MAX_COMPARED agents.
WIDGET_DATA: Final = MAX_WIDGET_POINTS * SERIES_POINT + RANKING
# Deeper than any useful document (the size rule allows 12 levels, introspection about 10 more).
MAX_WALK_DEPTH: Final = 64
# Above this, a cost is reported as this (JSON numbers stay exact, a fragment bomb stays printable).
REPORTED_MAX: Final = 10**15

# The bounds the resolvers enforce (gateway/schema/pagination.py, gateway/resolvers/…; a test keeps them equal):
# importing them here would import the schema, which imports this module.
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200
MAX_ENTRIES: Final = 200
MAX_ASKED: Final = 20
MAX_COMPARED: Final = 50
MAX_TOP: Final = 50
MAX_NAMES: Final = 20

PRESET_DAYS: Final = {"TODAY": 1, "YESTERDAY": 1, "LAST_7_DAYS": 7, "LAST_30_DAYS": 30, "THIS_WEEK": 7,
                      "LAST_WEEK": 7, "THIS_MONTH": 31, "LAST_MONTH": 31}
QUARTERS_PER_DAY: Final = 100  # 96, and 100 on a day that has 25 hours
HOURS_PER_DAY: Final = 25


@dataclass(frozen=True)
class _Frame:
    """What the fields above have said about the sizes below (a connection's page, a series' buckets, …)."""

    page: int = DEFAULT_PAGE_SIZE
    days: int = 1
    buckets: int = 1
    metrics: int = 1
    horizon: int = 1
    agents: int = 1
    names: int = 1
    top: int = 1
    events: int = 0


_ITEMS: Final[Mapping[tuple[str, str], Callable[[_Frame], float]]] = {
    ("Series", "bucketStarts"): lambda f: f.buckets,
    ("Series", "series"): lambda f: f.metrics,
    ("SeriesValues", "values"): lambda f: f.buckets,
    ("Trend", "bucketStarts"): lambda f: f.buckets,
    ("Trend", "values"): lambda f: f.buckets,
    ("Forecast", "historyStarts"): lambda f: f.buckets,
    ("Forecast", "history"): lambda f: f.buckets,
    ("Forecast", "bucketStarts"): lambda f: f.horizon,
    ("Forecast", "values"): lambda f: f.horizon,
    ("Forecast", "lower"): lambda f: f.horizon,
    ("Forecast", "upper"): lambda f: f.horizon,
    ("Leaderboard", "entries"): lambda f: f.page,
    ("Comparison", "rows"): lambda f: f.agents,
    ("Comparison", "names"): lambda f: f.metrics,
    ("Comparison", "metrics"): lambda f: f.metrics,
    ("ComparisonRow", "values"): lambda f: f.metrics,
    ("ComparisonRow", "previous"): lambda f: f.metrics,
    ("ComparisonRow", "change"): lambda f: f.metrics,
    ("EventAnalytics", "bucketStarts"): lambda f: f.buckets,
    ("EventAnalytics", "series"): lambda f: f.names,
    ("EventAnalytics", "topNames"): lambda f: f.top,
    ("EventNameSeries", "events"): lambda f: f.buckets,
    ("EventNameSeries", "uniqueUsers"): lambda f: f.buckets,
    ("Query", "dailyReports"): lambda f: f.days,
    ("IngestReport", "rejected"): lambda f: f.events,
    ("Query", "widgets"): lambda f: MAX_WIDGETS,
}
# Lists of one item per value of an enum (the categories have a `null` one too).
_PER_ENUM_VALUE: Final = {("Funnel", "stages"): ("LeadStage", 0),
                           ("EventAnalytics", "byCategory"): ("EventCategory", 1)}


@dataclass(frozen=True)
class Cost:
    """An operation's cost, and what each of its root selections contributes."""

    total: float
    parts: tuple[tuple[str, float], ...]

    @property
    def units(self) -> int:
        return REPORTED_MAX if not self.total < REPORTED_MAX else math.ceil(self.total)

    def costliest(self) -> tuple[str, float] | None:
        return max(self.parts, key=lambda p: p[1], default=None)


def operation_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                   variables: Mapping[str, object] | None) -> Cost:
    """The cost of the operation `operation_name` of a valid document with these (uncoerced) variables."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return Cost(0.0, ())
    root = schema.get_root_type(operation.operation)
    if root is None:
        return Cost(0.0, ())
    walker = _Walker(schema, document, _variables(operation, variables))
    parts = [(_label(s), walker.selections(root, SelectionSetNode(selections=(s,)), _Frame(), 0))
             for s in operation.selection_set.selections]
    return Cost(sum(cost for _, cost in parts), tuple(parts))


def _label(selection: Any) -> str:
    if isinstance(selection, FieldNode):
        return (selection.alias or selection.name).value
    if isinstance(selection, FragmentSpreadNode):
        return f"...{selection.name.value}"
    condition = selection.type_condition
    return f"... on {condition.name.value}" if condition is not None else "..."


def _variables(operation: OperationDefinitionNode, given: Mapping[str, object] | None) -> dict[str, Any]:
    """The request's variables as sent, with the operation's defaults for those not sent."""
    values = dict(given or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    return values


class _Walker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[tuple[str, _Frame], float] = {}

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode, frame: _Frame,
                   depth: int) -> float:
        """The cost of a selection set for one parent object."""
        if depth > MAX_WALK_DEPTH:
            return math.inf
        total = 0.0
        if parent.name in ONE_OF:
            # Only one of these fields holds a value (the widget type's): the costliest one bounds them.
            return max((self.field(parent, s, frame, depth) for s in selection_set.selections
                        if isinstance(s, FieldNode)), default=0.0) + FIELD * len(selection_set.selections)
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, frame, depth)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selections(self._condition(selection.type_condition, parent),
                                         selection.selection_set, frame, depth)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(parent, selection.name.value, frame, depth)
        return total

    def spread(self, parent: GraphQLNamedType, name: str, frame: _Frame, depth: int) -> float:
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0.0
        key = (name, frame)
        if key not in self.memo:
            # Linear in the number of parents, so priced once per frame: a fragment spread a thousand times is
            # walked once (and a fragment cycle, which validation refuses anyway, ends here).
            self.memo[key] = math.inf
            self.memo[key] = self.selections(self._condition(fragment.type_condition, parent),
                                             fragment.selection_set, frame, depth)
        return self.memo[key]

    def _condition(self, condition: Any, parent: GraphQLNamedType) -> GraphQLNamedType:
        named = self.schema.get_type(condition.name.value) if condition is not None else None
        return named if named is not None else parent

    def field(self, parent: GraphQLNamedType, node: FieldNode, frame: _Frame, depth: int) -> float:
        name = node.name.value
        definition = self._definition(parent, name)
        if definition is None:
            return 0.0  # not a field of this type: validation has said so already
        arguments = self._arguments(definition, node)
        inner = WIDGET_FRAME if (parent.name, name) in WIDGET_FIGURES else _derive(frame, arguments)
        introspective = name.startswith("__") or parent.name.startswith("__")
        weight = INTROSPECTION_FIELD if introspective else FIELD
        items = self._items(parent, name, definition, inner) if is_list_type(get_nullable_type(definition.type)) \
            else 1.0
        below = 0.0
        if node.selection_set is not None:
            below = self.selections(get_named_type(definition.type), node.selection_set, inner, depth + 1)
        return _work(parent, name, arguments, inner) + items * (weight + below)

    def _definition(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        if name == "__typename":
            return TypeNameMetaFieldDef
        if parent is self.schema.query_type and name in ("__schema", "__type"):
            return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            field: GraphQLField | None = parent.fields.get(name)
            return field
        return None

    def _arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        given = {a.name.value: a.value for a in node.arguments or ()}
        values: dict[str, Any] = {}
        for name, argument in definition.args.items():
            value = value_from_ast_untyped(given[name], self.variables) if name in given else Undefined
            if value is Undefined:
                value = argument.default_value
            values[name] = None if value is Undefined else value
        return values

    def _items(self, parent: GraphQLNamedType, name: str, definition: GraphQLField, frame: _Frame) -> float:
        """How many items the list can hold."""
        rule = _ITEMS.get((parent.name, name))
        if rule is not None:
            return rule(frame)
        if name == "edges" and parent.name.endswith("Connection"):
            return frame.page
        if parent.name.startswith("__"):
            return _introspection_sizes(self.schema).get((parent.name, name), UNBOUNDED_LIST)
        per_value = _PER_ENUM_VALUE.get((parent.name, name))
        named = self.schema.get_type(per_value[0]) if per_value is not None else get_named_type(definition.type)
        if isinstance(named, GraphQLEnumType):
            return len(named.values) + (per_value[1] if per_value is not None else 0)
        return UNBOUNDED_LIST


@functools.lru_cache(maxsize=4)
def _introspection_sizes(schema: GraphQLSchema) -> dict[tuple[str, str], float]:
    """Introspection lists at their average size: over `types { fields … }` the totals come out exact."""
    types = list(schema.type_map.values())
    count = len(types)
    fields = [f for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType) for f in t.fields.values()]
    directives = max(1, len(schema.directives))

    def total(of: Callable[[GraphQLNamedType], int]) -> int:
        return sum(of(t) for t in types)

    return {
        ("__Schema", "types"): count,
        ("__Schema", "directives"): len(schema.directives),
        ("__Type", "fields"): len(fields) / count,
        ("__Type", "interfaces"): total(lambda t: len(getattr(t, "interfaces", ()))) / count,
        ("__Type", "possibleTypes"): total(
            lambda t: len(schema.get_possible_types(t)) if is_abstract_type(t) else 0) / count,
        ("__Type", "enumValues"): total(lambda t: len(t.values) if isinstance(t, GraphQLEnumType) else 0) / count,
        ("__Type", "inputFields"): total(
            lambda t: len(t.fields) if isinstance(t, GraphQLInputObjectType) else 0) / count,
        ("__Field", "args"): sum(len(f.args) for f in fields) / max(1, len(fields)),
        ("__Directive", "args"): sum(len(d.args) for d in schema.directives) / directives,
        ("__Directive", "locations"): sum(len(d.locations) for d in schema.directives) / directives,
    }


def _int(value: object, default: int, low: int, high: int) -> int:
    number = value if isinstance(value, int) and not isinstance(value, bool) else default
    return max(low, min(high, number))


def _count(value: object, high: int) -> int:
    return min(high, len(value)) if isinstance(value, list) else 0


def _name(value: object) -> str | None:
    """An enum value's GraphQL name, from a literal or a variable (a string) or a default (a Python enum)."""
    if isinstance(value, enum.Enum):
        return value.name
    return value if isinstance(value, str) else None


def _days(value: object) -> int:
    """The days a DateRange spans (1 when it cannot be read: the resolver then refuses it)."""
    if not isinstance(value, dict):
        return 1
    preset = _name(value.get("preset"))
    if preset is not None:
        return PRESET_DAYS.get(preset, 31)
    try:
        start, end = date.fromisoformat(str(value.get("from"))), date.fromisoformat(str(value.get("to")))
    except ValueError:
        return 1
    return max(1, min(MAX_DAYS, (end - start).days + 1))


def _buckets(days: int, granularity: str | None) -> int:
    if granularity == "QUARTER_HOUR":
        return min(MAX_BUCKETS, days * QUARTERS_PER_DAY)
    if granularity == "HOUR":
        return min(MAX_BUCKETS // 4 + 1, days * HOURS_PER_DAY)
    if granularity == "WEEK":
        return -(-days // 7) + 1
    if granularity == "MONTH":
        return -(-days // 28) + 1
    return days


def most_buckets(range_: Mapping[str, Any], granularity: str | None) -> int:
    """The most buckets a series over this DateRange (as a dict: `from`/`to` or `preset`) can have."""
    return _buckets(_days(range_), granularity)


def _derive(frame: _Frame, arguments: Mapping[str, Any]) -> _Frame:
    """The frame below a field, from its arguments."""
    changes: dict[str, int] = {}
    if "first" in arguments:
        changes["page"] = _int(arguments["first"], DEFAULT_PAGE_SIZE, 0, max(MAX_PAGE_SIZE, MAX_ENTRIES))
    if "range" in arguments:
        days = _days(arguments["range"])
        changes["days"] = days
        changes["buckets"] = _buckets(days, _name(arguments.get("granularity")) or "DAY")
    if "metrics" in arguments or "customMetrics" in arguments:
        asked = _count(arguments.get("metrics"), MAX_ASKED) + _count(arguments.get("customMetrics"), MAX_ASKED)
        changes["metrics"] = max(1, min(MAX_ASKED, asked))
    elif "metric" in arguments or "customMetric" in arguments:
        changes["metrics"] = 1
    if "horizon" in arguments:
        changes["horizon"] = _int(arguments["horizon"], 7, 1, MAX_HORIZON)
    if "agents" in arguments:
        changes["agents"] = max(1, _count(arguments["agents"], MAX_COMPARED))
    if "top" in arguments:
        top = _int(arguments["top"], 10, 0, MAX_TOP)
        changes["top"] = top
        changes["names"] = _count(arguments.get("names"), MAX_NAMES) or top
    if "events" in arguments:
        changes["events"] = len(arguments["events"]) if isinstance(arguments["events"], list) else 0
    return replace(frame, **changes) if changes else frame


def _measurable(parent: GraphQLNamedType) -> bool:
    return parent.name == "Measurable" or any(i.name == "Measurable" for i in getattr(parent, "interfaces", ()))


def _work(parent: GraphQLNamedType, name: str, arguments: Mapping[str, Any], frame: _Frame) -> float:
    """What a field computes beyond the values it returns."""
    if name in ("series", "trend", "forecast") and _measurable(parent):
        if name == "series":
            return frame.buckets * frame.metrics * SERIES_POINT
        if name == "forecast" and (arguments.get("alpha") is None or arguments.get("beta") is None):
            return frame.buckets * FORECAST_FIT
        return frame.buckets * SERIES_POINT
    key = (parent.name, name)
    if key in (("Query", "leaderboard"), ("Agent", "standing")):
        return RANKING
    if key == ("Query", "compare"):
        return 2 * frame.agents * frame.metrics * SERIES_POINT
    if key == ("Query", "eventAnalytics"):
        return frame.days * EVENT_SCAN_DAY + frame.names * frame.buckets * SERIES_POINT
    if key == ("Mutation", "trackEvents"):
        return frame.events * EVENT_INGESTED
    if key in WIDGET_FIGURES:
        return WIDGET_DATA
    return 0.0


# Fields whose figures come from a widget's stored config, not from the document's arguments: priced at the
# worst a widget may hold, and what is below them framed the same way.
# Types whose fields are alternatives: WidgetData sets the one field of its widget's type.
ONE_OF: Final = frozenset({"WidgetData"})
WIDGET_FIGURES: Final = frozenset({("Widget", "data"), ("Subscription", "widgetData")})
WIDGET_FRAME: Final = _Frame(page=MAX_ENTRIES, days=31, buckets=MAX_WIDGET_POINTS // MAX_ASKED, metrics=MAX_ASKED,
                             agents=MAX_COMPARED)


def cost_error(cost: Cost, budget: int, node: Any = None) -> GraphQLError:
    costliest = cost.costliest()
    where = f"; most of it is `{costliest[0]}` ({min(REPORTED_MAX, math.ceil(costliest[1])):,})" \
        if costliest is not None and len(cost.parts) > 1 else ""
    error = too_complex(f"the operation would cost {cost.units:,} units, over the budget of {budget:,}{where}: "
                        "ask for fewer items (first), fewer metrics, a shorter range or a coarser granularity",
                        "cost", cost=cost.units, budget=budget)
    return GraphQLError(error.message, node, extensions=error.extensions)


class QueryCost(SchemaExtension):
    """Prices each valid operation after validation, before anything runs; refuses it over the budget."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.graphql_document is not None:
            if ec.pre_execution_errors is None:
                # No validation cache before this extension: validate here (Strawberry then skips its own).
                ec.pre_execution_errors = validate_document(ec.schema._schema, ec.graphql_document,
                                                            ec.validation_rules)
            if not ec.pre_execution_errors:
                budget = limits_of(ec.context).cost_budget
                cost = operation_cost(ec.schema._schema, ec.graphql_document, ec.operation_name, ec.variables)
                if cost.total > budget:
                    # A new list: the validation cache's own must stay as it is.
                    ec.pre_execution_errors = [cost_error(cost, budget, get_operation_ast(
                        ec.graphql_document, ec.operation_name))]
        yield
