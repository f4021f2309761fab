"""Daily reports: the tenant's rollup per local day, with the per-team breakdown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders.metrics import SUMS
from gateway.metrics import Counters
from gateway.periods import Period

DAILY_REPORTS: Final = f"""
SELECT {SUMS}, m.day
FROM daily_reports m
WHERE m.tenant_id = $1 AND m.day BETWEEN $2 AND $3
GROUP BY m.day
"""  # noqa: S608 - constant columns

# A team's day is its current agents' days; $4 narrows to the teams the principal may read (NULL: all).
TEAM_DAYS: Final = f"""
SELECT {SUMS}, a.team_id, m.day
FROM agent_metrics m
JOIN agents a ON a.tenant_id = m.tenant_id AND a.id = m.agent_id
WHERE m.tenant_id = $1 AND m.day BETWEEN $2 AND $3 AND a.team_id IS NOT NULL
  AND ($4::uuid[] IS NULL OR a.team_id = any($4))
GROUP BY a.team_id, m.day
ORDER BY a.team_id
"""  # noqa: S608 - constant columns


@dataclass(frozen=True)
class DayReport:
    day: date
    counters: Counters
    teams: list[tuple[UUID, Counters]]


async def daily_reports(db: TenantSession, period: Period, teams: list[UUID] | None) -> list[DayReport]:
    """Every day of the period in order, zero counters where nothing happened; teams only where they had data."""
    tenant_days = {r["day"]: Counters.from_row(r)
                   for r in await db.fetch(DAILY_REPORTS, db.tenant_id, period.start, period.end)}
    team_days: dict[date, list[tuple[UUID, Counters]]] = {}
    for r in await db.fetch(TEAM_DAYS, db.tenant_id, period.start, period.end, teams):
        team_days.setdefault(r["day"], []).append((r["team_id"], Counters.from_row(r)))
    days = (period.start + timedelta(days=i) for i in range(period.days))
    return [DayReport(day=d, counters=tenant_days.get(d, Counters()), teams=team_days.get(d, [])) for d in days]
