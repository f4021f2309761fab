"""Dashboard widgets: a user's own grid of numbers, charts, leaderboards, funnels and tables, and their inputs."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from gateway.context import Context
from gateway.ids import encode_id
from gateway.loaders import widget as widget_sql
from gateway.loaders.widget import WidgetRow, WidgetType
from gateway.periods import Granularity, Preset
from gateway.schema.funnel import Funnel
from gateway.schema.leaderboard import Comparison, Leaderboard
from gateway.schema.live import MetricValue
from gateway.schema.metrics import DateRange, Metric, Series
from gateway.schema.node import Node
from gateway.schema.scope import ScopeInput, ScopeRef, scope_ref

# The Python enum is the single definition (it is what the table stores); registered in place, as Metric is.
strawberry.enum(WidgetType, description="What a widget draws: one number per metric (KPI), a chart over time "
                "(TIME_SERIES), agents ranked by one metric (LEADERBOARD), the lead funnel (FUNNEL), or agents "
                "side by side (TABLE).")


@strawberry.type(description="Where a widget sits on its owner's grid, 24 columns wide.")
class WidgetPosition:
    x: int = strawberry.field(description="Column of the left edge, 0-23.")
    y: int = strawberry.field(description="Row of the top edge, 0-999.")
    w: int = strawberry.field(description="Width in columns, 1-24 (x + w is at most 24).")
    h: int = strawberry.field(description="Height in rows, 1-24.")


@strawberry.input(description="Where to put a widget on the grid, 24 columns wide.")
class WidgetPositionInput:
    x: int = strawberry.field(description="Column of the left edge, 0-23.")
    y: int = strawberry.field(description="Row of the top edge, 0-999.")
    w: int = strawberry.field(description="Width in columns, 1-24 (x + w is at most 24).")
    h: int = strawberry.field(description="Height in rows, 1-24.")


@strawberry.type(description="A widget's range as it was given: a preset (resolved in the tenant's calendar at "
                 "every read, so TODAY moves on at local midnight) or fixed days.")
class WidgetRange:
    from_: date | None = strawberry.field(name="from", description="First day; null with a preset.")
    to: date | None = strawberry.field(description="Last day; null with a preset.")
    preset: Preset | None = strawberry.field(description="The named range; null with fixed days.")


@strawberry.type(description="What a widget measures, as its config input gave it.")
class WidgetConfig:
    metrics: list[Metric] = strawberry.field(description="Built-in metrics, in order (before the custom ones).")
    custom_metrics: list[str] = strawberry.field(description="Custom metrics by name, in order.")
    scope: ScopeRef = strawberry.field(description="Whose figures: the tenant, a team, an agent or a campaign.")
    range: WidgetRange = strawberry.field(description="The days shown.")
    granularity: Granularity | None = strawberry.field(description="Bucket size of a TIME_SERIES; null otherwise.")
    first: int | None = strawberry.field(description="How many agents a LEADERBOARD shows; null otherwise.")


@strawberry.input(description="What a widget measures. KPI: 1-20 metrics of any scope. TIME_SERIES: the same, "
                  "with a granularity. LEADERBOARD: exactly one metric, the tenant or a team, `first` 1-200 "
                  "(default 10). FUNNEL: no metrics, the tenant or a campaign. TABLE: 1-20 metrics of the "
                  "tenant's, a team's or one agent's agents.")
class WidgetConfigInput:
    range: DateRange = strawberry.field(description="The days shown, e.g. `{preset: TODAY}`.")
    scope: ScopeInput | None = strawberry.field(default=None, description="Whose figures; the tenant when "
                                                "absent.")
    metrics: list[Metric] | None = strawberry.field(default=None, description="Built-in metrics.")
    custom_metrics: list[str] | None = strawberry.field(default=None, description="Custom metrics by name.")
    granularity: Granularity | None = strawberry.field(default=None, description="Bucket size; TIME_SERIES "
                                                       "only, and required there.")
    first: int | None = strawberry.field(default=None, description="Agents shown, 1-200; LEADERBOARD only.")


@strawberry.input(description="A new widget.")
class CreateWidgetInput:
    title: str = strawberry.field(description="Shown above it; 1-200 characters.")
    type: WidgetType = strawberry.field(description="What it draws.")
    position: WidgetPositionInput = strawberry.field(description="Where it sits on the grid.")
    config: WidgetConfigInput = strawberry.field(description="What it measures.")


@strawberry.input(description="Changes to a widget; absent fields keep their value, a config replaces the whole "
                  "config.")
class UpdateWidgetInput:
    title: str | None = strawberry.field(default=None, description="Shown above it; 1-200 characters.")
    type: WidgetType | None = strawberry.field(default=None, description="What it draws; the config (the new one "
                                               "or the kept one) must suit it.")
    position: WidgetPositionInput | None = strawberry.field(default=None, description="Where it sits on the grid.")
    config: WidgetConfigInput | None = strawberry.field(default=None, description="What it measures.")


@strawberry.input(description="One widget's new place and size.")
class WidgetMoveInput:
    id: strawberry.ID = strawberry.field(description="The widget.")
    x: int = strawberry.field(description="Column of the left edge, 0-23.")
    y: int = strawberry.field(description="Row of the top edge, 0-999.")
    w: int = strawberry.field(description="Width in columns, 1-24 (x + w is at most 24).")
    h: int = strawberry.field(description="Height in rows, 1-24.")


@strawberry.type(description="A widget's current figures, as the graph gives them; only its type's field is set.")
class WidgetData:
    values: list[MetricValue] | None = strawberry.field(
        default=None, description="KPI: each metric over the range, as `metrics(range)` and, for a custom metric, "
        "`trend(range).current` of the scope give it.")
    series: Series | None = strawberry.field(default=None, description="TIME_SERIES: as the scope's `series` gives "
                                             "it.")
    leaderboard: Leaderboard | None = strawberry.field(default=None, description="LEADERBOARD: as `leaderboard` "
                                                       "gives it.")
    funnel: Funnel | None = strawberry.field(default=None, description="FUNNEL: as `funnel` gives it.")
    table: Comparison | None = strawberry.field(
        default=None, description="TABLE: `compare` over the scope's agents you may read (the first 50 by name, "
        "as `agents` lists them; one agent for an AGENT scope); no rows when there are none.")


@strawberry.type(description="A widget of the viewer's dashboard. Only its owner sees it; its figures follow the "
                 "owner's role at every read.")
class Widget(Node):
    row: strawberry.Private[WidgetRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Widget", self.row.id))

    @strawberry.field(description="Shown above it.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="What it draws.")
    def type(self) -> WidgetType:
        return self.row.type

    @strawberry.field(description="Where it sits on the grid.")
    def position(self) -> WidgetPosition:
        p = self.row.position
        return WidgetPosition(x=p.x, y=p.y, w=p.w, h=p.h)

    @strawberry.field(description="What it measures.")
    def config(self) -> WidgetConfig:
        return config_view(self.row.config)

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it last changed (moves included).")
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(description="Its current figures, through the same resolvers as the equivalent query; "
                      "FORBIDDEN when the owner's role no longer reads its scope.")
    async def data(self, info: strawberry.Info[Context, None]) -> WidgetData | None:
        # Imported here: the resolvers build Widget and WidgetData.
        from gateway.resolvers.widget import widget_data

        return await widget_data(info.context, self)


def config_view(config: widget_sql.WidgetConfig) -> WidgetConfig:
    rng = config.range
    return WidgetConfig(metrics=list(config.metrics), custom_metrics=list(config.custom_metrics),
                        scope=scope_ref(config.scope_kind, config.scope_id),
                        range=WidgetRange(from_=rng.start, to=rng.end, preset=rng.preset),
                        granularity=config.granularity, first=config.first)
