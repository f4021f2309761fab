"""Types the live subscriptions push: metric figures of a scope, and batches of calls as they end."""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.metrics import Metric
from gateway.schema.call import Call
from gateway.schema.metrics import Series
from gateway.schema.scope import ScopeRef


@strawberry.type(description="One metric's value over the range.")
class MetricValue:
    name: str = strawberry.field(description="The metric's name: a built-in metric's snake-case name or a custom "
                                 "metric's.")
    metric: Metric | None = strawberry.field(description="The built-in metric; null for a custom one.")
    value: float | None = strawberry.field(description="The value; null where undefined.")


@strawberry.type(description="A scope's figures over a range: pushed again whenever they change.")
class LiveMetrics:
    scope: ScopeRef = strawberry.field(description="The scope measured.")
    from_: date = strawberry.field(name="from", description="First day of the range (it moves for presets).")
    to: date = strawberry.field(description="Last day of the range.")
    values: list[MetricValue] = strawberry.field(description="The requested metrics over the whole range, in order.")
    series: Series | None = strawberry.field(description="Per bucket, when a granularity was asked for.")


@strawberry.type(description="Calls that ended since the previous batch (or since `after`), in commit order.")
class LiveCallBatch:
    cursor: str = strawberry.field(description="Resume here: `liveCalls(after: cursor)` replays what came after.")
    calls: list[Call] = strawberry.field(description="The calls, by end time within the batch.")
    replay: bool = strawberry.field(description="Whether the batch replays calls missed before subscribing.")
