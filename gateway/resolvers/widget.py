"""Dashboard widgets: each user's own, their writes, and their figures through the graph's own resolvers.

A widget is its owner's: the directory user its token names. Anyone else — another user of the tenant, another
tenant — gets NOT_FOUND, as for a widget that does not exist. Its figures are resolved at every read by the same
functions as the query a client would send (`metrics`, `series`, `leaderboard`, `funnel`, `compare`), under the
reader's role: a manager whose team was taken away gets their FORBIDDEN. A config is checked when it is written
by resolving it once the same way, so what a user can save is what the graph would answer; its errors name the
input field (`extensions.argument`, e.g. `input.config.range`).

The live hub (gateway/live) refreshes a `widgetData` subscription with `widget_for_owner` and `widget_data`,
and reads what it depends on from `widget.row.config` (a frozen WidgetConfig).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Final
from uuid import UUID

import strawberry

from gateway.auth import READERS
from gateway.context import Context
from gateway.cost import MAX_WIDGET_POINTS, most_buckets
from gateway.errors import BadUserInput, Forbidden, NotFound
from gateway.ids import decode_id, encode_id
from gateway.live.signals import ConfigChange, signal_config
from gateway.loaders import widget as widget_sql
from gateway.loaders.widget import DayRange, GridPosition, WidgetConfig, WidgetRow, WidgetType
from gateway.metrics import Metric, Scope
from gateway.resolvers import agent as agent_resolvers
from gateway.resolvers import custom_metric
from gateway.resolvers import funnel as funnel_resolvers
from gateway.resolvers import leaderboard as leaderboard_resolvers
from gateway.resolvers import metrics as metric_resolvers
from gateway.schema.agent import AgentFilter
from gateway.schema.leaderboard import Comparison, RankingScope
from gateway.schema.live import MetricValue
from gateway.schema.metrics import DateRange
from gateway.schema.scope import ENTITY_TYPES, ScopeInput, scope_key
from gateway.schema.widget import (
    CreateWidgetInput,
    UpdateWidgetInput,
    Widget,
    WidgetConfigInput,
    WidgetData,
    WidgetMoveInput,
    WidgetPositionInput,
)

GRID_COLUMNS: Final = 24
GRID_ROWS: Final = 1000
MAX_SPAN: Final = 24
MAX_TITLE: Final = 200
DEFAULT_FIRST: Final = 10

# The scopes each type can show, as the resolver behind it takes them.
SCOPES: Final[dict[WidgetType, frozenset[Scope]]] = {
    WidgetType.KPI: frozenset(Scope),
    WidgetType.TIME_SERIES: frozenset(Scope),
    WidgetType.LEADERBOARD: frozenset({Scope.TENANT, Scope.TEAM}),
    WidgetType.FUNNEL: frozenset({Scope.TENANT, Scope.CAMPAIGN}),
    WidgetType.TABLE: frozenset({Scope.TENANT, Scope.TEAM, Scope.AGENT}),
}

# The config field behind each argument the graph's resolvers name in their errors.
_CONFIG_FIELDS: Final = {"range": "range", "granularity": "granularity", "metric": "metrics", "metrics": "metrics",
                         "customMetrics": "customMetrics", "name": "customMetrics", "first": "first",
                         "agents": "scope", "id": "scope"}


# -- reads -------------------------------------------------------------------------------------------------------

async def owner_id(context: Context) -> UUID:
    """The directory user the token names: the owner of what it creates, the only reader of what it owns."""
    principal = context.require(*READERS)
    # For managers and agents the access lookup finds the user too, and primes the loader.
    await context.access()
    user = await context.loaders.user_by_subject.load(principal.user_id)
    if user is None:
        raise Forbidden("widgets belong to a user of the tenant's directory, and this token's subject is none",
                        reason="no_directory_user")
    return user.id


def widget_key(global_id: str, argument: str = "id") -> UUID:
    """The widget's key; BAD_USER_INPUT naming `argument` for an id that is malformed or not a Widget's."""
    try:
        return decode_id(global_id, "Widget")[1]
    except BadUserInput as e:
        raise BadUserInput(e.message, argument=argument) from e


async def widgets(context: Context) -> list[Widget]:
    """The viewer's widgets, top to bottom, left to right."""
    user = await owner_id(context)
    rows = await widget_sql.widgets_of(context.db, user)
    for row in rows:
        context.loaders.widget_by_id.prime(row.id, row)
    return [Widget(row=row) for row in rows]


