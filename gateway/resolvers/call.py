"""Calls: the root list, and the same list below an agent, a campaign or a lead."""

from __future__ import annotations

from gateway.access import Access
from gateway.context import Context
from gateway.loaders import call as call_sql
from gateway.loaders._lateral import Below
from gateway.loaders.call import CallOrder, CallRow
from gateway.resolvers._filters import instants, key_of, visible_agents
from gateway.resolvers._pages import ordered_rows
from gateway.schema.call import Call, CallFilter
from gateway.schema.pagination import Connection, ordered_connection, page_size


async def where(context: Context, access: Access, flt: CallFilter | None) -> call_sql.CallFilter:
    """The client's filter as SQL parameters, narrowed to what the role may read; FORBIDDEN for an agent or a
    team outside it."""
    flt = flt or CallFilter()
    start, end = await instants(context, flt.range)
    agent_id, team_id = key_of(flt.agent_id, "Agent"), key_of(flt.team_id, "Team")
    if agent_id is not None:
        access.require_agent(agent_id)
    if team_id is not None:
        access.require_team(team_id)
    return call_sql.CallFilter(
        started_from=start, started_before=end, agent_id=agent_id, team_id=team_id,
        campaign_id=key_of(flt.campaign_id, "Campaign"), lead_id=key_of(flt.lead_id, "Lead"),
        direction=flt.direction.value if flt.direction is not None else None,
        outcome=flt.outcome.value if flt.outcome is not None else None,
        visible=visible_agents(access),
    )


async def calls(context: Context, first: int | None, after: str | None, flt: CallFilter | None,
                order: CallOrder, below: Below[CallOrder, CallRow] | None = None) -> Connection[Call]:
    """The calls the principal may read; with `below`, only that parent's (batched with its siblings)."""
    access = await context.access()
    limit = page_size(first)
    conditions = await where(context, access, flt)
    rows, count = await ordered_rows(context, conditions, order, call_sql.ORDERS, after, limit, below,
                                     call_sql.calls_page, call_sql.calls_count)
    return ordered_connection(rows, limit, after, lambda r: Call(row=r), order.value, count)
