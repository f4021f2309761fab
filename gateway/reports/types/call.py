"""Call analysis: volume, handle time, speed of answer, service level, abandonment and CSAT by a grouping, by
local hour of the day and weekday, and by outcome and disposition.

The summary and the main table read the rollups through the graph's loaders; hours of the day and weekdays sum
the 15-minute rollup by local hour; outcomes and dispositions, which no rollup keeps, count the calls.
"""

from __future__ import annotations

from typing import Final

from gateway.metric_specs import MetricSpec
from gateway.metrics import Counters, Metric, Scope, ratio
from gateway.reports.params import TIME_GROUPINGS, Grouping
from gateway.reports.result import Chart, ChartKind, Column, ColumnKind, ReportResult, Row, SummaryFigure, Table
from gateway.reports.types._run import (
    WEEKDAYS,
    ReportRun,
    bucket_column,
    bucket_label,
    covered_agents,
    granularity_of,
    metric_cell,
    metric_column,
    team_groups,
    total,
)

TITLE: Final = "Call analysis"

OUTCOMES: Final = ("connected", "no_answer", "busy", "voicemail", "abandoned", "failed")
DISPOSITIONS: Final = ("converted", "interested", "callback", "not_interested", "resolved", "escalated",
                       "wrong_number")
NO_DISPOSITION: Final = "(none)"

# No rollup keeps outcomes or dispositions: the covered calls are counted (index calls_tenant_started).
# $4 agents and $5 campaigns are NULL for no filter.
CALLS_BY_OUTCOME_AND_DISPOSITION: Final = """
SELECT c.outcome, c.disposition, count(*) AS calls
FROM calls c
WHERE c.tenant_id = $1 AND c.started_at >= $2 AND c.started_at < $3
  AND ($4::uuid[] IS NULL OR c.agent_id = any($4))
  AND ($5::uuid[] IS NULL OR c.campaign_id = any($5))
GROUP BY c.outcome, c.disposition
"""

SUMMARY: Final = (Metric.CALLS_TOTAL, Metric.CALLS_INBOUND, Metric.CALLS_OUTBOUND, Metric.CALLS_HANDLED,
                  Metric.AVERAGE_HANDLE_TIME, Metric.AVERAGE_SPEED_OF_ANSWER, Metric.SERVICE_LEVEL,
                  Metric.ABANDONMENT_RATE, Metric.FIRST_CONTACT_RESOLUTION, Metric.TRANSFERS, Metric.CSAT,
                  Metric.CSAT_MEAN)
# The columns of the hour-of-day and weekday tables.
PROFILE: Final = (Metric.CALLS_TOTAL, Metric.CALLS_INBOUND, Metric.CALLS_HANDLED, Metric.AVERAGE_HANDLE_TIME,
                  Metric.SERVICE_LEVEL, Metric.ABANDONMENT_RATE)


