"""What every report type shares: the run (session, access, period), whose data it covers, and the counters of
that coverage, read through the graph's own loaders and rollup tables so a report's figures are the API's.

Coverage (Reach) follows the role rules of gateway/access.py, like the graph's lists and filters:

- a team, agent or campaign named in a filter must be readable (`require_team`, `require_agent`), else FORBIDDEN;
  one that does not exist is NOT_FOUND;
- without a team or agent filter, admin and viewer cover the whole tenant (calls and leads of no agent too);
  every other role covers the agents it may read one by one: a manager its teams' agents, an agent itself;
- filters narrow each other (agents of the named teams, calls of the named campaigns);
- a report covers only agents the principal may read one by one, even where the graph would show an
  aggregate: an agent's report on its own team covers itself, so every table of a report — rollup figures
  and counts of raw rows alike — describes the same calls and leads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from gateway.access import Access
from gateway.db import TenantSession
from gateway.errors import BadUserInput, NotFound
from gateway.loaders import Loaders
from gateway.loaders.metrics import SUMS, ZERO, SeriesKey, TotalsKey
from gateway.metric_specs import MetricSpec
from gateway.metrics import COUNTERS, Counters, Metric, Scope
from gateway.periods import Granularity, Period, bucket_starts, instants_of
from gateway.reports.params import RULES, TIME_GROUPINGS, Grouping, ReportParams, ReportType, grouping_of
from gateway.reports.result import Column, ColumnKind
from gateway.resolvers.custom_metric import specs_from
from gateway.resolvers.metrics import previous_period

DIRECTORY_AGENTS: Final = """
SELECT a.id, a.name, a.team_id, t.name AS team_name
FROM agents a
LEFT JOIN teams t ON t.tenant_id = a.tenant_id AND t.id = a.team_id
WHERE a.tenant_id = $1
ORDER BY a.name, a.id
"""
DIRECTORY_TEAMS: Final = "SELECT id, name FROM teams WHERE tenant_id = $1 ORDER BY name, id"
DIRECTORY_CAMPAIGNS: Final = "SELECT id, name FROM campaigns WHERE tenant_id = $1 ORDER BY name, id"

# The 15-minute rollup summed by one key, for coverage the daily tables cannot give: agents and campaigns at
# once, local hours of the day, weekdays. $2 agents and $3 campaigns are NULL for no filter (NULL agents and
# campaigns included then). The key follows the counters: Counters.from_row reads them by position.
_QUARTER_KEYS: Final = {
    "total": "0",
    "agent": "m.agent_id",
    "campaign": "m.campaign_id",
    "hour_of_day": "extract(hour FROM m.bucket AT TIME ZONE $6)::int",
    "weekday": "extract(isodow FROM m.bucket AT TIME ZONE $6)::int",
    "hour": "m.bucket - make_interval(mins => extract(minute FROM m.bucket AT TIME ZONE $6)::int)",
    "day": "date_trunc($7, m.bucket AT TIME ZONE $6)::date",
}
QUARTER_SUMS: Final = {
    key: f"SELECT {SUMS}, {expr} AS key FROM metrics_15m m "  # noqa: S608 - constant pieces
         "WHERE m.tenant_id = $1 AND ($2::uuid[] IS NULL OR m.agent_id = any($2)) "
         "AND ($3::uuid[] IS NULL OR m.campaign_id = any($3)) AND m.bucket >= $4 AND m.bucket < $5 "
         f"GROUP BY {len(COUNTERS) + 1}"
    for key, expr in _QUARTER_KEYS.items()
}
# The agents' daily rollup summed per bucket of days (a team's series without a campaign filter).
AGENT_SET_DAYS: Final = (
    f"SELECT {SUMS}, date_trunc($5, m.day::timestamp)::date AS key FROM agent_metrics m "  # noqa: S608
    "WHERE m.tenant_id = $1 AND m.agent_id = any($2::uuid[]) AND m.day BETWEEN $3 AND $4 "
    f"GROUP BY {len(COUNTERS) + 1}"
)

# Titles and kinds of the built-in metrics' columns; a column's key is the metric's snake-case name.
METRIC_COLUMNS: Final[Mapping[Metric, tuple[str, ColumnKind]]] = {
    Metric.CALLS_TOTAL: ("Calls", ColumnKind.INTEGER),
    Metric.CALLS_HANDLED: ("Calls handled", ColumnKind.INTEGER),
    Metric.CALLS_INBOUND: ("Inbound calls", ColumnKind.INTEGER),
    Metric.CALLS_OUTBOUND: ("Outbound calls", ColumnKind.INTEGER),
    Metric.AVERAGE_HANDLE_TIME: ("Average handle time", ColumnKind.SECONDS),
    Metric.AVERAGE_SPEED_OF_ANSWER: ("Average speed of answer", ColumnKind.SECONDS),
    Metric.SERVICE_LEVEL: ("Service level", ColumnKind.RATIO),
    Metric.ABANDONMENT_RATE: ("Abandonment rate", ColumnKind.RATIO),
    Metric.FIRST_CONTACT_RESOLUTION: ("First-contact resolution", ColumnKind.RATIO),
    Metric.TRANSFERS: ("Transfers", ColumnKind.INTEGER),
    Metric.CSAT: ("CSAT", ColumnKind.RATIO),
    Metric.CSAT_MEAN: ("Mean rating", ColumnKind.NUMBER),
    Metric.TASKS_COMPLETED: ("Tasks completed", ColumnKind.INTEGER),
    Metric.AVAILABLE_TIME: ("Available time", ColumnKind.SECONDS),
    Metric.OCCUPANCY: ("Occupancy", ColumnKind.RATIO),
    Metric.POINTS: ("Points", ColumnKind.INTEGER),
    Metric.LEADS_GENERATED: ("Leads", ColumnKind.INTEGER),
    Metric.LEADS_CONTACTED: ("Leads contacted", ColumnKind.INTEGER),
    Metric.LEADS_CONVERTED: ("Leads converted", ColumnKind.INTEGER),
    Metric.CONVERSION_RATE: ("Conversion rate", ColumnKind.RATIO),
    Metric.REVENUE: ("Revenue", ColumnKind.MONEY),
    Metric.AVERAGE_LEAD_VALUE: ("Average lead value", ColumnKind.MONEY),
    Metric.COST: ("Cost", ColumnKind.MONEY),
    Metric.ROI: ("ROI", ColumnKind.RATIO),
    Metric.COST_PER_LEAD: ("Cost per lead", ColumnKind.MONEY),
}
# Custom metrics' column keys carry a prefix no built-in name or fixed column (agent, team, rank…) can have.
CUSTOM_PREFIX: Final = "custom."

NO_TEAM: Final = "(no team)"
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class AgentEntry:
    id: UUID
    name: str
    team_id: UUID | None
    team_name: str | None


@dataclass(frozen=True)
class Directory:
    """The tenant's agents, teams and campaigns, each in name order: names for rows, members for filters."""

    agents: Mapping[UUID, AgentEntry]
    teams: Mapping[UUID, str]
    campaigns: Mapping[UUID, str]

    @classmethod
    async def load(cls, db: TenantSession) -> Directory:
        agents = await db.fetch(DIRECTORY_AGENTS, db.tenant_id)
        teams = await db.fetch(DIRECTORY_TEAMS, db.tenant_id)
        campaigns = await db.fetch(DIRECTORY_CAMPAIGNS, db.tenant_id)
        return cls(agents={r["id"]: AgentEntry(r["id"], r["name"], r["team_id"], r["team_name"]) for r in agents},
                   teams={r["id"]: r["name"] for r in teams}, campaigns={r["id"]: r["name"] for r in campaigns})


