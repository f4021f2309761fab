"""Root fields about campaigns."""

from __future__ import annotations

from uuid import UUID

from gateway.auth import READERS
from gateway.context import Context
from gateway.loaders import campaign as campaign_sql
from gateway.loaders.campaign import AgentCampaignsKey
from gateway.periods import instants_of
from gateway.resolvers.metrics import period_of
from gateway.schema.campaign import Campaign, CampaignStatus
from gateway.schema.metrics import DateRange
from gateway.schema.pagination import Connection, connection, name_position, page_size


async def campaigns(context: Context, first: int | None, after: str | None,
                    status: CampaignStatus | None) -> Connection[Campaign]:
    context.require(*READERS)
    limit = page_size(first)
    wanted = status.value if status is not None else None
    rows = await campaign_sql.campaigns_page(context.db, wanted, name_position(after), limit + 1)
    db = context.db

    async def count() -> int:
        return await campaign_sql.campaigns_count(db, wanted)

    return connection(rows, limit, after, lambda r: Campaign(row=r), lambda r: [r.name, str(r.id)], count)


async def campaigns_of_agent(context: Context, agent_id: UUID, rng: DateRange) -> list[Campaign]:
    """The campaigns an agent had calls for in the range, by name."""
    (await context.access()).require_agent(agent_id)
    period, timezone = await period_of(context, rng)
    start, end = instants_of(period, timezone)
    ids = await context.loaders.campaign_ids_by_agent.load(AgentCampaignsKey(agent_id, start, end))
    rows = [r for r in await context.loaders.campaign_by_id.load_many(ids) if r is not None]
    return [Campaign(row=r) for r in sorted(rows, key=lambda r: (r.name, r.id))]