async def build(run: ReportRun) -> ReportResult:
    specs = await run.specs()
    grouping = run.grouping
    assert grouping is not None
    totals = await run.totals()
    columns, rows = await grouped(run, grouping, specs)
    hours, weekdays = await run.hours_of_day(), await run.weekdays()
    outcomes, dispositions = await _outcomes(run)
    profile = [MetricSpec.of(m) for m in PROFILE]
    scope = run.reach.scope
    summary = [SummaryFigure(metric_column(s).title, metric_cell(s, totals, scope), metric_column(s).kind)
               for s in map(MetricSpec.of, SUMMARY)]
    summary.append(SummaryFigure("Ratings", totals.csat_count, ColumnKind.INTEGER))
    calls = totals.calls_total
    tables = [
        Table("by_hour", "Calls by hour of the day (local time)",
              [Column("hour", "Hour"), *map(metric_column, profile)],
              [(f"{h:02d}:00", *(metric_cell(s, hours.get(h, Counters()), scope) for s in profile))
               for h in range(24)]),
        Table("by_weekday", "Calls by weekday (local time)",
              [Column("weekday", "Weekday"), *map(metric_column, profile)],
              [(name, *(metric_cell(s, weekdays.get(i + 1, Counters()), scope) for s in profile))
               for i, name in enumerate(WEEKDAYS)]),
        Table("outcomes", "Outcomes", _share_columns("outcome", "Outcome"),
              [(o, outcomes.get(o, 0), ratio(outcomes.get(o, 0), calls)) for o in OUTCOMES]),
        Table("dispositions", "Dispositions", _share_columns("disposition", "Disposition"),
              [(d, dispositions.get(d, 0), ratio(dispositions.get(d, 0), calls))
               for d in (*DISPOSITIONS, NO_DISPOSITION)]),
    ]
    first = metric_column(specs[0])
    by = columns[0]
    charts = [
        Chart(ChartKind.LINE if grouping in TIME_GROUPINGS else ChartKind.BAR, f"{first.title} by {by.title.lower()}",
              label=by.key, values=(first.key,)),
        Chart(ChartKind.BAR, "Calls by hour of the day", label="hour", values=("calls_total",), table="by_hour"),
        Chart(ChartKind.BAR, "Outcomes", label="outcome", values=("calls",), table="outcomes"),
    ]
    return ReportResult(title=TITLE, parameters=run.describe([("Metrics", ", ".join(s.name for s in specs))]),
                        summary=summary, columns=columns, rows=rows, charts=charts, tables=tables)


async def grouped(run: ReportRun, grouping: Grouping, specs: list[MetricSpec]) -> tuple[list[Column], list[Row]]:
    """The main table: one row per time bucket, team, readable agent or campaign, one column per metric."""
    metric_columns = [metric_column(s) for s in specs]

    def cells(counters: Counters, scope: Scope) -> tuple[object, ...]:
        return tuple(metric_cell(s, counters, scope) for s in specs)

    if grouping in TIME_GROUPINGS:
        series = await run.series(granularity_of(grouping))
        rows: list[Row] = [(bucket_label(run, grouping, start), *cells(c, run.reach.scope))
                           for start, c in zip(series.starts, series.counters, strict=True)]
        return [bucket_column(grouping), *metric_columns], rows
    if grouping is Grouping.TEAM:
        per_agent = await run.agent_totals(covered_agents(run))
        rows = [(name, *cells(total(per_agent[a] for a in members), Scope.TEAM))
                for _, name, members in team_groups(run, per_agent)]
        return [Column("team", "Team"), *metric_columns], rows
    if grouping is Grouping.AGENT:
        per_agent = await run.agent_totals(e.id for e in run.reach.listed)
        rows = [(e.name, e.team_name, *cells(per_agent[e.id], Scope.AGENT)) for e in run.reach.listed]
        return [Column("agent", "Agent"), Column("team", "Team"), *metric_columns], rows
    campaigns = run.reach.campaigns or tuple(run.directory.campaigns)
    per_campaign = await run.campaign_totals(campaigns)
    scope = Scope.CAMPAIGN if run.reach.agents is None else Scope.TEAM
    rows = [(run.directory.campaigns[c], *cells(per_campaign[c], scope)) for c in campaigns]
    return [Column("campaign", "Campaign"), *metric_columns], rows


async def _outcomes(run: ReportRun) -> tuple[dict[str, int], dict[str, int]]:
    start, end = run.instants()
    outcomes: dict[str, int] = {}
    dispositions: dict[str, int] = {}
    for r in await run.db.fetch(CALLS_BY_OUTCOME_AND_DISPOSITION, run.db.tenant_id, start, end,
                                run.reach.agent_filter, run.reach.campaign_filter):
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + r["calls"]
        disposition = r["disposition"] or NO_DISPOSITION
        dispositions[disposition] = dispositions.get(disposition, 0) + r["calls"]
    return outcomes, dispositions


def _share_columns(key: str, title: str) -> list[Column]:
    return [Column(key, title), Column("calls", "Calls", ColumnKind.INTEGER),
            Column("share", "Share", ColumnKind.RATIO)]
