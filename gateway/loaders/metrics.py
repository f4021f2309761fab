"""Metric loaders: summed rollup counters per entity and period, and per bucket for series.

Keys carry their arguments (entity, period, granularity), and a batch runs one statement per distinct set of
arguments — on a dashboard, where every entity asks for the same period, that is one statement in all.
Totals and day-level series read the daily rollups; hour and quarter-hour series read metrics_15m.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader
from gateway.metrics import COUNTERS, Counters, Scope
from gateway.periods import Granularity, Period, bucket_starts, local_midnight

SUMS: Final = ", ".join(f"sum(m.{c}) AS {c}" for c in COUNTERS)

# Per scope: the daily table joined as `m`, and the expression its keys are matched on.
_DAILY_SOURCES: Final = {
    Scope.AGENT: ("agent_metrics m", "m.agent_id"),
    Scope.CAMPAIGN: ("campaign_metrics m", "m.campaign_id"),
    Scope.TENANT: ("daily_reports m", "m.tenant_id"),
    # A team's numbers are its current agents' numbers.
    Scope.TEAM: ("agent_metrics m JOIN agents a ON a.tenant_id = m.tenant_id AND a.id = m.agent_id", "a.team_id"),
}
_QUARTER_SOURCES: Final = {
    Scope.AGENT: ("metrics_15m m", "m.agent_id"),
    Scope.CAMPAIGN: ("metrics_15m m", "m.campaign_id"),
    Scope.TENANT: ("metrics_15m m", "m.tenant_id"),
    Scope.TEAM: ("metrics_15m m JOIN agents a ON a.tenant_id = m.tenant_id AND a.id = m.agent_id", "a.team_id"),
}

# Identifiers come from the constant maps above, never from a client.
TOTALS: Final = {
    scope: f"SELECT {key} AS key, {SUMS} FROM {source} "  # noqa: S608
           f"WHERE m.tenant_id = $1 AND {key} = any($2::uuid[]) AND m.day BETWEEN $3 AND $4 GROUP BY {key}"
    for scope, (source, key) in _DAILY_SOURCES.items()
}
DAY_SERIES: Final = {
    scope: f"SELECT {key} AS key, date_trunc($5, m.day::timestamp)::date AS bucket, {SUMS} "  # noqa: S608
           f"FROM {source} WHERE m.tenant_id = $1 AND {key} = any($2::uuid[]) AND m.day BETWEEN $3 AND $4 "
           f"GROUP BY {key}, bucket"
    for scope, (source, key) in _DAILY_SOURCES.items()
}
# Local hours start where the local minute is 0: for a UTC+05:30 tenant at :30 UTC, and a 25-hour DST day
# keeps its two 1 a.m. hours apart.
HOUR_SERIES: Final = {
    scope: f"SELECT {key} AS key, "  # noqa: S608
           "CASE WHEN $5 = 'quarter_hour' THEN m.bucket "
           "ELSE m.bucket - make_interval(mins => extract(minute FROM m.bucket AT TIME ZONE $6)::int) END AS bucket, "
           f"{SUMS} FROM {source} "
           f"WHERE m.tenant_id = $1 AND {key} = any($2::uuid[]) AND m.bucket >= $3 AND m.bucket < $4 "
           f"GROUP BY {key}, 2"
    for scope, (source, key) in _QUARTER_SOURCES.items()
}


@dataclass(frozen=True)
class TotalsKey:
    entity: UUID
    period: Period


@dataclass(frozen=True)
class SeriesKey:
    entity: UUID
    period: Period
    granularity: Granularity
    timezone: str


@dataclass(frozen=True)
class SeriesData:
    """Counters per bucket, the buckets as UTC instants (parallel lists, every bucket present)."""

    starts: list[datetime]
    counters: list[Counters]


class TotalsLoader(TenantLoader[TotalsKey, Counters]):
    def __init__(self, db: TenantSession, scope: Scope) -> None:
        super().__init__(db)
        self.scope = scope

    async def batch_load_fn(self, keys: Sequence[TotalsKey]) -> list[Counters]:
        by_period: dict[Period, set[UUID]] = defaultdict(set)
        for k in keys:
            by_period[k.period].add(k.entity)
        found: dict[TotalsKey, Counters] = {}
        for period, entities in by_period.items():
            rows = await self.db.fetch(TOTALS[self.scope], self.db.tenant_id, list(entities), period.start, period.end)
            found.update({TotalsKey(r["key"], period): Counters.from_row(r) for r in rows})
        return [found.get(k, Counters()) for k in keys]


class SeriesLoader(TenantLoader[SeriesKey, SeriesData]):
    def __init__(self, db: TenantSession, scope: Scope) -> None:
        super().__init__(db)
        self.scope = scope

    async def batch_load_fn(self, keys: Sequence[SeriesKey]) -> list[SeriesData]:
        groups: dict[tuple[Period, Granularity, str], set[UUID]] = defaultdict(set)
        for k in keys:
            groups[(k.period, k.granularity, k.timezone)].add(k.entity)
        found: dict[SeriesKey, dict[datetime, Counters]] = defaultdict(dict)
        for (period, granularity, timezone), entities in groups.items():
            if granularity in (Granularity.QUARTER_HOUR, Granularity.HOUR):
                rows = await self.db.fetch(
                    HOUR_SERIES[self.scope], self.db.tenant_id, list(entities), local_midnight(period.start, timezone),
                    local_midnight(period.end + timedelta(days=1), timezone), granularity.value, timezone)
                for r in rows:
                    found[SeriesKey(r["key"], period, granularity, timezone)][r["bucket"]] = Counters.from_row(r)
            else:
                rows = await self.db.fetch(DAY_SERIES[self.scope], self.db.tenant_id, list(entities), period.start,
                                           period.end, granularity.value)
                for r in rows:
                    start: date = r["bucket"]
                    found[SeriesKey(r["key"], period, granularity, timezone)][local_midnight(start, timezone)] = (
                        Counters.from_row(r))
        return [_dense(k, found.get(k, {})) for k in keys]


def _dense(key: SeriesKey, by_start: dict[datetime, Counters]) -> SeriesData:
    starts = bucket_starts(key.period, key.granularity, key.timezone)
    return SeriesData(starts=starts, counters=[by_start.get(s, Counters()) for s in starts])
