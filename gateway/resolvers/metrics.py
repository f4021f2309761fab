"""Metrics and series of any scope, for the range and granularity a client asks."""

from __future__ import annotations

from uuid import UUID

from gateway.context import Context
from gateway.errors import BadUserInput, NotFound
from gateway.loaders.metrics import SeriesKey, TotalsKey
from gateway.metrics import Metric, Scope, value
from gateway.periods import Granularity, Period, local_today, resolve
from gateway.schema.metrics import DateRange, Metrics, Series, SeriesValues

MAX_SERIES_METRICS = 20


async def tenant_timezone(context: Context) -> str:
    principal = context.require()
    row = await context.loaders.tenant_by_id.load(principal.tenant_id)
    if row is None:
        raise NotFound("the token's tenant does not exist")
    return row.timezone


async def period_of(context: Context, rng: DateRange) -> tuple[Period, str]:
    timezone = await tenant_timezone(context)
    return resolve(rng.from_, rng.to, rng.preset, local_today(timezone)), timezone


async def require_scope(context: Context, scope: Scope, entity: UUID) -> None:
    """FORBIDDEN unless the principal may read this scope's figures."""
    access = await context.access()
    if scope is Scope.AGENT:
        access.require_agent(entity)
    elif scope is Scope.TEAM:
        access.require_team(entity)
    else:
        access.require_aggregates()


async def metrics(context: Context, scope: Scope, entity: UUID, rng: DateRange) -> Metrics:
    await require_scope(context, scope, entity)
    period, _ = await period_of(context, rng)
    counters = await context.loaders.totals[scope].load(TotalsKey(entity, period))
    return Metrics(counters=counters, scope=scope)


async def series(context: Context, scope: Scope, entity: UUID, wanted: list[Metric], rng: DateRange,
                 granularity: Granularity) -> Series:
    await require_scope(context, scope, entity)
    if not 1 <= len(wanted) <= MAX_SERIES_METRICS:
        raise BadUserInput(f"ask for 1 to {MAX_SERIES_METRICS} metrics", argument="metrics")
    period, timezone = await period_of(context, rng)
    data = await context.loaders.series[scope].load(SeriesKey(entity, period, granularity, timezone))
    return Series(
        granularity=granularity,
        bucket_starts=data.starts,
        series=[SeriesValues(metric=metric, values=[value(metric, c, scope) for c in data.counters])
                for metric in wanted],
    )
