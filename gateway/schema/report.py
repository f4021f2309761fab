"""The DailyReport type: the tenant's figures for one local day, with the per-team breakdown."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.loaders.report import DayReport
from gateway.metrics import Scope
from gateway.schema.metrics import Metrics, metrics_of
from gateway.schema.team import Team


@strawberry.type(description="One team's figures for the day.")
class TeamDay:
    team_id: strawberry.Private[UUID]
    metrics: Metrics = strawberry.field(description="The team's metrics that day.")

    @strawberry.field(description="The team.")
    async def team(self, info: strawberry.Info[Context, None]) -> Team | None:
        return await Team.load(info.context, self.team_id)


@strawberry.type(description="The tenant's figures for one tenant-local day.")
class DailyReport:
    report: strawberry.Private[DayReport]

    @strawberry.field(description="The local day.")
    def day(self) -> date:
        return self.report.day

    @strawberry.field(description="The tenant's metrics that day.")
    def metrics(self) -> Metrics:
        return metrics_of(self.report.counters, Scope.TENANT)

    @strawberry.field(description="Per team with activity that day (the teams you may read).")
    def teams(self) -> list[TeamDay]:
        return [TeamDay(team_id=t, metrics=metrics_of(c, Scope.TEAM)) for t, c in self.report.teams]
