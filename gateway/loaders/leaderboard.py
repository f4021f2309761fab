"""Per-agent counters of every agent in a team or the tenant, for rankings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from aiodataloader import DataLoader

from gateway.analysis import standings
from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader
from gateway.loaders.agent import AgentRow
from gateway.loaders.metrics import SUMS
from gateway.metric_specs import MetricSpec
from gateway.metrics import Counters, Scope
from gateway.periods import Period

# Every agent of the scope, with zero counters when it had no activity ($2 NULL: the whole tenant).
AGENT_TOTALS_IN_SCOPE: Final = f"""
SELECT {SUMS}, a.id, a.team_id, a.name, a.email, a.kind, a.status, a.hired_on
FROM agents a
LEFT JOIN agent_metrics m ON m.tenant_id = a.tenant_id AND m.agent_id = a.id AND m.day BETWEEN $3 AND $4
WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR a.team_id = $2)
GROUP BY a.tenant_id, a.id
"""  # noqa: S608 - constant columns

_AGENT_COLUMNS: Final = ("id", "team_id", "name", "email", "kind", "status", "hired_on")


async def agent_totals(db: TenantSession, team: UUID | None, period: Period) -> list[tuple[AgentRow, Counters]]:
    rows = await db.fetch(AGENT_TOTALS_IN_SCOPE, db.tenant_id, team, period.start, period.end)
    return [(AgentRow(**{c: r[c] for c in _AGENT_COLUMNS}), Counters.from_row(r)) for r in rows]


class AgentTotalsByPeriodLoader(TenantLoader[Period, list[tuple[AgentRow, Counters]]]):
    """Every agent of the tenant with its counters: one statement per period for a whole page of standings."""

    async def batch_load_fn(self, keys: Sequence[Period]) -> list[list[tuple[AgentRow, Counters]]]:
        return [await agent_totals(self.db, None, period) for period in keys]


@dataclass(frozen=True)
class StandingKey:
    spec: MetricSpec
    period: Period


@dataclass(frozen=True)
class AgentStanding:
    value: float | None
    team_id: UUID | None
    rank_in_team: int | None
    team_size: int
    percentile_in_team: float | None
    rank_in_tenant: int | None
    tenant_size: int
    percentile_in_tenant: float | None


class StandingsLoader(DataLoader[StandingKey, dict[UUID, AgentStanding]]):
    """Every agent's standing by one metric and period, computed once per operation for a whole page."""

    def __init__(self, totals: AgentTotalsByPeriodLoader) -> None:
        super().__init__()
        self.totals = totals

    async def batch_load_fn(self, keys: Sequence[StandingKey]) -> list[dict[UUID, AgentStanding]]:
        return [_standings(await self.totals.load(k.period), k.spec) for k in keys]


def _standings(everyone: list[tuple[AgentRow, Counters]], spec: MetricSpec) -> dict[UUID, AgentStanding]:
    higher = spec.higher_is_better
    values = [spec.value(c, Scope.AGENT) for _, c in everyone]
    in_tenant = standings(values, higher_is_better=higher)
    teams: dict[UUID, list[int]] = defaultdict(list)
    for i, (row, _) in enumerate(everyone):
        if row.team_id is not None:
            teams[row.team_id].append(i)
    in_team: dict[int, tuple[int | None, float | None, int]] = {}
    for members in teams.values():
        team_values = [values[i] for i in members]
        size = sum(1 for v in team_values if v is not None)
        for i, (r, p) in zip(members, standings(team_values, higher_is_better=higher), strict=True):
            in_team[i] = (r, p, size)
    tenant_size = sum(1 for v in values if v is not None)
    result = {}
    for i, (row, _) in enumerate(everyone):
        team_rank, team_pct, team_size = in_team.get(i, (None, None, 0))
        result[row.id] = AgentStanding(
            value=values[i], team_id=row.team_id, rank_in_team=team_rank, team_size=team_size,
            percentile_in_team=team_pct, rank_in_tenant=in_tenant[i][0], tenant_size=tenant_size,
            percentile_in_tenant=in_tenant[i][1])
    return result
