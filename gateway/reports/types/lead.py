"""Lead analysis: the leads created in the range by source (or campaign, team, owner, day…) and current stage,
their conversion, their score distribution, and the aging of the leads still open.

Leads follow the owner rule of the `leads` list: admin and viewer see every lead (of no owner too), anyone else
the leads of the agents it may read. No rollup keeps a lead's source, score or stage: these are counts of the
leads themselves (index leads_tenant_created). Conversion here is the cohort's: leads of the range now won over
leads of the range (`leads(filter: {range, stage: WON}) { totalCount }` over `leads(filter: {range})`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from uuid import UUID

import asyncpg

from gateway import clock
from gateway.metrics import ratio
from gateway.periods import bucket_starts
from gateway.reports.params import TIME_GROUPINGS, Grouping
from gateway.reports.result import Chart, ChartKind, Column, ColumnKind, ReportResult, Row, SummaryFigure, Table
from gateway.reports.types._run import NO_TEAM, ReportRun, bucket_column, granularity_of

TITLE: Final = "Lead analysis"

SOURCES: Final = ("inbound_call", "web_form", "referral", "import", "social", "email", "partner")
STAGES: Final = ("new", "contacted", "qualified", "proposal", "won", "lost")
OPEN_STAGES: Final = ("new", "contacted", "qualified", "proposal")
NO_CAMPAIGN: Final = "(no campaign)"
NO_OWNER: Final = "(no owner)"
SCORE_BUCKETS: Final = ("0–19", "20–39", "40–59", "60–79", "80–100")
AGE_BUCKETS: Final = ("under 1 day", "1–7 days", "7–30 days", "30–90 days", "90 days or more")

# What a row counts, for any key: leads, per current stage, score sum (for the mean) and won value.
_COUNTS: Final = (
    "count(*) AS leads, "
    + ", ".join(f"count(*) FILTER (WHERE l.stage = '{s}') AS {s}" for s in STAGES)
    + ", coalesce(sum(l.score), 0)::bigint AS score_sum, "
    "coalesce(sum(l.value) FILTER (WHERE l.stage = 'won'), 0)::float8 AS won_value"
)
# $4 owners and $5 campaigns are NULL for no filter; time keys read the timezone ($6) and granularity ($7).
_COVERED: Final = """
FROM leads l
LEFT JOIN agents a ON a.tenant_id = l.tenant_id AND a.id = l.owner_agent_id
WHERE l.tenant_id = $1 AND l.created_at >= $2 AND l.created_at < $3
  AND ($4::uuid[] IS NULL OR l.owner_agent_id = any($4))
  AND ($5::uuid[] IS NULL OR l.campaign_id = any($5))
"""
_KEYS: Final = {
    Grouping.SOURCE: "l.source",
    Grouping.CAMPAIGN: "l.campaign_id::text",
    Grouping.TEAM: "a.team_id::text",
    Grouping.AGENT: "l.owner_agent_id::text",
    Grouping.DAY: "date_trunc($7, l.created_at AT TIME ZONE $6)::date::text",
}
LEADS_BY: Final = {
    grouping: f"SELECT {key} AS key, {_COUNTS} {_COVERED} GROUP BY 1"
    for grouping, key in _KEYS.items()
}
# Score buckets of 20 points, 80-100 the last.
LEADS_BY_SCORE: Final = (
    f"SELECT least(l.score / 20, 4) AS key, {_COUNTS} {_COVERED} GROUP BY 1"
)
# The covered leads open now and created before $4, aged at $4 (the range's end, or now when that is earlier).
OPEN_LEADS_BY_AGE: Final = """
SELECT CASE WHEN $4::timestamptz - l.created_at < interval '1 day' THEN 0
            WHEN $4::timestamptz - l.created_at < interval '7 days' THEN 1
            WHEN $4::timestamptz - l.created_at < interval '30 days' THEN 2
            WHEN $4::timestamptz - l.created_at < interval '90 days' THEN 3
            ELSE 4 END AS key,
       count(*) AS leads, coalesce(sum(l.score), 0)::bigint AS score_sum,
       coalesce(sum(l.value), 0)::float8 AS value
FROM leads l
WHERE l.tenant_id = $1 AND l.created_at < $4 AND l.stage IN ('new', 'contacted', 'qualified', 'proposal')
  AND ($2::uuid[] IS NULL OR l.owner_agent_id = any($2))
  AND ($3::uuid[] IS NULL OR l.campaign_id = any($3))
