"""Root fields about agents."""

from __future__ import annotations

from gateway.access import Access
from gateway.context import Context
from gateway.ids import decode_id
from gateway.loaders import agent as agent_sql
from gateway.schema.agent import Agent, AgentFilter
from gateway.schema.pagination import Connection, connection, name_position, page_size


def _filter(flt: AgentFilter | None, access: Access) -> agent_sql.AgentFilter:
    if flt is None:
        return agent_sql.AgentFilter(visible=access.agent_ids)
    team_id = decode_id(flt.team_id, "Team")[1] if flt.team_id is not None else None
    if team_id is not None:
        access.require_team(team_id)
    return agent_sql.AgentFilter(
        team_id=team_id,
        status=flt.status.value if flt.status is not None else None,
        kind=flt.kind.value if flt.kind is not None else None,
        visible=access.agent_ids,
    )


async def agents(context: Context, first: int | None, after: str | None,
                 flt: AgentFilter | None) -> Connection[Agent]:
    limit = page_size(first)
    where = _filter(flt, await context.access())
    rows = await agent_sql.agents_page(context.db, where, name_position(after), limit + 1)
    db = context.db

    async def count() -> int:
        return await agent_sql.agents_count(db, where)

    return connection(rows, limit, after, lambda r: Agent(row=r), lambda r: [r.name, str(r.id)], count)
