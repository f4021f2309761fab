"""Call detail: every covered call of the range, one row each, streamed for exports of any size.

`call_detail_rows` reads the calls through a server-side cursor inside the session's transaction, a chunk at a
time, so a million-row CSV export holds one chunk in memory, never the result. Its rows follow the `calls` list's
rules (calls of no agent only for admin and viewer) and filters; they come in start order.
`run_report(CALL_DETAIL)` gives the title, parameters, summary and columns, with no rows: those are streamed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Final

from gateway.access import Access
from gateway.db import TenantSession
from gateway.errors import Forbidden
from gateway.periods import instants_of
from gateway.reports.params import ReportParams, ReportType, validate
from gateway.reports.result import Column, ColumnKind, ReportResult, Row, SummaryFigure
from gateway.reports.types._run import Directory, ReportRun, reach_of

TITLE: Final = "Call detail"
CHUNK_ROWS: Final = 5000

COLUMNS: Final = (
    Column("started_at", "Started (local time)", ColumnKind.DATETIME),
    Column("call_id", "Call id"),
    Column("direction", "Direction"),
    Column("outcome", "Outcome"),
    Column("disposition", "Disposition"),
    Column("agent", "Agent"),
    Column("team", "Team"),
    Column("campaign", "Campaign"),
    Column("answer_seconds", "Seconds to answer", ColumnKind.SECONDS),
    Column("talk_seconds", "Talk", ColumnKind.SECONDS),
    Column("hold_seconds", "Hold", ColumnKind.SECONDS),
    Column("wrap_up_seconds", "Wrap-up", ColumnKind.SECONDS),
    Column("handle_seconds", "Handle time", ColumnKind.SECONDS),
    Column("abandoned", "Abandoned (1 = yes)", ColumnKind.INTEGER),
    Column("transferred", "Transferred (1 = yes)", ColumnKind.INTEGER),
    Column("first_contact_resolution", "Resolved on first contact (1 = yes)", ColumnKind.INTEGER),
    Column("csat", "CSAT rating", ColumnKind.INTEGER),
    Column("cost", "Cost", ColumnKind.MONEY),
)

# In COLUMNS order. The call's id is the platform's own (the id its call events carry), which a spreadsheet or
# BI tool joins on; the start is the tenant's local wall time. Ordered by the index calls_tenant_started, which
# a cursor reads from its first row on. $4 agents and $5 campaigns NULL: no filter.
CALL_DETAIL: Final = """
SELECT c.started_at AT TIME ZONE $6 AS started_at, c.id::text AS call_id,
       c.direction, c.outcome, c.disposition, a.name AS agent, t.name AS team, k.name AS campaign,
       CASE WHEN c.answered_at IS NOT NULL THEN extract(epoch FROM c.answered_at - c.started_at)::float8 END
           AS answer_seconds,
       c.talk_seconds, c.hold_seconds, c.wrap_up_seconds,
       c.talk_seconds + c.hold_seconds + c.wrap_up_seconds AS handle_seconds,
       c.abandoned::int AS abandoned, c.transferred::int AS transferred,
       c.first_contact_resolution::int AS first_contact_resolution, c.csat_rating AS csat, c.cost
FROM calls c
LEFT JOIN agents a ON a.tenant_id = c.tenant_id AND a.id = c.agent_id
LEFT JOIN teams t ON t.tenant_id = a.tenant_id AND t.id = a.team_id
LEFT JOIN campaigns k ON k.tenant_id = c.tenant_id AND k.id = c.campaign_id
WHERE c.tenant_id = $1 AND c.started_at >= $2 AND c.started_at < $3
  AND ($4::uuid[] IS NULL OR c.agent_id = any($4))
  AND ($5::uuid[] IS NULL OR c.campaign_id = any($5))
ORDER BY c.started_at, c.id
"""


async def build(run: ReportRun) -> ReportResult:
    """The export's frame: summary from the rollups (`calls_total` counts exactly the rows streamed)."""
    totals = await run.totals()
    summary = [SummaryFigure("Calls", totals.calls_total, ColumnKind.INTEGER),
               SummaryFigure("Calls handled", totals.calls_handled, ColumnKind.INTEGER)]
    return ReportResult(title=TITLE, parameters=run.describe(), summary=summary, columns=list(COLUMNS), rows=[])


async def call_detail_rows(db: TenantSession, access: Access, timezone: str, params: ReportParams, *,
                           chunk_rows: int = CHUNK_ROWS) -> AsyncIterator[Sequence[Row]]:
    """The covered calls of the range in start order, in chunks of `chunk_rows`, through a server-side cursor."""
    validate(ReportType.CALL_DETAIL, params)
    if not access.whole_tenant and not access.aggregates and access.own_agent is None:
        raise Forbidden("reports need one of the roles admin, viewer, manager or agent")
    period = params.range.period(timezone)
    reach = reach_of(access, params, await Directory.load(db))
    run_start, run_end = instants_of(period, timezone)
    async for chunk in db.chunks(CALL_DETAIL, db.tenant_id, run_start, run_end, reach.agent_filter,
                                 reach.campaign_filter, timezone, size=chunk_rows):
        yield [tuple(r) for r in chunk]
