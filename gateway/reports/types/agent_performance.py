"""Agent performance: per agent (or per team) its metrics, its rank and percentile by one chosen metric among
the rows, and that metric's change against the previous period of equal length.

Rows are the agents the principal may read one by one (a manager its teams' agents, an agent itself), best
first; rank and percentile are the leaderboard's (gateway/analysis.py `standings`: 1 = best, ties share the
best rank, percentile = share of the others with a worse value, ties counting half; no value, no rank).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gateway.analysis import period_change, standings
from gateway.metrics import Counters, Scope
from gateway.reports.params import Grouping
from gateway.reports.result import Chart, ChartKind, Column, ColumnKind, ReportResult, Row, SummaryFigure
from gateway.reports.types._run import ReportRun, covered_agents, metric_cell, metric_column, team_groups, total

TITLE: Final = "Agent performance"


async def build(run: ReportRun) -> ReportResult:
    specs = await run.specs()
    rank = await run.rank_spec()
    shown = specs if any(s.name == rank.name for s in specs) else [*specs, rank]
    if run.grouping is Grouping.TEAM:
        entities, scope, label = await _teams(run)
    else:
        entities, scope, label = await _agents(run)
    values = [rank.value(now, scope) for _, _, now, _ in entities]
    before = [rank.value(prior, scope) for _, _, _, prior in entities]
    places = standings(values, higher_is_better=rank.higher_is_better)
    ranked = sorted(range(len(entities)), key=lambda i: _order(places[i][0], entities[i][0]))
    rows: list[Row] = []
    for i in ranked:
        name, team, now, _ = entities[i]
        place, percentile = places[i]
        leading = (name, team) if label == "agent" else (name,)
        rows.append((place, *leading, *(metric_cell(s, now, scope) for s in shown), percentile,
                     metric_cell(rank, entities[i][3], scope), period_change(values[i], before[i])))
    rank_column = metric_column(rank)
    columns = [Column("rank", "Rank", ColumnKind.INTEGER), Column(label, label.title()),
               *([Column("team", "Team")] if label == "agent" else []), *map(metric_column, shown),
               Column("percentile", "Percentile", ColumnKind.NUMBER),
               Column("previous", f"{rank_column.title}, previous period", rank_column.kind),
               Column("change", "Change", ColumnKind.RATIO)]
    now_all = total(now for _, _, now, _ in entities)
    prior_all = total(prior for _, _, _, prior in entities)
    together = Scope.TEAM
    current, previous = rank.value(now_all, together), rank.value(prior_all, together)
    summary = [SummaryFigure("Agents" if label == "agent" else "Teams", len(entities), ColumnKind.INTEGER)]
    summary += [SummaryFigure(metric_column(s).title, metric_cell(s, now_all, together), metric_column(s).kind)
                for s in shown]
    summary += [SummaryFigure(f"{rank_column.title}, previous period", metric_cell(rank, prior_all, together),
                              rank_column.kind),
                SummaryFigure(f"{rank_column.title}, change", period_change(current, previous), ColumnKind.RATIO)]
    chart = Chart(ChartKind.BAR, f"{rank_column.title} by {label}", label=label, values=(rank_column.key,))
    extra = [("Metrics", ", ".join(s.name for s in specs)), ("Ranked by", rank.name),
             ("Previous period", f"{run.previous.start.isoformat()} – {run.previous.end.isoformat()}")]
    return ReportResult(title=TITLE, parameters=run.describe(extra), summary=summary, columns=columns, rows=rows,
                        charts=[chart])


Entity = tuple[str, str | None, Counters, Counters]


async def _agents(run: ReportRun) -> tuple[Sequence[Entity], Scope, str]:
    listed = run.reach.listed
    ids = [e.id for e in listed]
    now, prior = await run.agent_totals(ids), await run.agent_totals(ids, run.previous)
    return [(e.name, e.team_name, now[e.id], prior[e.id]) for e in listed], Scope.AGENT, "agent"


async def _teams(run: ReportRun) -> tuple[Sequence[Entity], Scope, str]:
    agents = covered_agents(run)
    now, prior = await run.agent_totals(agents), await run.agent_totals(agents, run.previous)
    return [(name, None, total(now[a] for a in members), total(prior[a] for a in members))
            for _, name, members in team_groups(run, agents)], Scope.TEAM, "team"


def _order(place: int | None, name: str) -> tuple[int, int, str]:
    # Rows without a value go last; ties in name order (the leaderboard's order).
    return (1, 0, name) if place is None else (0, place, name)
