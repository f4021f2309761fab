"""The report types: one module each, and the registry that runs them.

A run needs a tenant session, the Access of the principal it runs as and the tenant's timezone — nothing of a
GraphQL operation — so the report worker calls it with a TenantSession it opened for the tenant:

    params = params_from_json(ReportType.CALL, {"range": {"preset": "LAST_WEEK"}, "grouping": "HOUR"})
    result = await run_report(db, access, "Europe/Berlin", ReportType.CALL, params)

Figures come from the rollups through the graph's own loaders and metric formulas (gateway/metrics.py), so they
equal what the API answers for the same range and coverage; breakdowns no rollup keeps (outcomes, dispositions,
lead sources and scores, aging, badges) are counted from the raw tables by the SQL beside each builder.
CALL_DETAIL's rows are not in its result: stream them with `call_detail_rows`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from gateway.access import Access
from gateway.db import TenantSession
from gateway.errors import Forbidden
from gateway.reports.params import RULES, ParamRules, ReportParams, ReportType, report_type_of, validate
from gateway.reports.result import Column, ReportResult
from gateway.reports.types import agent_performance, call, call_detail, campaign, gamification, lead
from gateway.reports.types._run import ReportRun
from gateway.reports.types.call_detail import call_detail_rows

__all__ = [
    "CALL_DETAIL_COLUMNS",
    "REGISTRY",
    "ReportDefinition",
    "ReportType",
    "call_detail_rows",
    "definition",
    "run_report",
]

Builder = Callable[[ReportRun], Awaitable[ReportResult]]


@dataclass(frozen=True)
class ReportDefinition:
    """One report type: what it is called and shows, what it takes, and how it is built."""

    type: ReportType
    title: str
    description: str
    build: Builder
    # True when the rows are streamed (call_detail_rows) rather than part of the result.
    streams_rows: bool = False

    @property
    def rules(self) -> ParamRules:
        return RULES[self.type]


REGISTRY: Final[Mapping[ReportType, ReportDefinition]] = {
    ReportType.LEAD: ReportDefinition(
        ReportType.LEAD, lead.TITLE,
        "Leads created in the range by source and current stage, conversion, score distribution, aging.",
        lead.build),
    ReportType.CALL: ReportDefinition(
        ReportType.CALL, call.TITLE,
        "Calls by a grouping, by local hour and weekday: handle time, speed of answer, service level, "
        "abandonment, outcomes and dispositions, CSAT.",
        call.build),
    ReportType.CAMPAIGN: ReportDefinition(
        ReportType.CAMPAIGN, campaign.TITLE,
        "Campaigns side by side: leads, conversion, revenue, cost, ROI, cost per lead.", campaign.build),
    ReportType.AGENT_PERFORMANCE: ReportDefinition(
        ReportType.AGENT_PERFORMANCE, agent_performance.TITLE,
        "Per agent: calls, handle time, conversion, CSAT, tasks, available time, occupancy, rank and percentile, "
        "change against the previous period.",
        agent_performance.build),
    ReportType.GAMIFICATION: ReportDefinition(
        ReportType.GAMIFICATION, gamification.TITLE,
        "Points leaderboard, badges earned, points to date and per day.", gamification.build),
    ReportType.CALL_DETAIL: ReportDefinition(
        ReportType.CALL_DETAIL, call_detail.TITLE, "Every call of the range, one row each (streamed).",
        call_detail.build, streams_rows=True),
}

CALL_DETAIL_COLUMNS: Final[tuple[Column, ...]] = call_detail.COLUMNS


def definition(report_type: ReportType | str) -> ReportDefinition:
    """The registry entry of a type, by enum or stored key; BAD_USER_INPUT for an unknown key."""
    return REGISTRY[report_type_of(report_type)]


async def run_report(db: TenantSession, access: Access, timezone: str, report_type: ReportType | str,
                     params: ReportParams) -> ReportResult:
    """Runs one report as the principal `access` describes, in the tenant's `timezone`.

    BAD_USER_INPUT for parameters the type does not take (or an unknown custom metric), FORBIDDEN for a filter
    outside the principal's role (or campaign figures for an agent), NOT_FOUND for a filter naming nothing.
    """
    chosen = definition(report_type)
    validate(chosen.type, params)
    if not access.whole_tenant and not access.aggregates and access.own_agent is None:
        # A service token's Access: it reads nothing about people, so no report either.
        raise Forbidden("reports need one of the roles admin, viewer, manager or agent")
    run = await ReportRun.start(db, access, timezone, chosen.type, params)
    return await chosen.build(run)
