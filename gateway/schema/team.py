"""The Team type."""

from __future__ import annotations

import strawberry

from gateway.context import Context
from gateway.ids import encode_id
from gateway.loaders.team import TeamRow
from gateway.metrics import Metric, Scope
from gateway.periods import Granularity
from gateway.resolvers import metrics as metric_resolvers
from gateway.schema.metrics import DateRange, Metrics, Series


@strawberry.type(description="A group of agents with its managers.")
class Team:
    row: strawberry.Private[TeamRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Team", self.row.id))

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="The team's metrics over a range of tenant-local days.")
    async def metrics(self, info: strawberry.Info[Context, None], range: DateRange) -> Metrics:
        return await metric_resolvers.metrics(info.context, Scope.TEAM, self.row.id, range)

    @strawberry.field(description="The team's metrics per bucket (parallel arrays).")
    async def series(self, info: strawberry.Info[Context, None], metrics: list[Metric], range: DateRange,
                     granularity: Granularity) -> Series:
        return await metric_resolvers.series(info.context, Scope.TEAM, self.row.id, metrics, range, granularity)
