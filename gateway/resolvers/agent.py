"""Agents: the root list, and the same list below a team."""

from __future__ import annotations

from gateway.access import Access
from gateway.context import Context
from gateway.ids import decode_id
from gateway.loaders import agent as agent_sql
from gateway.loaders._lateral import Below
from gateway.loaders.agent import AgentRow
from gateway.resolvers._filters import visible_agents
from gateway.schema.agent import Agent, AgentFilter
from gateway.schema.pagination import Connection, connection, name_position, page_size


def _filter(flt: AgentFilter | None, access: Access) -> agent_sql.AgentFilter:
    if flt is None:
        return agent_sql.AgentFilter(visible=visible_agents(access))
    team_id = decode_id(flt.team_id, "Team")[1] if flt.team_id is not None else None
    if team_id is not None:
        access.require_team(team_id)
    return agent_sql.AgentFilter(
        team_id=team_id,
        status=flt.status.value if flt.status is not None else None,
        kind=flt.kind.value if flt.kind is not None else None,
        visible=visible_agents(access),
    )


async def agents(context: Context, first: int | None, after: str | None, flt: AgentFilter | None,
                 below: Below[str, AgentRow] | None = None) -> Connection[Agent]:
    """The agents the principal may read, by name; with `below`, only that team's (batched with its siblings)."""
    limit = page_size(first)
    where = _filter(flt, await context.access())
    position = name_position(after)
    if below is not None:
        pairs, count = await below.page(where, agent_sql.BY_NAME, position or (None, None), limit + 1)
        rows = [row for row, _ in pairs]
    else:
        db = context.db
        rows = await agent_sql.agents_page(db, where, position, limit + 1)

        async def count() -> int:
            return await agent_sql.agents_count(db, where)

    return connection(rows, limit, after, lambda r: Agent(row=r), lambda r: [r.name, str(r.id)], count)