async def owned(context: Context, key: UUID) -> Widget | None:
    """The widget if it is the viewer's; None for anyone else's and for none at all."""
    user = await owner_id(context)
    row = await context.loaders.widget_by_id.load(key)
    return Widget(row=row) if row is not None and row.user_id == user else None


async def widget_for_owner(context: Context, widget_id: str, *, argument: str = "id") -> Widget:
    """The viewer's widget with this global id; NOT_FOUND for another user's or tenant's, as for a missing one."""
    widget = await owned(context, widget_key(widget_id, argument))
    if widget is None:
        raise NotFound("no such widget")
    return widget


async def widget_data(context: Context, widget: Widget) -> WidgetData:
    """The widget's current figures, under the reader's role."""
    return await figures(context, widget.row.type, widget.row.config)


async def figures(context: Context, widget_type: WidgetType, config: WidgetConfig) -> WidgetData:
    """What the equivalent query answers: each type through the resolver of its root or Measurable field."""
    rng = DateRange(from_=config.range.start, to=config.range.end, preset=config.range.preset)
    kind = config.scope_kind
    measured = config.scope_id if config.scope_id is not None else context.require().tenant_id
    metrics, custom = list(config.metrics), list(config.custom_metrics)
    if widget_type is WidgetType.KPI:
        # As `series` does: the role first, then the metrics asked for, then the figures.
        await metric_resolvers.require_scope(context, kind, measured)
        asked = await custom_metric.specs(context, metrics, custom)
        totals = await metric_resolvers.metrics(context, kind, measured, rng)
        return WidgetData(values=[MetricValue(name=spec.name, metric=spec.builtin,
                                              value=spec.value(totals.counters, kind)) for spec in asked])
    if widget_type is WidgetType.TIME_SERIES:
        assert config.granularity is not None
        return WidgetData(series=await metric_resolvers.series(context, kind, measured, metrics, custom, rng,
                                                               config.granularity))
    if widget_type is WidgetType.LEADERBOARD:
        team = RankingScope(team_id=_global_id(Scope.TEAM, config.scope_id)) if kind is Scope.TEAM else None
        return WidgetData(leaderboard=await leaderboard_resolvers.leaderboard(
            context, metrics[0] if metrics else None, custom[0] if custom else None, rng, team,
            config.first if config.first is not None else DEFAULT_FIRST))
    if widget_type is WidgetType.FUNNEL:
        return WidgetData(funnel=await funnel_resolvers.funnel(context, config.scope_id, rng))
    return WidgetData(table=await _table(context, config, rng, metrics, custom))


async def _table(context: Context, config: WidgetConfig, rng: DateRange, metrics: list[Metric],
                 custom: list[str]) -> Comparison:
    """`compare` over the scope's agents: one for an AGENT scope, else the first page of `agents` (with the
    team's filter for a TEAM scope), which holds the agents the reader may read."""
    if config.scope_kind is Scope.AGENT:
        agent_ids = [_global_id(Scope.AGENT, config.scope_id)]
    else:
        team = AgentFilter(team_id=_global_id(Scope.TEAM, config.scope_id)) if config.scope_kind is Scope.TEAM \
            else None
        page = await agent_resolvers.agents(context, leaderboard_resolvers.MAX_COMPARED, None, team)
        agent_ids = [_global_id(Scope.AGENT, edge.node.row.id) for edge in page.edges]
    if agent_ids:
        return await leaderboard_resolvers.compare(context, agent_ids, metrics, custom, rng)
    # `compare` takes at least one agent: no agents, no rows, with the columns they would have had.
    asked = await custom_metric.specs(context, metrics, custom)
    period, _ = await metric_resolvers.period_of(context, rng)
    return Comparison(from_=period.start, to=period.end, names=[s.name for s in asked],
                      metrics=[s.builtin for s in asked], rows=[])


def _global_id(kind: Scope, key: UUID | None) -> strawberry.ID:
    assert key is not None
    return strawberry.ID(encode_id(ENTITY_TYPES[kind], key))


# -- writes ------------------------------------------------------------------------------------------------------

async def create(context: Context, given: CreateWidgetInput) -> Widget:
    principal = context.require(*READERS)
    user = await owner_id(context)
    title = _title(given.title, "input.title")
    position = _position(given.position, "input.position")
    config = _config_of(given.config, given.type, "input.config")
    await _validate(context, given.type, config, "input.config")
    row = await widget_sql.insert(context.db, user, given.type, title, position, config)
    if row is None:
        raise BadUserInput(f"a user has at most {widget_sql.MAX_WIDGETS} widgets; delete one first",
                           argument="input")
    await _written(context, principal.tenant_id, row)
    return Widget(row=row)


