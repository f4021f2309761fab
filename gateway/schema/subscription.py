"""Root Subscription: live figures pushed as events arrive (gateway/live), and a heartbeat.

Each live field's resolver joins its question's group in the process's live hub and yields the group's
results, computed and serialised once for all subscribers asking the same question (see gateway/live).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import strawberry

from gateway.context import Context
from gateway.errors import BadUserInput
from gateway.live import streams
from gateway.metrics import Metric
from gateway.periods import Granularity
from gateway.resolvers import live as live_resolvers
from gateway.schema.leaderboard import Leaderboard, RankingScope
from gateway.schema.live import LiveCallBatch, LiveMetrics
from gateway.schema.metrics import DateRange
from gateway.schema.saved_report import ReportExecution
from gateway.schema.scope import ScopeInput, scope_key
from gateway.schema.widget import WidgetData


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The server's clock every `intervalSeconds` (1–60): proves a live connection end to end."
    )
    async def heartbeat(
        self, info: strawberry.Info[Context, None], interval_seconds: float = 10.0
    ) -> AsyncGenerator[datetime, None]:
        info.context.require()
        if not 0.05 <= interval_seconds <= 60:
            raise BadUserInput("intervalSeconds must be between 0.05 and 60", argument="intervalSeconds")
        while True:
            yield datetime.now(UTC)
            await asyncio.sleep(interval_seconds)

    @strawberry.subscription(description="A scope's built-in `metrics` and `customMetrics` over a range (and per "
                             "bucket with a `granularity`): now, then again within a second of every change.")
    async def metrics(self, info: strawberry.Info[Context, None], scope: ScopeInput, range: DateRange,
                      metrics: list[Metric] | None = None, custom_metrics: list[str] | None = None,
                      granularity: Granularity | None = None) -> AsyncGenerator[LiveMetrics, None]:
        kind, entity = scope_key(scope)
        source = functools.partial(live_resolvers.metrics, scope=kind, entity=entity, wanted=metrics or [],
                                   custom=custom_metrics or [], rng=range, granularity=granularity)
        async for shared in streams.follow(info, "metrics", source):
            yield _as_event(shared)

    @strawberry.subscription(description="Agents ranked by one metric, as `Query.leaderboard`: now, then again "
                             "whenever the ranking changes.")
    async def leaderboard(self, info: strawberry.Info[Context, None], range: DateRange,
                          metric: Metric | None = None, custom_metric: str | None = None,
                          scope: RankingScope | None = None, first: int = 10) -> AsyncGenerator[Leaderboard, None]:
        source = functools.partial(live_resolvers.leaderboard, metric=metric, custom=custom_metric, rng=range,
                                   scope=scope, first=first)
        async for shared in streams.follow(info, "leaderboard", source):
            yield _as_event(shared)

    @strawberry.subscription(description="One of your widgets' figures, as `Widget.data`: now, then again whenever "
                             "they change — including when the widget is edited (or NOT_FOUND once deleted).")
    async def widget_data(self, info: strawberry.Info[Context, None],
                          widget_id: strawberry.ID) -> AsyncGenerator[WidgetData, None]:
        source = functools.partial(live_resolvers.widget_data, widget_id=widget_id)
        async for shared in streams.follow(info, "widgetData", source):
            yield _as_event(shared)

    @strawberry.subscription(description="A report execution as it moves on (PENDING, PROCESSING, COMPLETED or "
                             "FAILED, attempts, deliveries): now, then at every change of its status.")
    async def report_execution(self, info: strawberry.Info[Context, None],
                               id: strawberry.ID) -> AsyncGenerator[ReportExecution, None]:
        source = functools.partial(live_resolvers.report_execution, execution_id=id)
        async for shared in streams.follow(info, "reportExecution", source):
            yield _as_event(shared)

    @strawberry.subscription(description="Calls as they end, in commit order, in batches. With `after` (a batch's "
                             "cursor), first replays every call committed since, then goes live.")
    async def live_calls(self, info: strawberry.Info[Context, None],
                         after: str | None = None) -> AsyncGenerator[LiveCallBatch, None]:
        async for shared in streams.feed(info, after):
            yield _as_event(shared)


def _as_event(shared: Any) -> Any:
    # The event is the group's shared result; the schema's execution context passes it on as it is.
    return shared
