"""The Measurable interface: the metrics, series, trend and forecast fields the tenant, teams, agents and
campaigns share, resolved once here for whichever scope the object is."""

from __future__ import annotations

from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.engine.batch import batched
from gateway.metrics import Scope
from gateway.periods import Granularity
from gateway.resolvers import metrics as metric_resolvers
from gateway.schema.analysis import Forecast, Trend
from gateway.schema.metrics import DateRange, Metric, Metrics, Series


@strawberry.interface(description="Something with metrics: the tenant, a team, an agent or a campaign.")
class Measurable:
    def measured(self) -> tuple[Scope, UUID]:
        """The rollup scope and entity id this object's figures come from."""
        raise NotImplementedError

    @strawberry.field(description="Metrics over a range of tenant-local days; ratios are null when undefined.")
    @batched(lambda context, objects, range: metric_resolvers.metrics_many(
        context, [o.measured() for o in objects], range))
    async def metrics(self, info: strawberry.Info[Context, None], range: DateRange) -> Metrics:
        scope, entity = self.measured()
        return await metric_resolvers.metrics(info.context, scope, entity, range)

    @strawberry.field(description="Metrics per bucket as parallel arrays: built-in `metrics`, then `customMetrics` "
                      "by name, 1 to 20 in all.")
    @batched(lambda context, objects, range, granularity, metrics=None, custom_metrics=None:
             metric_resolvers.series_many(context, [o.measured() for o in objects], metrics, custom_metrics, range,
                                          granularity))
    async def series(self, info: strawberry.Info[Context, None], range: DateRange, granularity: Granularity,
                     metrics: list[Metric] | None = None, custom_metrics: list[str] | None = None) -> Series:
        scope, entity = self.measured()
        return await metric_resolvers.series(info.context, scope, entity, metrics, custom_metrics, range,
                                             granularity)

    @strawberry.field(description="One metric (built-in `metric` or `customMetric`) against the previous period "
                      "and its least-squares trend.")
    async def trend(self, info: strawberry.Info[Context, None], range: DateRange, metric: Metric | None = None,
                    custom_metric: str | None = None, granularity: Granularity = Granularity.DAY) -> Trend:
        scope, entity = self.measured()
        return await metric_resolvers.trend(info.context, scope, entity, metric, custom_metric, range, granularity)

    @strawberry.field(description="One metric forecast `horizon` buckets past the range with Holt's linear method; "
                      "alpha and beta are fitted unless given.")
    async def forecast(self, info: strawberry.Info[Context, None], range: DateRange, metric: Metric | None = None,
                       custom_metric: str | None = None, granularity: Granularity = Granularity.DAY,
                       horizon: int = 7, level: float = 0.95, alpha: float | None = None,
                       beta: float | None = None) -> Forecast:
        scope, entity = self.measured()
        return await metric_resolvers.forecast(info.context, scope, entity, metric, custom_metric, range,
                                               granularity, horizon, level, alpha, beta)
