"""Leaderboards, agent standings and daily reports: rankings and breakdowns over the rollups."""

from __future__ import annotations

from uuid import UUID

from gateway.analysis import percentile_rank, rank
from gateway.context import Context
from gateway.errors import BadUserInput
from gateway.loaders import leaderboard as leaderboard_sql
from gateway.loaders import report as report_sql
from gateway.metrics import LOWER_IS_BETTER, Metric, Scope, value
from gateway.resolvers._filters import key_of
from gateway.resolvers.metrics import period_of
from gateway.schema.agent import Agent
from gateway.schema.leaderboard import Leaderboard, LeaderboardEntry, RankingScope, Standing
from gateway.schema.metrics import DateRange
from gateway.schema.report import DailyReport

MAX_ENTRIES = 200
MAX_REPORT_DAYS = 400


async def leaderboard(context: Context, metric: Metric, rng: DateRange, scope: RankingScope | None,
                      first: int) -> Leaderboard:
    """Agents one by one: the whole tenant needs admin or viewer, a team its manager (or admin, viewer)."""
    if not 1 <= first <= MAX_ENTRIES:
        raise BadUserInput(f"first must be between 1 and {MAX_ENTRIES}", argument="first")
    access = await context.access()
    team = key_of(scope.team_id if scope is not None else None, "Team")
    if team is None or not access.can_rank_team(team):
        access.require_whole_tenant()
    period, _ = await period_of(context, rng)
    higher = metric not in LOWER_IS_BETTER
    rows = await leaderboard_sql.agent_totals(context.db, team, period)
    values = [(row, value(metric, counters, Scope.AGENT)) for row, counters in rows]
    population = [v for _, v in values]
    ranked = sorted(values, key=lambda p: _sort_key(p[1], higher, p[0].name))
    entries = [LeaderboardEntry(rank=rank(v, population, higher_is_better=higher), agent=Agent(row=row), value=v)
               for row, v in ranked[:first]]
    return Leaderboard(metric=metric, from_=period.start, to=period.end, higher_is_better=higher,
                       agents_ranked=sum(1 for v in population if v is not None), entries=entries)


def _sort_key(v: float | None, higher: bool, name: str) -> tuple[int, float, str]:
    # Agents without a value go last; ties in name order.
    if v is None:
        return (1, 0.0, name)
    return (0, -v if higher else v, name)


async def standing(context: Context, agent_id: UUID, metric: Metric, rng: DateRange) -> Standing:
    """An agent's own rank and percentile: readable by whoever may read the agent."""
    (await context.access()).require_agent(agent_id)
    period, _ = await period_of(context, rng)
    everyone = await context.loaders.agent_totals_by_period.load(period)
    higher = metric not in LOWER_IS_BETTER
    values = {row.id: (row.team_id, value(metric, c, Scope.AGENT)) for row, c in everyone}
    team_id, own = values.get(agent_id, (None, None))
    tenant = [v for _, v in values.values()]
    team = [v for t, v in values.values() if t is not None and t == team_id]
    return Standing(
        metric=metric, value=own,
        rank_in_team=rank(own, team, higher_is_better=higher) if team_id is not None else None,
        team_size=sum(1 for v in team if v is not None),
        percentile_in_team=percentile_rank(own, team, higher_is_better=higher) if team_id is not None else None,
        rank_in_tenant=rank(own, tenant, higher_is_better=higher),
        tenant_size=sum(1 for v in tenant if v is not None),
        percentile_in_tenant=percentile_rank(own, tenant, higher_is_better=higher),
    )


async def daily_reports(context: Context, rng: DateRange) -> list[DailyReport]:
    access = await context.access()
    access.require_aggregates()
    period, _ = await period_of(context, rng)
    if period.days > MAX_REPORT_DAYS:
        raise BadUserInput(f"daily reports cover at most {MAX_REPORT_DAYS} days", argument="range")
    days = await report_sql.daily_reports(context.db, period, access.team_ids)
    return [DailyReport(report=d) for d in days]