GROUP BY 1
"""


@dataclass(frozen=True)
class LeadCounts:
    leads: int = 0
    stages: tuple[int, ...] = (0,) * len(STAGES)
    score_sum: int = 0
    won_value: float = 0.0

    @classmethod
    def of(cls, row: asyncpg.Record) -> LeadCounts:
        return cls(leads=row["leads"], stages=tuple(row[s] for s in STAGES), score_sum=row["score_sum"],
                   won_value=row["won_value"])

    def __add__(self, other: LeadCounts) -> LeadCounts:
        stages = tuple(a + b for a, b in zip(self.stages, other.stages, strict=True))
        return LeadCounts(self.leads + other.leads, stages, self.score_sum + other.score_sum,
                          self.won_value + other.won_value)

    @property
    def won(self) -> int:
        return self.stages[STAGES.index("won")]

    @property
    def lost(self) -> int:
        return self.stages[STAGES.index("lost")]

    @property
    def open(self) -> int:
        return self.leads - self.won - self.lost

    def cells(self) -> tuple[object, ...]:
        return (self.leads, *self.stages, ratio(self.won, self.leads), ratio(self.score_sum, self.leads),
                self.won_value)


COUNT_COLUMNS: Final = (
    Column("leads", "Leads", ColumnKind.INTEGER),
    *(Column(s, s.title(), ColumnKind.INTEGER) for s in STAGES),
    Column("conversion", "Conversion", ColumnKind.RATIO),
    Column("average_score", "Average score", ColumnKind.NUMBER),
    Column("won_value", "Won value", ColumnKind.MONEY),
)


async def build(run: ReportRun) -> ReportResult:
    grouping = run.grouping
    assert grouping is not None
    owners = run.reach.agent_filter
    campaigns = run.reach.campaign_filter
    start, end = run.instants()
    args: list[object] = [run.db.tenant_id, start, end, owners, campaigns]
    if grouping in TIME_GROUPINGS:
        statement = LEADS_BY[Grouping.DAY]
        args += [run.timezone, granularity_of(grouping).value]
    else:
        statement = LEADS_BY[grouping]
    groups = {r["key"]: LeadCounts.of(r) for r in await run.db.fetch(statement, *args)}
    label, rows = _rows(run, grouping, groups)
    everything = sum(groups.values(), LeadCounts())
    scores = {r["key"]: LeadCounts.of(r) for r in await run.db.fetch(LEADS_BY_SCORE, *args[:5])}
    as_of = min(end, clock.now())
    ages = {r["key"]: r for r in await run.db.fetch(OPEN_LEADS_BY_AGE, run.db.tenant_id, owners, campaigns, as_of)}
    summary = [
        SummaryFigure("Leads", everything.leads, ColumnKind.INTEGER),
        SummaryFigure("Open", everything.open, ColumnKind.INTEGER),
        SummaryFigure("Won", everything.won, ColumnKind.INTEGER),
        SummaryFigure("Lost", everything.lost, ColumnKind.INTEGER),
        SummaryFigure("Conversion", ratio(everything.won, everything.leads), ColumnKind.RATIO),
        SummaryFigure("Average score", ratio(everything.score_sum, everything.leads), ColumnKind.NUMBER),
        SummaryFigure("Won value", everything.won_value, ColumnKind.MONEY),
        SummaryFigure("Open leads, any age", sum(r["leads"] for r in ages.values()), ColumnKind.INTEGER),
    ]
    tables = [
        Table("scores", "Score distribution", [Column("score", "Score"), *COUNT_COLUMNS],
              [(name, *scores.get(i, LeadCounts()).cells()) for i, name in enumerate(SCORE_BUCKETS)]),
        Table("aging", f"Open leads by age on {run.local(as_of).date().isoformat()}",
              [Column("age", "Age"), Column("leads", "Open leads", ColumnKind.INTEGER),
               Column("average_score", "Average score", ColumnKind.NUMBER),
               Column("value", "Value", ColumnKind.MONEY)],
              [_age_row(name, ages.get(i)) for i, name in enumerate(AGE_BUCKETS)]),
    ]
    charts = [
        Chart(ChartKind.LINE if grouping in TIME_GROUPINGS else ChartKind.BAR, f"Leads by {label.title.lower()}",
              label=label.key, values=("leads", "won")),
        Chart(ChartKind.BAR, "Score distribution", label="score", values=("leads",), table="scores"),
        Chart(ChartKind.BAR, "Open leads by age", label="age", values=("leads",), table="aging"),
    ]
    return ReportResult(title=TITLE, parameters=run.describe(), summary=summary, columns=[label, *COUNT_COLUMNS],
                        rows=rows, charts=charts, tables=tables)


def _rows(run: ReportRun, grouping: Grouping, groups: dict[object, LeadCounts]) -> tuple[Column, list[Row]]:
    """The main table's label column and rows, in the grouping's order (every source and bucket present)."""
    if grouping is Grouping.SOURCE:
        return Column("source", "Source"), [(s, *groups.get(s, LeadCounts()).cells()) for s in SOURCES]
    if grouping in TIME_GROUPINGS:
        zone_days = [run.local(s).date() for s in bucket_starts(run.period, granularity_of(grouping), run.timezone)]
        return bucket_column(grouping), [(d, *groups.get(d.isoformat(), LeadCounts()).cells()) for d in zone_days]
    names: Mapping[UUID, str]
    if grouping is Grouping.CAMPAIGN:
        names, column, missing = run.directory.campaigns, Column("campaign", "Campaign"), NO_CAMPAIGN
    elif grouping is Grouping.TEAM:
        names, column, missing = run.directory.teams, Column("team", "Team"), NO_TEAM
    else:
        names = {a: e.name for a, e in run.directory.agents.items()}
        column, missing = Column("agent", "Owner"), NO_OWNER
    rows: list[Row] = [(name, *groups[str(key)].cells()) for key, name in names.items() if str(key) in groups]
    if None in groups:
        rows.append((missing, *groups[None].cells()))
    return column, rows


def _age_row(name: str, row: asyncpg.Record | None) -> Row:
    if row is None:
        return (name, 0, None, 0.0)
    return (name, row["leads"], ratio(row["score_sum"], row["leads"]), row["value"])

