"""Campaign analysis: campaigns side by side — leads, conversion, revenue, cost, ROI, cost per lead — whole.

Campaign figures are aggregates (admin, viewer, manager; FORBIDDEN for an agent, as `campaign.metrics` is):
each campaign's rollup as `campaign.metrics` reads it, never narrowed to some agents, since leads and spend
belong to no agent. With a time grouping the main table has one row per campaign and bucket, and the
per-campaign totals follow as a table of their own.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

from gateway.loaders.metrics import SeriesKey, TotalsKey
from gateway.metric_specs import MetricSpec
from gateway.metrics import Counters, Metric, Scope
from gateway.reports.params import TIME_GROUPINGS
from gateway.reports.result import Chart, ChartKind, Column, ColumnKind, ReportResult, Row, SummaryFigure, Table
from gateway.reports.types._run import (
    ReportRun,
    bucket_column,
    bucket_label,
    granularity_of,
    metric_cell,
    metric_column,
    total,
)

TITLE: Final = "Campaign analysis"


async def build(run: ReportRun) -> ReportResult:
    run.access.require_aggregates()
    specs = await run.specs()
    campaigns = run.reach.campaigns or tuple(run.directory.campaigns)
    found = await run.loaders.totals[Scope.CAMPAIGN].load_many([TotalsKey(c, run.period) for c in campaigns])
    per_campaign = dict(zip(campaigns, found, strict=True))
    columns = [Column("campaign", "Campaign"), *map(metric_column, specs)]
    side_by_side = [_row(run, c, per_campaign[c], specs) for c in campaigns]
    together = total(per_campaign.values())
    summary = [SummaryFigure("Campaigns", len(campaigns), ColumnKind.INTEGER)] + [
        SummaryFigure(metric_column(s).title, metric_cell(s, together, Scope.CAMPAIGN), metric_column(s).kind)
        for s in specs]
    compared = _compared(specs)
    grouping = run.grouping
    described = run.describe([("Metrics", ", ".join(s.name for s in specs))])
    if grouping not in TIME_GROUPINGS:
        chart = Chart(ChartKind.BAR, "Campaigns side by side", label="campaign", values=compared)
        return ReportResult(title=TITLE, parameters=described, summary=summary, columns=columns, rows=side_by_side,
                            charts=[chart])
    assert grouping is not None
    granularity = granularity_of(grouping)
    series = await run.loaders.series[Scope.CAMPAIGN].load_many(
        [SeriesKey(c, run.period, granularity, run.timezone) for c in campaigns])
    rows: list[Row] = [(run.directory.campaigns[c], bucket_label(run, grouping, start),
                        *(metric_cell(s, counters, Scope.CAMPAIGN) for s in specs))
                       for c, data in zip(campaigns, series, strict=True)
                       for start, counters in zip(data.starts, data.counters, strict=True)]
    table = Table("campaigns", "Campaigns side by side", columns, side_by_side)
    chart = Chart(ChartKind.BAR, "Campaigns side by side", label="campaign", values=compared, table="campaigns")
    return ReportResult(title=TITLE, parameters=described, summary=summary,
                        columns=[Column("campaign", "Campaign"), bucket_column(grouping), *map(metric_column, specs)],
                        rows=rows, charts=[chart], tables=[table])


def _row(run: ReportRun, campaign: UUID, counters: Counters, specs: list[MetricSpec]) -> Row:
    return (run.directory.campaigns[campaign], *(metric_cell(s, counters, Scope.CAMPAIGN) for s in specs))


def _compared(specs: list[MetricSpec]) -> tuple[str, ...]:
    """What the chart sets side by side: revenue and cost when included, else the first metric."""
    money = tuple(metric_column(s).key for s in specs if s.builtin in (Metric.REVENUE, Metric.COST))
    return money or (metric_column(specs[0]).key,)