@dataclass(frozen=True)
class Reach:
    """Whose data a run covers: `agents` None is the whole tenant, `campaigns` None every campaign (and none)."""

    agents: frozenset[UUID] | None
    campaigns: tuple[UUID, ...] | None
    # The covered agents (every agent for the whole tenant), in name order.
    listed: tuple[AgentEntry, ...]

    @property
    def scope(self) -> Scope:
        """Which formulas apply to the covered figures (conversion is per lead for a tenant or campaigns)."""
        if self.agents is None:
            return Scope.TENANT if self.campaigns is None else Scope.CAMPAIGN
        return Scope.TEAM

    @property
    def agent_filter(self) -> list[UUID] | None:
        return sorted(self.agents) if self.agents is not None else None

    @property
    def campaign_filter(self) -> list[UUID] | None:
        return list(self.campaigns) if self.campaigns is not None else None


def reach_of(access: Access, params: ReportParams, directory: Directory) -> Reach:
    """The coverage of `params` for this principal (module docstring); FORBIDDEN or NOT_FOUND for a bad filter."""
    for team in params.team_ids:
        access.require_team(team)
        if team not in directory.teams:
            raise NotFound(f"no team {team}")
    for agent in params.agent_ids:
        access.require_agent(agent)
        if agent not in directory.agents:
            raise NotFound(f"no agent {agent}")
    for campaign in params.campaign_ids:
        if campaign not in directory.campaigns:
            raise NotFound(f"no campaign {campaign}")
    teams = set(params.team_ids)
    named: frozenset[UUID] | None = None
    if params.agent_ids:
        named = frozenset(a for a in params.agent_ids if not teams or directory.agents[a].team_id in teams)
    elif teams:
        named = frozenset(e.id for e in directory.agents.values() if e.team_id in teams)
    listed = tuple(e for e in directory.agents.values()
                   if (named is None or e.id in named) and access.can_read_agent(e.id))
    agents = None if named is None and access.whole_tenant else frozenset(e.id for e in listed)
    return Reach(agents=agents, campaigns=tuple(params.campaign_ids) or None, listed=listed)


