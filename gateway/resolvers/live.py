"""The sources of the live subscriptions: what each refresh computes, with the resolvers queries use."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from gateway.context import Context
from gateway.ids import decode_id
from gateway.live.changes import Interest
from gateway.live.questions import Answer
from gateway.metrics import Metric, Scope
from gateway.periods import Granularity, Period, instants_of, local_midnight, local_today
from gateway.resolvers import custom_metric
from gateway.resolvers import leaderboard as leaderboard_resolvers
from gateway.resolvers import metrics as metric_resolvers
from gateway.resolvers._filters import key_of
from gateway.schema.leaderboard import RankingScope
from gateway.schema.live import LiveMetrics, MetricValue
from gateway.schema.metrics import DateRange
from gateway.schema.scope import scope_ref


def interest_of(context: Context, scope: Scope, entity: UUID | None, period: Period, timezone: str,
                widget: UUID | None = None) -> Interest:
    start, end = instants_of(period, timezone)
    tenant = context.require().tenant_id
    return Interest(tenant, scope, entity if scope is not Scope.TENANT else None, start, end, widget)


def rolls_at(rng: DateRange, timezone: str) -> datetime | None:
    """A preset's days move at the tenant's next local midnight; explicit dates never do."""
    if rng.preset is None:
        return None
    return local_midnight(local_today(timezone) + timedelta(days=1), timezone)


async def metrics(context: Context, scope: Scope, entity: UUID | None, wanted: list[Metric], custom: list[str],
                  rng: DateRange, granularity: Granularity | None, widget: UUID | None = None) -> Answer:
    tenant = context.require().tenant_id
    key = entity if entity is not None else tenant
    await metric_resolvers.require_scope(context, scope, key)
    specs = await custom_metric.specs(context, wanted, custom)
    period, timezone = await metric_resolvers.period_of(context, rng)
    figures = await metric_resolvers.metrics(context, scope, key, rng)
    counters = figures.counters
    series = (await metric_resolvers.series(context, scope, key, wanted, custom, rng, granularity)
              if granularity is not None else None)
    value = LiveMetrics(scope=scope_ref(scope, entity), from_=period.start, to=period.end,
                        values=[MetricValue(name=s.name, metric=s.builtin, value=s.value(counters, scope))
                                for s in specs],
                        series=series)
    return Answer(value, interest_of(context, scope, entity, period, timezone, widget),
                  rolls_at(rng, timezone))


async def widget_data(context: Context, widget_id: str) -> Answer:
    """A widget's figures, read again at every refresh: an edit, a move or a deletion shows at once."""
    from gateway.resolvers import widget as widget_resolvers

    widget = await widget_resolvers.widget_for_owner(context, widget_id, argument="widgetId")
    data = await widget_resolvers.widget_data(context, widget)
    config = widget.row.config
    timezone = await metric_resolvers.tenant_timezone(context)
    period = config.range.period(local_today(timezone))
    rng = DateRange(from_=config.range.start, to=config.range.end, preset=config.range.preset)
    return Answer(data, interest_of(context, config.scope_kind, config.scope_id, period, timezone, widget.row.id),
                  rolls_at(rng, timezone))


async def report_execution(context: Context, execution_id: str) -> Answer:
    """A report execution's status and, once completed, its outputs: read again whenever its status moves."""
    from gateway.errors import NotFound
    from gateway.resolvers import report as report_resolvers
    from gateway.schema.saved_report import ReportExecution

    tenant = context.require().tenant_id
    key = decode_id(execution_id, "ReportExecution")[1]
    found = await report_resolvers.visible_execution(context, key)
    if found is None:
        raise NotFound("no such report execution")
    return Answer(ReportExecution(row=found), Interest(tenant, execution=key))


async def leaderboard(context: Context, metric: Metric | None, custom: str | None, rng: DateRange,
                      scope: RankingScope | None, first: int) -> Answer:
    board = await leaderboard_resolvers.leaderboard(context, metric, custom, rng, scope, first)
    period, timezone = await metric_resolvers.period_of(context, rng)
    team = key_of(scope.team_id if scope is not None else None, "Team")
    kind = Scope.TEAM if team is not None else Scope.TENANT
    return Answer(board, interest_of(context, kind, team, period, timezone),
                  rolls_at(rng, timezone))
