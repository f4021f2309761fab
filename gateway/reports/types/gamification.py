"""Gamification: the points leaderboard of the range (per agent or per team), the badges earned, and progress.

Points are the rollup's `points` counter (`metrics.points`); rank and percentile are the leaderboard's by
POINTS. Progress is each row's points to date (everything up to the range's last day) and its change against
the previous period of equal length, plus a day-by-day table of the covered points and their running total.
Badges are the awards of `agent_badges` in the range (`agent.badges`), which no rollup keeps.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final
from uuid import UUID

from gateway.analysis import period_change, standings
from gateway.metrics import Counters
from gateway.periods import EARLIEST, Granularity, Period
from gateway.reports.params import Grouping
from gateway.reports.result import Chart, ChartKind, Column, ColumnKind, ReportResult, Row, SummaryFigure, Table
from gateway.reports.types._run import ReportRun, team_groups, total

TITLE: Final = "Gamification"

# $4 agents is NULL for the whole tenant.
BADGES_AWARDED: Final = """
SELECT ab.agent_id, ab.awarded_at, b.code, b.name, b.points
FROM agent_badges ab
JOIN badges b ON b.tenant_id = ab.tenant_id AND b.id = ab.badge_id
WHERE ab.tenant_id = $1 AND ab.awarded_at >= $2 AND ab.awarded_at < $3
  AND ($4::uuid[] IS NULL OR ab.agent_id = any($4))
ORDER BY ab.awarded_at, b.code
"""
BADGES_TO_DATE: Final = """
SELECT ab.agent_id, count(*) AS badges
FROM agent_badges ab
WHERE ab.tenant_id = $1 AND ab.awarded_at < $2 AND ($3::uuid[] IS NULL OR ab.agent_id = any($3))
GROUP BY ab.agent_id
"""


@dataclass
class Standing:
    """One leaderboard row before ranking: an agent or a team."""

    name: str
    team: str | None
    now: Counters
    before: Counters
    to_date: Counters
    badges: list[str] = field(default_factory=list)
    badges_to_date: int = 0


async def build(run: ReportRun) -> ReportResult:
    listed = run.reach.listed
    ids = [e.id for e in listed]
    to_date_period = Period(EARLIEST, run.period.end)
    now, before = await run.agent_totals(ids), await run.agent_totals(ids, run.previous)
    to_date = await run.agent_totals(ids, to_date_period)
    start, end = run.instants()
    awards = await run.db.fetch(BADGES_AWARDED, run.db.tenant_id, start, end, run.reach.agent_filter)
    earned: dict[UUID, list[str]] = defaultdict(list)
    for r in awards:
        earned[r["agent_id"]].append(r["name"])
    held = {r["agent_id"]: r["badges"]
            for r in await run.db.fetch(BADGES_TO_DATE, run.db.tenant_id, end, run.reach.agent_filter)}
    agents = {e.id: Standing(e.name, e.team_name, now[e.id], before[e.id], to_date[e.id], earned.get(e.id, []),
                             held.get(e.id, 0)) for e in listed}
    by_team = run.grouping is Grouping.TEAM
    entries: Sequence[Standing]
    if by_team:
        entries = [Standing(name, None, total(agents[a].now for a in members),
                            total(agents[a].before for a in members), total(agents[a].to_date for a in members),
                            [b for a in members for b in agents[a].badges],
                            sum(agents[a].badges_to_date for a in members))
                   for _, name, members in team_groups(run, ids)]
    else:
        entries = list(agents.values())
    rows = _leaderboard(entries, by_team)
    label = "team" if by_team else "agent"
    columns = [Column("rank", "Rank", ColumnKind.INTEGER), Column(label, label.title()),
               *([] if by_team else [Column("team", "Team")]),
               Column("points", "Points", ColumnKind.INTEGER),
               Column("previous", "Points, previous period", ColumnKind.INTEGER),
               Column("change", "Change", ColumnKind.RATIO),
               Column("points_to_date", "Points to date", ColumnKind.INTEGER),
               Column("badges", "Badges earned", ColumnKind.INTEGER),
               Column("badges_to_date", "Badges to date", ColumnKind.INTEGER),
               Column("badge_names", "Badges earned (names)"),
               Column("percentile", "Percentile", ColumnKind.NUMBER)]
    points, previous = sum(s.now.points for s in agents.values()), sum(s.before.points for s in agents.values())
    summary = [
        SummaryFigure("Points", points, ColumnKind.INTEGER),
        SummaryFigure("Points, previous period", previous, ColumnKind.INTEGER),
        SummaryFigure("Change", period_change(points, previous), ColumnKind.RATIO),
        SummaryFigure("Badges earned", len(awards), ColumnKind.INTEGER),
        SummaryFigure("Agents", len(agents), ColumnKind.INTEGER),
        SummaryFigure("Agents who scored", sum(1 for s in agents.values() if s.now.points > 0), ColumnKind.INTEGER),
    ]
    series = await run.series(Granularity.DAY)
    running = 0
    progress: list[Row] = []
    for bucket, counters in zip(series.starts, series.counters, strict=True):
        running += counters.points
        progress.append((run.local(bucket).date(), counters.points, running))
    badge_info = {r["code"]: (r["name"], r["points"]) for r in awards}
    awarded = Counter(r["code"] for r in awards)
    badge_agents: dict[str, set[UUID]] = defaultdict(set)
    for r in awards:
        badge_agents[r["code"]].add(r["agent_id"])
    tables = [
        Table("badges", "Badges earned", [Column("code", "Code"), Column("badge", "Badge"),
                                          Column("badge_points", "Points each", ColumnKind.INTEGER),
                                          Column("awards", "Awards", ColumnKind.INTEGER),
                                          Column("agents", "Agents", ColumnKind.INTEGER)],
              [(code, *badge_info[code], awarded[code], len(badge_agents[code])) for code in sorted(badge_info)]),
        Table("progress", "Points per day", [Column("day", "Day", ColumnKind.DATE),
                                             Column("points", "Points", ColumnKind.INTEGER),
                                             Column("cumulative", "Points so far", ColumnKind.INTEGER)], progress),
    ]
    charts = [Chart(ChartKind.BAR, f"Points by {label}", label=label, values=("points",)),
              Chart(ChartKind.LINE, "Points so far", label="day", values=("cumulative",), table="progress")]
    return ReportResult(title=TITLE, parameters=run.describe(), summary=summary, columns=columns, rows=rows,
                        charts=charts, tables=tables)


def _leaderboard(entries: Sequence[Standing], by_team: bool) -> list[Row]:
    points = [float(s.now.points) for s in entries]
    places = standings(points, higher_is_better=True)
    order = sorted(range(len(entries)), key=lambda i: (places[i][0] is None, places[i][0] or 0, entries[i].name))
    rows: list[Row] = []
    for i in order:
        s = entries[i]
        place, percentile = places[i]
        leading = (s.name,) if by_team else (s.name, s.team)
        rows.append((place, *leading, s.now.points, s.before.points, period_change(s.now.points, s.before.points),
                     s.to_date.points, len(s.badges), s.badges_to_date, ", ".join(s.badges), percentile))
    return rows
