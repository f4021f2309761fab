"""Leaderboards, agent standings and daily reports: rankings and breakdowns over the rollups."""

from __future__ import annotations

import asyncio
from uuid import UUID

import strawberry

from gateway.analysis import period_change, standings
from gateway.context import Context
from gateway.errors import BadUserInput, NotFound
from gateway.ids import decode_id
from gateway.loaders import leaderboard as leaderboard_sql
from gateway.loaders import report as report_sql
from gateway.loaders.leaderboard import StandingKey
from gateway.loaders.metrics import TotalsKey
from gateway.metrics import Metric, Scope
from gateway.resolvers import custom_metric
from gateway.resolvers._filters import key_of
from gateway.resolvers.metrics import period_of, previous_period
from gateway.schema.agent import Agent
from gateway.schema.leaderboard import Comparison, ComparisonRow, Leaderboard, LeaderboardEntry, RankingScope, Standing
from gateway.schema.metrics import DateRange
from gateway.schema.report import DailyReport

MAX_ENTRIES = 200
MAX_COMPARED = 50
MAX_REPORT_DAYS = 400


async def leaderboard(context: Context, metric: Metric | None, custom: str | None, rng: DateRange,
                      scope: RankingScope | None, first: int) -> Leaderboard:
    """Agents one by one: the whole tenant needs admin or viewer, a team its manager (or admin, viewer)."""
    if not 1 <= first <= MAX_ENTRIES:
        raise BadUserInput(f"first must be between 1 and {MAX_ENTRIES}", argument="first")
    access = await context.access()
    team = key_of(scope.team_id if scope is not None else None, "Team")
    if team is None or not access.can_rank_team(team):
        access.require_whole_tenant()
    spec = await custom_metric.spec(context, metric, custom)
    period, _ = await period_of(context, rng)
    higher = spec.higher_is_better
    rows = await leaderboard_sql.agent_totals(context.db, team, period)
    values = [(row, spec.value(counters, Scope.AGENT)) for row, counters in rows]
    population = [v for _, v in values]
    ranks = {row.id: r for (row, _), (r, _) in zip(values, standings(population, higher_is_better=higher),
                                                   strict=True)}
    ranked = sorted(values, key=lambda p: _sort_key(p[1], higher, p[0].name))
    entries = [LeaderboardEntry(rank=ranks[row.id], agent=Agent(row=row), value=v) for row, v in ranked[:first]]
    return Leaderboard(name=spec.name, metric=spec.builtin, from_=period.start, to=period.end, higher_is_better=higher,
                       agents_ranked=sum(1 for v in population if v is not None), entries=entries)


def _sort_key(v: float | None, higher: bool, name: str) -> tuple[int, float, str]:
    # Agents without a value go last; ties in name order.
    if v is None:
        return (1, 0.0, name)
    return (0, -v if higher else v, name)


async def standing(context: Context, agent_id: UUID, metric: Metric | None, custom: str | None,
                   rng: DateRange) -> Standing:
    """An agent's own rank and percentile: readable by whoever may read the agent."""
    (await context.access()).require_agent(agent_id)
    spec = await custom_metric.spec(context, metric, custom)
    period, _ = await period_of(context, rng)
    found = (await context.loaders.standings.load(StandingKey(spec, period))).get(agent_id)
    if found is None:
        raise NotFound("no such agent")
    return Standing(
        name=spec.name, metric=spec.builtin, value=found.value, rank_in_team=found.rank_in_team,
        team_size=found.team_size, percentile_in_team=found.percentile_in_team, rank_in_tenant=found.rank_in_tenant,
        tenant_size=found.tenant_size, percentile_in_tenant=found.percentile_in_tenant)


async def compare(context: Context, agent_ids: list[strawberry.ID], metrics: list[Metric] | None,
                  custom: list[str] | None, rng: DateRange) -> Comparison:
    """Agents side by side: each must be readable by the principal."""
    if not 1 <= len(agent_ids) <= MAX_COMPARED:
        raise BadUserInput(f"compare 1 to {MAX_COMPARED} agents", argument="agents")
    keys = [decode_id(a, "Agent")[1] for a in agent_ids]
    access = await context.access()
    for key in keys:
        access.require_agent(key)
    asked = await custom_metric.specs(context, metrics or [], custom or [])
    period, _ = await period_of(context, rng)
    before = previous_period(period)
    totals = context.loaders.totals[Scope.AGENT]
    rows, now, then = await asyncio.gather(
        context.loaders.agent_by_id.load_many(keys),
        totals.load_many([TotalsKey(k, period) for k in keys]),
        totals.load_many([TotalsKey(k, before) for k in keys]))
    missing = [a for a, r in zip(agent_ids, rows, strict=True) if r is None]
    if missing:
        raise NotFound(f"no agent {', '.join(missing)}")
    result = []
    for row, current, prior in zip(rows, now, then, strict=True):
        assert row is not None
        values = [spec.value(current, Scope.AGENT) for spec in asked]
        previous = [spec.value(prior, Scope.AGENT) for spec in asked]
        result.append(ComparisonRow(agent=Agent(row=row), values=values, previous=previous,
                                    change=[period_change(v, p) for v, p in zip(values, previous, strict=True)]))
    return Comparison(from_=period.start, to=period.end, names=[s.name for s in asked],
                      metrics=[s.builtin for s in asked], rows=result)


async def daily_reports(context: Context, rng: DateRange) -> list[DailyReport]:
    access = await context.access()
    access.require_aggregates()
    period, _ = await period_of(context, rng)
    if period.days > MAX_REPORT_DAYS:
        raise BadUserInput(f"daily reports cover at most {MAX_REPORT_DAYS} days", argument="range")
    days = await report_sql.daily_reports(context.db, period, access.team_ids)
    return [DailyReport(report=d) for d in days]
