"""Metrics and series of any scope, for the range and granularity a client asks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar
from uuid import UUID

from gateway import analysis
from gateway.access import Access
from gateway.context import Context
from gateway.errors import NotFound
from gateway.loaders.metrics import MetricValues, SeriesKey, SeriesValuesKey, TotalsKey
from gateway.metric_specs import MetricSpec
from gateway.metrics import Metric, Scope
from gateway.periods import Granularity, Period, bucket_starts, future_bucket_starts, local_today, resolve
from gateway.resolvers import custom_metric
from gateway.schema.analysis import Forecast, Trend
from gateway.schema.metrics import DateRange, Metrics, Series, SeriesValues, metrics_of

R = TypeVar("R")


async def tenant_timezone(context: Context) -> str:
    principal = context.require()
    row = await context.loaders.tenant_by_id.load(principal.tenant_id)
    if row is None:
        raise NotFound("the token's tenant does not exist")
    return row.timezone


async def period_of(context: Context, rng: DateRange) -> tuple[Period, str]:
    timezone = await tenant_timezone(context)
    return resolve(rng.from_, rng.to, rng.preset, local_today(timezone)), timezone


async def series_period_of(context: Context, rng: DateRange, granularity: Granularity) -> tuple[Period, str]:
    """The period, refused before any query when its series would have too many buckets."""
    period, timezone = await period_of(context, rng)
    bucket_starts(period, granularity, timezone)
    return period, timezone


def previous_period(period: Period) -> Period:
    """The same number of days just before."""
    return Period(period.start - timedelta(days=period.days), period.start - timedelta(days=1))


async def require_scope(context: Context, scope: Scope, entity: UUID) -> None:
    """FORBIDDEN unless the principal may read this scope's figures."""
    _require(await context.access(), scope, entity)


def _require(access: Access, scope: Scope, entity: UUID) -> None:
    if scope is Scope.AGENT:
        access.require_agent(entity)
    elif scope is Scope.TEAM:
        access.require_team(entity)
    else:
        access.require_aggregates()


async def _refused(context: Context, measured: Sequence[tuple[Scope, UUID]]) -> list[Exception | None]:
    """require_scope for each of a level's entities at once: its error, or None where it may be read."""
    access = await context.access()
    refused: list[Exception | None] = []
    for scope, entity in measured:
        try:
            _require(access, scope, entity)
            refused.append(None)
        except Exception as e:  # that entity's error, as its own resolver would raise it
            refused.append(e)
    return refused


async def _per_entity(refused: list[Exception | None], measured: Sequence[tuple[Scope, UUID]],
                      load: Callable[[Scope, list[UUID]], Awaitable[Sequence[R]]]) -> list[R | Exception]:
    """`load` for the readable entities, one batch per scope, in the level's order; a refused entity keeps its
    error, and a failed batch fails only the entities it was for (as each one's own load would have)."""
    by_scope: dict[Scope, list[int]] = {}
    for i, ((scope, _), error) in enumerate(zip(measured, refused, strict=True)):
        if error is None:
            by_scope.setdefault(scope, []).append(i)
    loaded: dict[int, R | Exception] = {}
    for scope, positions in by_scope.items():
        try:
            loaded.update(zip(positions, await load(scope, [measured[i][1] for i in positions]), strict=True))
        except Exception as e:
            loaded.update((i, e) for i in positions)
    return [error if error is not None else loaded[i] for i, error in enumerate(refused)]


async def metrics_many(context: Context, measured: Sequence[tuple[Scope, UUID]], rng: DateRange
                       ) -> list[Metrics | Exception]:
    """metrics() of a level's entities at once (Measurable.metrics' batched form)."""
    refused = await _refused(context, measured)
    if all(e is not None for e in refused):
        return [e for e in refused if e is not None]
    try:
        period, _ = await period_of(context, rng)
    except Exception as e:
        return [r if r is not None else e for r in refused]

    async def load(scope: Scope, entities: list[UUID]) -> list[Metrics]:
        found = await context.loaders.totals[scope].load_many([TotalsKey(entity, period) for entity in entities])
        return [metrics_of(counters, scope) for counters in found]

    return await _per_entity(refused, measured, load)


async def series_many(context: Context, measured: Sequence[tuple[Scope, UUID]], wanted: list[Metric] | None,
                      custom: list[str] | None, rng: DateRange, granularity: Granularity) -> list[Series | Exception]:
    """series() of a level's entities at once (Measurable.series' batched form)."""
    refused = await _refused(context, measured)
    if all(e is not None for e in refused):
        return [e for e in refused if e is not None]
    try:
        asked = await custom_metric.specs(context, wanted or [], custom or [])
        period, timezone = await series_period_of(context, rng, granularity)
    except Exception as e:
        return [r if r is not None else e for r in refused]

    async def load(scope: Scope, entities: list[UUID]) -> list[Series]:
        return await _series_of(context, scope, entities, asked, period, granularity, timezone)

    return await _per_entity(refused, measured, load)


