"""Leads: the root list, and the same list below an agent (its owner) or a campaign."""

from __future__ import annotations

from gateway.access import Access
from gateway.context import Context
from gateway.loaders import lead as lead_sql
from gateway.loaders._lateral import Below
from gateway.loaders.lead import LeadOrder, LeadRow
from gateway.resolvers._filters import instants, key_of, visible_agents
from gateway.resolvers._pages import ordered_rows
from gateway.schema.lead import Lead, LeadFilter
from gateway.schema.pagination import Connection, ordered_connection, page_size


async def where(context: Context, access: Access, flt: LeadFilter | None) -> lead_sql.LeadFilter:
    """The client's filter as SQL parameters, narrowed to the owners the role may read; FORBIDDEN for an owner
    outside them."""
    flt = flt or LeadFilter()
    start, end = await instants(context, flt.range)
    owner = key_of(flt.owner_id, "Agent")
    if owner is not None:
        access.require_agent(owner)
    return lead_sql.LeadFilter(
        created_from=start, created_before=end, campaign_id=key_of(flt.campaign_id, "Campaign"),
        owner_agent_id=owner, stage=flt.stage.value if flt.stage is not None else None,
        source=flt.source.value if flt.source is not None else None, visible=visible_agents(access),
    )


async def leads(context: Context, first: int | None, after: str | None, flt: LeadFilter | None,
                order: LeadOrder, below: Below[LeadOrder, LeadRow] | None = None) -> Connection[Lead]:
    """The leads the principal may read; with `below`, only that parent's (batched with its siblings)."""
    access = await context.access()
    limit = page_size(first)
    conditions = await where(context, access, flt)
    rows, count = await ordered_rows(context, conditions, order, lead_sql.ORDERS, after, limit, below,
                                     lead_sql.leads_page, lead_sql.leads_count)
    return ordered_connection(rows, limit, after, lambda r: Lead(row=r), order.value, count)