async def update(context: Context, widget_id: str, given: UpdateWidgetInput) -> Widget:
    """Changes the fields given. A new type or config is checked as a new widget's would be; a new title or
    position alone leaves the config as it is (even if its team has gone since)."""
    principal = context.require(*READERS)
    key = widget_key(widget_id)
    user = await owner_id(context)
    current = await widget_sql.for_update(context.db, key, user)
    if current is None:
        raise NotFound("no such widget")
    widget_type = given.type if given.type is not None else current.type
    changed = dataclasses.replace(
        current,
        title=_title(given.title, "input.title") if given.title is not None else current.title,
        position=_position(given.position, "input.position") if given.position is not None else current.position,
        type=widget_type,
        config=_config_of(given.config, widget_type, "input.config") if given.config is not None
        else _fitted(current.config, widget_type),
    )
    if given.type is not None or given.config is not None:
        await _validate(context, changed.type, changed.config, "input.config")
    row = await widget_sql.update(context.db, changed)
    assert row is not None  # locked by for_update
    await _written(context, principal.tenant_id, row)
    return Widget(row=row)


async def move(context: Context, moves: list[WidgetMoveInput]) -> list[Widget]:
    """Every move or none: one statement, and NOT_FOUND (the operation rolled back) when any widget is not the
    viewer's."""
    principal = context.require(*READERS)
    if len(moves) > widget_sql.MAX_WIDGETS:
        raise BadUserInput(f"move at most {widget_sql.MAX_WIDGETS} widgets at once", argument="moves")
    wanted: dict[UUID, GridPosition] = {}
    for n, m in enumerate(moves):
        key = widget_key(m.id, f"moves.{n}.id")
        if key in wanted:
            raise BadUserInput("this widget is moved twice", argument=f"moves.{n}.id")
        wanted[key] = _grid(m.x, m.y, m.w, m.h, f"moves.{n}")
    user = await owner_id(context)
    if not wanted:
        return []
    moved = {row.id: row for row in await widget_sql.move(context.db, user, list(wanted.items()))}
    for n, key in enumerate(wanted):
        if key not in moved:
            raise NotFound("no such widget", argument=f"moves.{n}.id")
    rows = [moved[key] for key in wanted]
    for row in rows:
        await _written(context, principal.tenant_id, row)
    return [Widget(row=row) for row in rows]


async def delete(context: Context, widget_id: str) -> bool:
    """True; NOT_FOUND for a widget that is not the viewer's."""
    principal = context.require(*READERS)
    key = widget_key(widget_id)
    user = await owner_id(context)
    if not await widget_sql.delete(context.db, key, user):
        raise NotFound("no such widget")
    context.loaders.widget_by_id.clear(key)
    await signal_config(context.db, principal.tenant_id, ConfigChange.WIDGET, key)
    return True


async def _written(context: Context, tenant_id: UUID, row: WidgetRow) -> None:
    """After a write: later reads of the operation see the new row, and live groups showing it refresh at commit."""
    context.loaders.widget_by_id.clear(row.id).prime(row.id, row)
    await signal_config(context.db, tenant_id, ConfigChange.WIDGET, row.id)


# -- validation --------------------------------------------------------------------------------------------------

def _title(title: str, argument: str) -> str:
    if not title.strip() or len(title) > MAX_TITLE:
        raise BadUserInput(f"a title has 1 to {MAX_TITLE} characters, not only spaces", argument=argument)
    return title


def _position(position: WidgetPositionInput, argument: str) -> GridPosition:
    return _grid(position.x, position.y, position.w, position.h, argument)


def _grid(x: int, y: int, w: int, h: int, argument: str) -> GridPosition:
    """A place inside the grid: GRID_COLUMNS columns, GRID_ROWS rows, spans of 1 to MAX_SPAN."""
    if not 1 <= w <= MAX_SPAN:
        raise BadUserInput(f"w must be 1 to {MAX_SPAN} columns", argument=f"{argument}.w")
    if not 1 <= h <= MAX_SPAN:
        raise BadUserInput(f"h must be 1 to {MAX_SPAN} rows", argument=f"{argument}.h")
    if not 0 <= x <= GRID_COLUMNS - w:
        raise BadUserInput(f"x must be 0 to {GRID_COLUMNS - w}: a widget {w} wide ends inside the "
                           f"{GRID_COLUMNS} columns", argument=f"{argument}.x")
    if not 0 <= y < GRID_ROWS:
        raise BadUserInput(f"y must be 0 to {GRID_ROWS - 1}", argument=f"{argument}.y")
    return GridPosition(x, y, w, h)


