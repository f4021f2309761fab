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
from functools import lru_cache
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader
from gateway.metric_sql import counter, expression
from gateway.metrics import COUNTERS, MONEY, Counters, Metric, Scope
from gateway.periods import Granularity, Period, bucket_starts, local_midnight

# PostgreSQL sums bigint columns as numeric, which asyncpg decodes into Decimal at a few µs a value (a 30-day
# series of 50 agents has over 10,000 of them): counts and seconds are cast back to bigint, which no sum of
# them comes near. Money stays numeric.
SUMS: Final = ", ".join(f"sum(m.{c}) AS {c}" if c in MONEY else f"sum(m.{c})::bigint AS {c}" for c in COUNTERS)

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

# Identifiers come from the constant maps above, never from a client. Every statement selects the counters
# first, in COUNTERS order: Counters.from_row takes them by position.
TOTALS: Final = {
    scope: f"SELECT {SUMS}, {key} AS key FROM {source} "  # noqa: S608
           f"WHERE m.tenant_id = $1 AND {key} = any($2::uuid[]) AND m.day BETWEEN $3 AND $4 GROUP BY {key}"
    for scope, (source, key) in _DAILY_SOURCES.items()
}
DAY_SERIES: Final = {
    scope: f"SELECT {SUMS}, {key} AS key, date_trunc($5, m.day::timestamp)::date AS bucket "  # noqa: S608
           f"FROM {source} WHERE m.tenant_id = $1 AND {key} = any($2::uuid[]) AND m.day BETWEEN $3 AND $4 "
           f"GROUP BY {key}, bucket"
    for scope, (source, key) in _DAILY_SOURCES.items()
}
# A daily series of a scope whose table holds one row per key and day reads those rows as they are: there is
# nothing to sum, and aggregating 27 counters was most of the statement (50 agents over 30 days: 10 of 12 ms).
DAILY_ROWS: Final = {
    scope: f"SELECT {', '.join(f'm.{c}' for c in COUNTERS)}, {key} AS key, m.day AS bucket "  # noqa: S608
           f"FROM {source} WHERE m.tenant_id = $1 AND {key} = any($2::uuid[]) AND m.day BETWEEN $3 AND $4"
    for scope, (source, key) in _DAILY_SOURCES.items() if scope is not Scope.TEAM
}
# Local hours start where the local minute is 0: for a UTC+05:30 tenant at :30 UTC, and a 25-hour DST day
# keeps its two 1 a.m. hours apart.
HOUR_SERIES: Final = {
    scope: f"SELECT {SUMS}, {key} AS key, "  # noqa: S608
           "CASE WHEN $5 = 'quarter_hour' THEN m.bucket "
           "ELSE m.bucket - make_interval(mins => extract(minute FROM m.bucket AT TIME ZONE $6)::int) END AS bucket "
           f"FROM {source} "
           f"WHERE m.tenant_id = $1 AND {key} = any($2::uuid[]) AND m.bucket >= $3 AND m.bucket < $4 "
           # By position: a bare `bucket` would mean the column m.bucket here, not the hour computed from it.
           f"GROUP BY {len(COUNTERS) + 1}, {len(COUNTERS) + 2}"
    for scope, (source, key) in _QUARTER_SOURCES.items()
}




def _series_values_sql(scope: Scope, statement: str, buckets: str, metrics: tuple[Metric, ...]) -> str:
    """Each entity's values of `metrics` per bucket as float8[] (one row per entity), from `statement`'s rows
    (counters, key, bucket), the buckets given in order as parameter `buckets` — every one present, a bucket
    without a row taking the metric's value over zero counters, as ZERO gives it in Python."""
    values = ", ".join(f"array_agg({expression(m, scope, counter('s'))} ORDER BY b.n) AS {m.value}" for m in metrics)
    return (f"SELECT e.key, {values} FROM unnest($2::uuid[]) AS e(key) "  # noqa: S608 - names from our enums
            f"CROSS JOIN unnest({buckets}) WITH ORDINALITY AS b(bucket, n) "
            f"LEFT JOIN ({statement}) s ON s.key = e.key AND s.bucket = b.bucket GROUP BY e.key")


@lru_cache(maxsize=512)
def series_values_sql(scope: Scope, granularity: Granularity, metrics: tuple[Metric, ...]) -> str:
    """The statement of SeriesValuesLoader for one scope, granularity and tuple of metrics (in that order)."""
    if granularity in (Granularity.QUARTER_HOUR, Granularity.HOUR):
        return _series_values_sql(scope, HOUR_SERIES[scope], "$7::timestamptz[]", metrics)
    if granularity is Granularity.DAY and scope in DAILY_ROWS:
        return _series_values_sql(scope, DAILY_ROWS[scope], "$5::date[]", metrics)
    return _series_values_sql(scope, DAY_SERIES[scope], "$6::date[]", metrics)


# Counters are immutable: every entity or bucket without activity shares this one.
ZERO: Final = Counters()


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
        return [found.get(k, ZERO) for k in keys]