def _builtins_of(asked: Sequence[MetricSpec]) -> tuple[Metric, ...]:
    """The built-in metrics whose values the specs read (a custom one reads those of its formula), in Metric
    order: one statement serves every request asking for the same set."""
    wanted = {spec.builtin for spec in asked if spec.builtin is not None}
    wanted.update(Metric(name) for spec in asked if spec.formula is not None for name in spec.formula.metrics)
    return tuple(m for m in Metric if m in wanted)


def _values(spec: MetricSpec, data: MetricValues) -> list[float | None]:
    if spec.builtin is not None:
        return data.values[spec.builtin]
    formula = spec.formula
    assert formula is not None
    # A custom metric per bucket over its built-ins' values, as MetricSpec.value computes it from counters.
    columns = {name: data.values[Metric(name)] for name in formula.metrics}
    return [formula.evaluate({name: column[i] for name, column in columns.items()}) for i in range(len(data.starts))]


async def _series_of(context: Context, scope: Scope, entities: Sequence[UUID], asked: Sequence[MetricSpec],
                     period: Period, granularity: Granularity, timezone: str) -> list[Series]:
    """The series of `entities`, their values computed by the statement (gateway/metric_sql.py)."""
    builtins = _builtins_of(asked)
    found = await context.loaders.series_values[scope].load_many(
        [SeriesValuesKey(entity, period, granularity, timezone, builtins) for entity in entities])
    return [Series(granularity=granularity, bucket_starts=data.starts,
                   series=[SeriesValues(name=spec.name, metric=spec.builtin, values=_values(spec, data))
                           for spec in asked])
            for data in found]


async def metrics(context: Context, scope: Scope, entity: UUID, rng: DateRange) -> Metrics:
    await require_scope(context, scope, entity)
    period, _ = await period_of(context, rng)
    counters = await context.loaders.totals[scope].load(TotalsKey(entity, period))
    return metrics_of(counters, scope)


async def series(context: Context, scope: Scope, entity: UUID, wanted: list[Metric] | None,
                 custom: list[str] | None, rng: DateRange, granularity: Granularity) -> Series:
    await require_scope(context, scope, entity)
    asked = await custom_metric.specs(context, wanted or [], custom or [])
    period, timezone = await series_period_of(context, rng, granularity)
    return (await _series_of(context, scope, [entity], asked, period, granularity, timezone))[0]


async def trend(context: Context, scope: Scope, entity: UUID, metric: Metric | None, custom: str | None,
                rng: DateRange, granularity: Granularity) -> Trend:
    """The range against the previous period of equal length, and the least-squares line through its series."""
    await require_scope(context, scope, entity)
    spec = await custom_metric.spec(context, metric, custom)
    period, timezone = await series_period_of(context, rng, granularity)
    previous = previous_period(period)
    now, before, data = await asyncio.gather(
        context.loaders.totals[scope].load(TotalsKey(entity, period)),
        context.loaders.totals[scope].load(TotalsKey(entity, previous)),
        context.loaders.series[scope].load(SeriesKey(entity, period, granularity, timezone)))
    values = spec.values(data.counters, scope)
    current, prior = spec.value(now, scope), spec.value(before, scope)
    line = analysis.trend(values)
    return Trend(name=spec.name, metric=spec.builtin, current=current, previous=prior,
                 change=analysis.period_change(current, prior), slope=line.slope if line else None,
                 intercept=line.intercept if line else None, granularity=granularity, bucket_starts=data.starts,
                 values=values)


async def forecast(context: Context, scope: Scope, entity: UUID, metric: Metric | None, custom: str | None,
                   rng: DateRange, granularity: Granularity, horizon: int, level: float, alpha: float | None,
                   beta: float | None) -> Forecast:
    """Holt's linear method fitted on the range's series (see gateway/analysis.py), `horizon` buckets ahead."""
    await require_scope(context, scope, entity)
    spec = await custom_metric.spec(context, metric, custom)
    period, timezone = await series_period_of(context, rng, granularity)
    data = await context.loaders.series[scope].load(SeriesKey(entity, period, granularity, timezone))
    values = spec.values(data.counters, scope)
    fitted = await analysis.holt_async(values, horizon, alpha=alpha, beta=beta, level=level)
    return Forecast(name=spec.name, metric=spec.builtin, method="holt_linear", alpha=fitted.alpha, beta=fitted.beta,
                    rmse=fitted.rmse, level=fitted.level, granularity=granularity, history_starts=data.starts,
                    history=values, bucket_starts=future_bucket_starts(period, granularity, timezone, horizon),
                    values=list(fitted.points), lower=list(fitted.lower), upper=list(fitted.upper))
