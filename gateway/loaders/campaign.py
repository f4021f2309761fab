"""Campaign rows: by id (batched) and the keyset-paginated list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order
from gateway.loaders._rows import rows_of

CAMPAIGNS_BY_ID: Final = """
SELECT id, name, channel, status, budget, starts_on, ends_on
FROM campaigns
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""

# Keyset pagination by (name, id); NULL filters match everything, so one prepared statement serves all.
CAMPAIGNS_PAGE: Final = """
SELECT id, name, channel, status, budget, starts_on, ends_on
FROM campaigns
WHERE tenant_id = $1
  AND ($2::text IS NULL OR (name, id) > ($2, $3::uuid))
  AND ($4::text IS NULL OR status = $4)
ORDER BY name, id
LIMIT $5
"""

CAMPAIGNS_COUNT: Final = """
SELECT count(*) FROM campaigns WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
"""


@dataclass(frozen=True)
class CampaignRow:
    id: UUID
    name: str
    channel: str
    status: str
    budget: Decimal | None
    starts_on: date | None
    ends_on: date | None


class CampaignByIdLoader(TenantLoader[UUID, CampaignRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[CampaignRow | None]:
        rows = await self.db.fetch(CAMPAIGNS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, rows_of(CampaignRow, rows), lambda c: c.id)


async def campaigns_page(db: TenantSession, status: str | None, after: tuple[str, UUID] | None,
                         limit: int) -> list[CampaignRow]:
    after_name, after_id = after if after is not None else (None, None)
    rows = await db.fetch(CAMPAIGNS_PAGE, db.tenant_id, after_name, after_id, status, limit)
    return [CampaignRow(**dict(r)) for r in rows]


async def campaigns_count(db: TenantSession, status: str | None) -> int:
    count: int = await db.fetchval(CAMPAIGNS_COUNT, db.tenant_id, status)
    return count


# The campaigns an agent placed or took calls for, from the 15-minute rollups (no scan of raw calls). A tenant
# runs far fewer campaigns in a range than its agents have 15-minute rows, so each pair of an agent of the page
# and a campaign active in the range is probed (metrics_15m_agent_campaign) for its first row with calls. The
# LATERAL ... LIMIT 1 keeps the probes: as an EXISTS the planner may turn it into a scan of every row in range.
CAMPAIGNS_OF_AGENTS: Final = """
WITH active AS MATERIALIZED (
    SELECT c.id FROM campaigns c
    WHERE c.tenant_id = $1 AND EXISTS (
        SELECT FROM metrics_15m m
        WHERE m.tenant_id = $1 AND m.campaign_id = c.id AND m.bucket >= $3 AND m.bucket < $4 AND m.calls_total > 0
    )
)
SELECT a.agent_id, c.id AS campaign_id
FROM unnest($2::uuid[]) AS a (agent_id)
CROSS JOIN active c
CROSS JOIN LATERAL (
    SELECT 1 FROM metrics_15m m
    WHERE m.tenant_id = $1 AND m.agent_id = a.agent_id AND m.campaign_id = c.id
      AND m.bucket >= $3 AND m.bucket < $4 AND m.calls_total > 0
    LIMIT 1
) AS hit
"""


@dataclass(frozen=True)
class AgentCampaignsKey:
    agent: UUID
    start: datetime
    end: datetime


class CampaignIdsByAgentLoader(TenantLoader[AgentCampaignsKey, list[UUID]]):
    async def batch_load_fn(self, keys: Sequence[AgentCampaignsKey]) -> list[list[UUID]]:
        by_span: dict[tuple[datetime, datetime], set[UUID]] = defaultdict(set)
        for k in keys:
            by_span[(k.start, k.end)].add(k.agent)
        found: dict[AgentCampaignsKey, list[UUID]] = defaultdict(list)
        for (start, end), agents in by_span.items():
            for r in await self.db.fetch(CAMPAIGNS_OF_AGENTS, self.db.tenant_id, list(agents), start, end):
                found[AgentCampaignsKey(r["agent_id"], start, end)].append(r["campaign_id"])
        return [found.get(k, []) for k in keys]