def total(counters: Iterable[Counters]) -> Counters:
    """The sum of many counters in one pass (Counters.__add__ builds an object per addition)."""
    items = list(counters)
    if len(items) <= 1:
        return items[0] if items else ZERO
    return Counters(**{name: sum(getattr(c, name) for c in items) for name in COUNTERS})


@dataclass(frozen=True)
class Series:
    """Counters per bucket of the period (every bucket present), the buckets as UTC instants."""

    starts: list[datetime]
    counters: list[Counters]


@dataclass
class ReportRun:
    """One run of one report: everything a type's builder reads, opened by `start`."""

    db: TenantSession
    access: Access
    timezone: str
    report_type: ReportType
    params: ReportParams
    period: Period
    directory: Directory
    reach: Reach
    loaders: Loaders

    @classmethod
    async def start(cls, db: TenantSession, access: Access, timezone: str, report_type: ReportType,
                    params: ReportParams) -> ReportRun:
        period = params.range.period(timezone)
        directory = await Directory.load(db)
        return cls(db=db, access=access, timezone=timezone, report_type=report_type, params=params, period=period,
                   directory=directory, reach=reach_of(access, params, directory), loaders=Loaders.for_session(db))

    @property
    def grouping(self) -> Grouping | None:
        return grouping_of(self.report_type, self.params)

    @property
    def previous(self) -> Period:
        """The period of the same length just before (trend, compare)."""
        return previous_period(self.period)

    def instants(self, period: Period | None = None) -> tuple[datetime, datetime]:
        return instants_of(period or self.period, self.timezone)

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(ZoneInfo(self.timezone))

    # --- metrics -------------------------------------------------------------------------------------------

    async def specs(self) -> list[MetricSpec]:
        """The metrics to include: those asked for (built-in, then custom), else the type's defaults."""
        metrics = list(self.params.metrics)
        custom = list(self.params.custom_metrics)
        if not metrics and not custom:
            metrics = list(RULES[self.report_type].default_metrics)
        return await specs_from(self.loaders.custom_metric_by_name, metrics, custom)

    async def rank_spec(self) -> MetricSpec:
        """The metric agents are ranked by: `rankBy`, else the type's default."""
        choice = self.params.rank_by
        if choice is not None and choice.custom is not None:
            try:
                return (await specs_from(self.loaders.custom_metric_by_name, [], [choice.custom]))[0]
            except BadUserInput as e:
                raise BadUserInput(e.message, argument="rankBy") from None
        metric = choice.metric if choice is not None else RULES[self.report_type].rank_by
        assert metric is not None
        return MetricSpec.of(metric)

    # --- counters of the coverage --------------------------------------------------------------------------

    async def totals(self, period: Period | None = None) -> Counters:
        """The covered figures over the period (the run's own by default)."""
        period = period or self.period
        reach = self.reach
        if reach.agents is None and reach.campaigns is None:
            return await self.loaders.totals[Scope.TENANT].load(TotalsKey(self.db.tenant_id, period))
        if reach.agents is None:
            assert reach.campaigns is not None
            return total((await self.campaign_totals(reach.campaigns, period)).values())
        if reach.campaigns is None:
            return total((await self.agent_totals(reach.agents, period)).values())
        rows = await self._quarter("total", period)
        return rows[0] if rows else ZERO

    async def agent_totals(self, agents: Iterable[UUID], period: Period | None = None) -> dict[UUID, Counters]:
        """Each agent's figures over the period, within the covered campaigns."""
        period = period or self.period
        ids = list(agents)
        if self.reach.campaigns is None:
            found = await self.loaders.totals[Scope.AGENT].load_many([TotalsKey(a, period) for a in ids])
            return dict(zip(ids, found, strict=True))
        by_agent = await self._quarter_by("agent", period, agents=ids)
        return {a: by_agent.get(a, ZERO) for a in ids}

    async def campaign_totals(self, campaigns: Iterable[UUID], period: Period | None = None) -> dict[UUID, Counters]:
        """Each campaign's figures over the period, of the covered agents."""
        period = period or self.period
        ids = list(campaigns)
        if self.reach.agents is None:
            found = await self.loaders.totals[Scope.CAMPAIGN].load_many([TotalsKey(c, period) for c in ids])
            return dict(zip(ids, found, strict=True))
        by_campaign = await self._quarter_by("campaign", period, campaigns=ids)
        return {c: by_campaign.get(c, ZERO) for c in ids}

    async def series(self, granularity: Granularity, period: Period | None = None) -> Series:
        """The covered figures per bucket of the period."""
        period = period or self.period
        try:
            starts = bucket_starts(period, granularity, self.timezone)
        except BadUserInput as e:
            # Too many buckets: in a report, the grouping is what the series is cut by.
            raise BadUserInput(e.message, argument="grouping") from None
        reach = self.reach
        if reach.agents is None and reach.campaigns is None:
            data = await self.loaders.series[Scope.TENANT].load(
                SeriesKey(self.db.tenant_id, period, granularity, self.timezone))
            return Series(starts=data.starts, counters=data.counters)
        if reach.agents is None:
            assert reach.campaigns is not None
            parts = await self.loaders.series[Scope.CAMPAIGN].load_many(
                [SeriesKey(c, period, granularity, self.timezone) for c in reach.campaigns])
            return Series(starts=starts, counters=[total(p.counters[i] for p in parts) for i in range(len(starts))])
        hourly = granularity in (Granularity.HOUR, Granularity.QUARTER_HOUR)
        if hourly:
            rows = await self._quarter_by("hour", period)
            position: dict[object, int] = {s: i for i, s in enumerate(starts)}
        else:
            zone = ZoneInfo(self.timezone)
            position = {s.astimezone(zone).date(): i for i, s in enumerate(starts)}
            if reach.campaigns is None:
                records = await self.db.fetch(AGENT_SET_DAYS, self.db.tenant_id, reach.agent_filter, period.start,
                                              period.end, granularity.value)
                rows = {r["key"]: Counters.from_row(r) for r in records}
            else:
                rows = await self._quarter_by("day", period, granularity=granularity)
        dense = [ZERO] * len(starts)
        for key, counters in rows.items():
            i = position.get(key)
            if i is not None:
                dense[i] = counters
        return Series(starts=starts, counters=dense)

    async def hours_of_day(self) -> dict[int, Counters]:
        """The covered figures per local hour of the day (0-23) over the period."""
        return {cast(int, k): c for k, c in (await self._quarter_by("hour_of_day", self.period)).items()}

    async def weekdays(self) -> dict[int, Counters]:
        """The covered figures per local ISO weekday (1 = Monday) over the period."""
        return {cast(int, k): c for k, c in (await self._quarter_by("weekday", self.period)).items()}

    async def _quarter(self, key: str, period: Period, *, agents: list[UUID] | None = None,
                       campaigns: list[UUID] | None = None, granularity: Granularity | None = None) -> list[Counters]:
        return list((await self._quarter_by(key, period, agents=agents, campaigns=campaigns,
                                            granularity=granularity)).values())

    async def _quarter_by(self, key: str, period: Period, *, agents: list[UUID] | None = None,
                          campaigns: list[UUID] | None = None,
                          granularity: Granularity | None = None) -> dict[object, Counters]:
        start, end = self.instants(period)
        args: list[object] = [self.db.tenant_id, agents if agents is not None else self.reach.agent_filter,
                              campaigns if campaigns is not None else self.reach.campaign_filter, start, end]
        if key in ("hour_of_day", "weekday", "hour", "day"):
            args.append(self.timezone)
        if key == "day":
            assert granularity is not None
            args.append(granularity.value)
        return {r["key"]: Counters.from_row(r) for r in await self.db.fetch(QUARTER_SUMS[key], *args)}

    # --- presentation --------------------------------------------------------------------------------------

    def describe(self, extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
        """The parameters as a reader sees them (title page of the PDF)."""
        rng = self.params.range
        span = f"{self.period.start.isoformat()} – {self.period.end.isoformat()}"
        if rng.preset is not None:
            span += f" ({rng.preset.name})"
        described = [("Range", span), ("Timezone", self.timezone)]
        for label, ids, names in (("Teams", self.params.team_ids, self.directory.teams),
                                  ("Campaigns", self.params.campaign_ids, self.directory.campaigns)):
            if ids:
                described.append((label, ", ".join(names.get(i, str(i)) for i in ids)))
        if self.params.agent_ids:
            described.append(("Agents", ", ".join(self.directory.agents[a].name for a in self.params.agent_ids
                                                   if a in self.directory.agents)))
        if not self.params.team_ids and not self.params.agent_ids:
            described.append(("Coverage", "the whole tenant" if self.reach.agents is None
                              else f"{len(self.reach.agents)} agents you may read"))
        if self.grouping is not None:
            described.append(("Grouping", self.grouping.name.lower()))
        described.extend(extra)
        return described


def metric_column(spec: MetricSpec) -> Column:
    if spec.builtin is not None:
        title, kind = METRIC_COLUMNS[spec.builtin]
        return Column(spec.builtin.value, title, kind)
    return Column(CUSTOM_PREFIX + spec.name, spec.name, ColumnKind.NUMBER)


def metric_cell(spec: MetricSpec, counters: Counters, scope: Scope) -> object:
    """The metric's value as the API gives it: counts as ints, every other value a float or None."""
    value = spec.value(counters, scope)
    if value is not None and spec.builtin is not None and METRIC_COLUMNS[spec.builtin][1] is ColumnKind.INTEGER:
        return int(value)
    return value


def bucket_label(run: ReportRun, grouping: Grouping, start: datetime) -> date | datetime:
    """A time bucket's label: its local day (DAY, WEEK's Monday, MONTH's first) or its local hour."""
    local = run.local(start)
    return local if grouping is Grouping.HOUR else local.date()


def bucket_column(grouping: Grouping) -> Column:
    titles = {Grouping.HOUR: "Hour", Grouping.DAY: "Day", Grouping.WEEK: "Week of", Grouping.MONTH: "Month"}
    return Column("bucket", titles[grouping], ColumnKind.DATETIME if grouping is Grouping.HOUR else ColumnKind.DATE)


def granularity_of(grouping: Grouping) -> Granularity:
    return TIME_GROUPINGS[grouping]


def team_groups(run: ReportRun, agents: Iterable[UUID]) -> list[tuple[UUID | None, str, list[UUID]]]:
    """The agents by team (team name order, agents of no team last): (team id, team name, agent ids)."""
    members: dict[UUID | None, list[UUID]] = {}
    for agent in agents:
        members.setdefault(run.directory.agents[agent].team_id, []).append(agent)
    ordered: list[tuple[UUID | None, str, list[UUID]]] = [
        (team, name, members[team]) for team, name in run.directory.teams.items() if team in members]
    if None in members:
        ordered.append((None, NO_TEAM, members[None]))
    return ordered


def covered_agents(run: ReportRun) -> list[UUID]:
    """Every covered agent (for sums by team): the whole directory for the whole tenant."""
    agents = run.reach.agents
    return [a for a in run.directory.agents if agents is None or a in agents]

