"""Root fields about calls."""

from __future__ import annotations

from gateway.context import Context
from gateway.loaders import call as call_sql
from gateway.loaders.call import CallOrder
from gateway.resolvers._filters import instants, key_of
from gateway.schema.call import Call, CallFilter
from gateway.schema.pagination import Connection, ordered_connection, page_size


async def calls(context: Context, first: int | None, after: str | None, flt: CallFilter | None,
                order: CallOrder) -> Connection[Call]:
    access = await context.access()
    limit = page_size(first)
    flt = flt or CallFilter()
    start, end = await instants(context, flt.range)
    agent_id, team_id = key_of(flt.agent_id, "Agent"), key_of(flt.team_id, "Team")
    if agent_id is not None:
        access.require_agent(agent_id)
    if team_id is not None:
        access.require_team(team_id)
    where = call_sql.CallFilter(
        started_from=start, started_before=end, agent_id=agent_id, team_id=team_id,
        campaign_id=key_of(flt.campaign_id, "Campaign"), lead_id=key_of(flt.lead_id, "Lead"),
        direction=flt.direction.value if flt.direction is not None else None,
        outcome=flt.outcome.value if flt.outcome is not None else None,
        visible=access.agent_ids,
    )
    db = context.db
    pairs = await call_sql.calls_page(db, where, order, after, limit + 1)

    async def count() -> int:
        return await call_sql.calls_count(db, where)

    return ordered_connection(pairs, limit, after, lambda r: Call(row=r), order.value, count)
