"""The Team type."""

from __future__ import annotations

from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.ids import encode_id
from gateway.loaders.team import TeamRow
from gateway.metrics import Metric, Scope
from gateway.periods import Granularity
from gateway.resolvers import metrics as metric_resolvers
from gateway.schema.metrics import DateRange, Metrics, Series
from gateway.schema.node import Node


@strawberry.type(description="A group of agents with its managers.")
class Team(Node):
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

    @classmethod
    async def load(cls, context: Context, key: UUID | None) -> Team | None:
        """The team with this id through the operation's loader; None for no id or no such team."""
        if key is None:
            return None
        row = await context.loaders.team_by_id.load(key)
        return cls(row=row) if row is not None else None
