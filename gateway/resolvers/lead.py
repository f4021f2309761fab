"""Root fields about leads."""

from __future__ import annotations

from gateway.context import Context
from gateway.loaders import lead as lead_sql
from gateway.loaders.lead import LeadOrder
from gateway.resolvers._filters import instants, key_of
from gateway.schema.lead import Lead, LeadFilter
from gateway.schema.pagination import Connection, ordered_connection, page_size


async def leads(context: Context, first: int | None, after: str | None, flt: LeadFilter | None,
                order: LeadOrder) -> Connection[Lead]:
    access = await context.access()
    limit = page_size(first)
    flt = flt or LeadFilter()
    start, end = await instants(context, flt.range)
    owner = key_of(flt.owner_id, "Agent")
    if owner is not None:
        access.require_agent(owner)
    where = lead_sql.LeadFilter(
        created_from=start, created_before=end, campaign_id=key_of(flt.campaign_id, "Campaign"),
        owner_agent_id=owner, stage=flt.stage.value if flt.stage is not None else None,
        source=flt.source.value if flt.source is not None else None, visible=access.agent_ids,
    )
    db = context.db
    pairs = await lead_sql.leads_page(db, where, order, after, limit + 1)

    async def count() -> int:
        return await lead_sql.leads_count(db, where)

    return ordered_connection(pairs, limit, after, lambda r: Lead(row=r), order.value, count)
