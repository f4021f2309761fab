"""Counts and unique users of the generic `track` events (page views, actions, conversions), read from the raw
events: they have no rollup, and the (tenant_id, name, occurred_at) index serves a range."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from gateway.db import TenantSession

_WHERE: Final = """
WHERE tenant_id = $1 AND event_type = 'track' AND occurred_at >= $2 AND occurred_at < $3
  AND ($4::text IS NULL OR category = $4)
  AND ($5::text[] IS NULL OR name = any($5))
"""

# One statement for every level: per (category, name), per category, and overall (unique users do not add up).
TRACK_TOTALS: Final = f"""
SELECT category, name, GROUPING(category, name) AS level, count(*) AS events,
       count(DISTINCT user_id) AS users
FROM analytics_events
{_WHERE}
GROUP BY GROUPING SETS ((category, name), (category), ())
"""  # noqa: S608 - constant pieces

# Per name and bucket: local days (then weeks from Monday, months) for $7 in day/week/month, else UTC quarter hours,
# moved back to the local hour's start for $7 = 'hour' (a 25-hour DST day keeps both 1 a.m. hours apart).
TRACK_SERIES: Final = f"""
WITH q AS (
    SELECT name, user_id, occurred_at AT TIME ZONE $6 AS local_at,
           date_bin('15 minutes', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS quarter
    FROM analytics_events
    {_WHERE}
)
SELECT name,
       CASE WHEN $7 IN ('day', 'week', 'month') THEN date_trunc($7, local_at::date::timestamp)::date END AS day,
       CASE WHEN $7 = 'quarter_hour' THEN quarter
            WHEN $7 = 'hour' THEN quarter - make_interval(mins => extract(minute FROM quarter AT TIME ZONE $6)::int)
       END AS instant,
       count(*) AS events, count(DISTINCT user_id) AS users
FROM q
GROUP BY 1, 2, 3
"""  # noqa: S608 - constant pieces


class Level(enum.IntEnum):
    """What a total covers, as PostgreSQL's GROUPING(category, name) bits say."""

    NAME = 0
    CATEGORY = 1
    OVERALL = 3


@dataclass(frozen=True)
class TrackTotal:
    """Events and unique users of one name, one category, or everything (`level` says which)."""

    level: Level
    category: str | None
    name: str | None
    events: int
    users: int


@dataclass(frozen=True)
class TrackBucket:
    name: str
    day: date | None
    instant: datetime | None
    events: int
    users: int


@dataclass(frozen=True)
class TrackFilter:
    start: datetime
    end: datetime
    category: str | None
    names: list[str] | None

    def params(self) -> tuple[object, ...]:
        return (self.start, self.end, self.category, self.names)


async def totals(db: TenantSession, flt: TrackFilter) -> list[TrackTotal]:
    rows = await db.fetch(TRACK_TOTALS, db.tenant_id, *flt.params())
    return [TrackTotal(level=Level(r["level"]), category=r["category"], name=r["name"], events=r["events"],
                       users=r["users"]) for r in rows]


async def series(db: TenantSession, flt: TrackFilter, timezone: str, granularity: str) -> list[TrackBucket]:
    rows = await db.fetch(TRACK_SERIES, db.tenant_id, *flt.params(), timezone, granularity)
    return [TrackBucket(**dict(r)) for r in rows]
