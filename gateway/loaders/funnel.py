"""Funnel rollups summed per stage over a period, for one campaign or the whole tenant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final
from uuid import UUID

import asyncpg

from gateway.loaders._base import TenantLoader
from gateway.periods import Period

# Upper bounds (seconds) of the time-in-stage histogram buckets, as funnel_histogram_bounds() in
# db/migrations/0005_rollups.sql (a test keeps the two equal); one more, open-ended bucket follows.
HISTOGRAM_BOUNDS: Final = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 129600, 172800, 259200,
                           345600, 432000, 604800, 864000, 1209600, 1814400, 2592000, 3888000, 5184000, 7776000)

STAGES: Final = ("new", "contacted", "qualified", "proposal", "won", "lost")

_COLUMNS: Final = """stage, sum(entered) AS entered, sum(advanced) AS advanced, sum(lost) AS lost,
       sum(exited) AS exited, sum(time_in_stage_seconds_sum)::bigint AS seconds,
       jsonb_agg(time_in_stage_histogram) AS histograms"""

FUNNEL_BY_CAMPAIGN: Final = f"""
SELECT campaign_id AS key, {_COLUMNS}
FROM conversion_funnels
WHERE tenant_id = $1 AND campaign_id = any($2::uuid[]) AND day BETWEEN $3 AND $4
GROUP BY campaign_id, stage
"""  # noqa: S608 - constant columns

FUNNEL_OF_TENANT: Final = f"""
SELECT NULL::uuid AS key, {_COLUMNS}
FROM conversion_funnels
WHERE tenant_id = $1 AND day BETWEEN $2 AND $3
GROUP BY stage
"""  # noqa: S608 - constant columns


@dataclass(frozen=True)
class StageCounts:
    """One stage's transitions over a period; the histogram has len(HISTOGRAM_BOUNDS) + 1 buckets."""

    stage: str
    entered: int = 0
    advanced: int = 0
    lost: int = 0
    exited: int = 0
    seconds_in_stage: int = 0
    histogram: tuple[int, ...] = field(default=(0,) * (len(HISTOGRAM_BOUNDS) + 1))


@dataclass(frozen=True)
class FunnelKey:
    """A campaign's funnel, or the whole tenant's when campaign is None."""

    campaign: UUID | None
    period: Period


def merge_histograms(histograms: Sequence[Sequence[int] | None]) -> tuple[int, ...]:
    """Element-wise sum; rows may hold empty arrays (no exits that day)."""
    total = [0] * (len(HISTOGRAM_BOUNDS) + 1)
    for h in histograms:
        for i, count in enumerate(h or ()):
            total[i] += count
    return tuple(total)


class FunnelLoader(TenantLoader[FunnelKey, list[StageCounts]]):
    async def batch_load_fn(self, keys: Sequence[FunnelKey]) -> list[list[StageCounts]]:
        by_period: dict[Period, set[UUID]] = defaultdict(set)
        for k in keys:
            if k.campaign is not None:
                by_period[k.period].add(k.campaign)
        found: dict[FunnelKey, dict[str, StageCounts]] = defaultdict(dict)
        for period, campaigns in by_period.items():
            rows = await self.db.fetch(FUNNEL_BY_CAMPAIGN, self.db.tenant_id, list(campaigns), period.start,
                                       period.end)
            for r in rows:
                found[FunnelKey(r["key"], period)][r["stage"]] = _counts(r)
        for period in {k.period for k in keys if k.campaign is None}:
            for r in await self.db.fetch(FUNNEL_OF_TENANT, self.db.tenant_id, period.start, period.end):
                found[FunnelKey(None, period)][r["stage"]] = _counts(r)
        return [[found[k].get(s, StageCounts(stage=s)) for s in STAGES] for k in keys]


def _counts(r: asyncpg.Record) -> StageCounts:
    return StageCounts(stage=r["stage"], entered=r["entered"], advanced=r["advanced"], lost=r["lost"],
                       exited=r["exited"], seconds_in_stage=r["seconds"], histogram=merge_histograms(r["histograms"]))