def _config_of(given: WidgetConfigInput, widget_type: WidgetType, at: str) -> WidgetConfig:
    """The input as the stored config (its scope's id decoded, a leaderboard's default `first` filled in); what
    it means is checked by _validate."""
    kind, entity = scope_key(given.scope or ScopeInput(kind=Scope.TENANT), argument=f"{at}.scope")
    rng = given.range
    first = DEFAULT_FIRST if given.first is None and widget_type is WidgetType.LEADERBOARD else given.first
    return WidgetConfig(scope_kind=kind, scope_id=entity, range=DayRange(rng.from_, rng.to, rng.preset),
                        granularity=given.granularity, metrics=tuple(given.metrics or ()),
                        custom_metrics=tuple(given.custom_metrics or ()), first=first)


def _fitted(config: WidgetConfig, widget_type: WidgetType) -> WidgetConfig:
    """A kept config under a new type: `first` and `granularity` kept only where the type takes them."""
    first = (config.first or DEFAULT_FIRST) if widget_type is WidgetType.LEADERBOARD else None
    granularity = config.granularity if widget_type is WidgetType.TIME_SERIES else None
    return dataclasses.replace(config, first=first, granularity=granularity)


async def _validate(context: Context, widget_type: WidgetType, config: WidgetConfig, at: str) -> None:
    """BAD_USER_INPUT naming the field unless the type can show this config, its scope exists, and the graph
    answers it now (range, granularity, metrics, limits; FORBIDDEN outside the writer's role)."""
    if config.scope_kind not in SCOPES[widget_type]:
        raise BadUserInput(f"a {widget_type.name} widget shows {_kinds(SCOPES[widget_type])}", argument=f"{at}.scope")
    asked = len(config.metrics) + len(config.custom_metrics)
    if widget_type is WidgetType.LEADERBOARD and asked != 1:
        raise BadUserInput("a LEADERBOARD ranks by exactly one metric or custom metric", argument=f"{at}.metrics")
    if widget_type is WidgetType.FUNNEL and asked:
        raise BadUserInput("a FUNNEL shows lead stages and takes no metrics", argument=f"{at}.metrics")
    if (widget_type is WidgetType.TIME_SERIES) != (config.granularity is not None):
        raise BadUserInput("a TIME_SERIES widget needs a granularity, and only it takes one",
                           argument=f"{at}.granularity")
    if widget_type is not WidgetType.LEADERBOARD and config.first is not None:
        raise BadUserInput("only a LEADERBOARD takes first", argument=f"{at}.first")
    if widget_type is WidgetType.TIME_SERIES and config.granularity is not None:
        # A wall-screen chart, and what the cost model assumes of any widget (gateway/cost.py): a preset is
        # counted at its longest (THIS_MONTH as 31 days), so the widget stays within it as the days move on.
        rng = ({"preset": config.range.preset.name} if config.range.preset is not None else
               {"from": str(config.range.start), "to": str(config.range.end)})
        points = most_buckets(rng, config.granularity.name) * asked
        if points > MAX_WIDGET_POINTS:
            raise BadUserInput(f"a TIME_SERIES widget shows at most {MAX_WIDGET_POINTS:,} points (buckets x "
                               f"metrics); this one would show up to {points:,}: shorten the range, coarsen the "
                               "granularity or ask for fewer metrics", argument=f"{at}.granularity")
    await _require_entity(context, config, at)
    try:
        await figures(context, widget_type, config)
    except BadUserInput as e:
        field = _CONFIG_FIELDS.get(str(e.extensions.get("argument")))
        raise BadUserInput(e.message, **{**e.extensions, "argument": f"{at}.{field}" if field else at}) from e


async def _require_entity(context: Context, config: WidgetConfig, at: str) -> None:
    """The scope's team, agent or campaign exists in the tenant (the figures of one that does not are zeros)."""
    key = config.scope_id
    if key is None:
        return
    loaders = context.loaders
    found: object
    if config.scope_kind is Scope.TEAM:
        found = await loaders.team_by_id.load(key)
    elif config.scope_kind is Scope.AGENT:
        found = await loaders.agent_by_id.load(key)
    else:
        found = await loaders.campaign_by_id.load(key)
    if found is None:
        raise BadUserInput(f"no {ENTITY_TYPES[config.scope_kind].lower()} with this id", argument=f"{at}.scope")


def _kinds(kinds: Collection[Scope]) -> str:
    names = [k.name for k in Scope if k in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
