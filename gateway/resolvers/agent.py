"""Root fields about agents."""

from __future__ import annotations

from uuid import UUID

from gateway.auth import READERS
from gateway.context import Context
from gateway.errors import BadUserInput
from gateway.ids import decode_id
from gateway.loaders import agent as agent_sql
from gateway.schema.agent import Agent, AgentFilter
from gateway.schema.pagination import Connection, Edge, PageInfo, decode_cursor, encode_cursor, page_size


def _filter(flt: AgentFilter | None) -> agent_sql.AgentFilter:
    if flt is None:
        return agent_sql.AgentFilter()
    return agent_sql.AgentFilter(
        team_id=decode_id(flt.team_id, "Team")[1] if flt.team_id is not None else None,
        status=flt.status.value if flt.status is not None else None,
        kind=flt.kind.value if flt.kind is not None else None,
    )


async def agents(context: Context, first: int | None, after: str | None,
                 flt: AgentFilter | None) -> Connection[Agent]:
    context.require(*READERS)
    limit = page_size(first)
    where = _filter(flt)
    position: tuple[str, UUID] | None = None
    if after is not None:
        name, key = decode_cursor(after, 2)
        try:
            position = (str(name), UUID(str(key)))
        except ValueError:
            raise BadUserInput("the cursor is malformed", argument="after") from None
    rows = await agent_sql.agents_page(context.db, where, position, limit + 1)
    has_next = len(rows) > limit
    rows = rows[:limit]
    edges = [Edge(cursor=encode_cursor([r.name, str(r.id)]), node=Agent(row=r)) for r in rows]
    db = context.db

    async def count() -> int:
        return await agent_sql.agents_count(db, where)

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count_fn=count,
    )