class SeriesLoader(TenantLoader[SeriesKey, SeriesData]):
    def __init__(self, db: TenantSession, scope: Scope) -> None:
        super().__init__(db)
        self.scope = scope

    async def batch_load_fn(self, keys: Sequence[SeriesKey]) -> list[SeriesData]:
        groups: dict[tuple[Period, Granularity, str], set[UUID]] = defaultdict(set)
        for k in keys:
            groups[(k.period, k.granularity, k.timezone)].add(k.entity)
        # The buckets are the same for every entity of a group: computed once per group, not per entity or row.
        starts_of: dict[tuple[Period, Granularity, str], list[datetime]] = {}
        found: dict[SeriesKey, list[Counters]] = {}
        for group, entities in groups.items():
            period, granularity, timezone = group
            starts = starts_of[group] = bucket_starts(period, granularity, timezone)
            position: dict[date | datetime, int]
            if granularity in (Granularity.QUARTER_HOUR, Granularity.HOUR):
                rows = await self.db.fetch(
                    HOUR_SERIES[self.scope], self.db.tenant_id, list(entities), local_midnight(period.start, timezone),
                    local_midnight(period.end + timedelta(days=1), timezone), granularity.value, timezone)
                position = {s: i for i, s in enumerate(starts)}
            else:
                if granularity is Granularity.DAY and self.scope in DAILY_ROWS:
                    rows = await self.db.fetch(DAILY_ROWS[self.scope], self.db.tenant_id, list(entities),
                                               period.start, period.end)
                else:
                    rows = await self.db.fetch(DAY_SERIES[self.scope], self.db.tenant_id, list(entities),
                                               period.start, period.end, granularity.value)
                # Day-level rows carry the bucket's first local day; each bucket starts at that day's midnight.
                zone = ZoneInfo(timezone)
                position = {s.astimezone(zone).date(): i for i, s in enumerate(starts)}
            # Each entity's series, by entity: a SeriesKey (a frozen dataclass, hashed field by field) is made once
            # per entity, not once per row (1,500 rows for a dashboard's 50 agents).
            by_entity: dict[UUID, list[Counters]] = {}
            for r in rows:
                i = position.get(r["bucket"])
                if i is None:
                    continue
                dense = by_entity.get(r["key"])
                if dense is None:
                    dense = by_entity[r["key"]] = [ZERO] * len(starts)
                dense[i] = Counters.from_row(r)
            for entity, dense in by_entity.items():
                found[SeriesKey(entity, period, granularity, timezone)] = dense
        return [SeriesData(starts=list(starts_of[(k.period, k.granularity, k.timezone)]),
                           counters=found.get(k) or [ZERO] * len(starts_of[(k.period, k.granularity, k.timezone)]))
                for k in keys]


@dataclass(frozen=True)
class SeriesValuesKey:
    entity: UUID
    period: Period
    granularity: Granularity
    timezone: str
    # Built-in metrics, in Metric order.
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class MetricValues:
    """Built-in metrics' values per bucket, the buckets as UTC instants (every bucket present)."""

    starts: list[datetime]
    values: dict[Metric, list[float | None]]


class SeriesValuesLoader(TenantLoader[SeriesValuesKey, MetricValues]):
    """Metric values per bucket computed by the statement (gateway/metric_sql.py): one statement per distinct
    (period, granularity, timezone, metrics), whatever the number of entities."""

    def __init__(self, db: TenantSession, scope: Scope) -> None:
        super().__init__(db)
        self.scope = scope

    async def batch_load_fn(self, keys: Sequence[SeriesValuesKey]) -> list[MetricValues]:
        groups: dict[tuple[Period, Granularity, str, tuple[Metric, ...]], set[UUID]] = defaultdict(set)
        for k in keys:
            groups[(k.period, k.granularity, k.timezone, k.metrics)].add(k.entity)
        found: dict[tuple[UUID, Period, Granularity, str, tuple[Metric, ...]], MetricValues] = {}
        for group, entities in groups.items():
            period, granularity, timezone, metrics = group
            starts = bucket_starts(period, granularity, timezone)
            statement = series_values_sql(self.scope, granularity, metrics)
            if granularity in (Granularity.QUARTER_HOUR, Granularity.HOUR):
                rows = await self.db.fetch(
                    statement, self.db.tenant_id, list(entities), local_midnight(period.start, timezone),
                    local_midnight(period.end + timedelta(days=1), timezone), granularity.value, timezone, starts)
            else:
                # Day-level rows carry the bucket's first local day; each bucket starts at that day's midnight.
                zone = ZoneInfo(timezone)
                days = [s.astimezone(zone).date() for s in starts]
                if granularity is Granularity.DAY and self.scope in DAILY_ROWS:
                    rows = await self.db.fetch(statement, self.db.tenant_id, list(entities), period.start,
                                               period.end, days)
                else:
                    rows = await self.db.fetch(statement, self.db.tenant_id, list(entities), period.start,
                                               period.end, granularity.value, days)
            by_entity = {r["key"]: {m: r[m.value] for m in metrics} for r in rows}
            for entity in entities:
                # Every entity has its row, unless the period has no bucket at all (then nothing was joined).
                values = by_entity.get(entity)
                if values is None:
                    assert not starts, "the statement returns a row per entity"
                    values = {m: [] for m in metrics}
                found[(entity, *group)] = MetricValues(starts=list(starts), values=values)
        return [found[(k.entity, k.period, k.granularity, k.timezone, k.metrics)] for k in keys]
