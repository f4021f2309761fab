"""Root fields about teams."""

from __future__ import annotations

from gateway.context import Context
from gateway.loaders import team as team_sql
from gateway.schema.pagination import Connection, connection, name_position, page_size
from gateway.schema.team import Team


async def teams(context: Context, first: int | None, after: str | None) -> Connection[Team]:
    access = await context.access()
    limit = page_size(first)
    visible = access.team_ids
    db = context.db
    rows = await team_sql.teams_page(db, visible, name_position(after), limit + 1)

    async def count() -> int:
        return await team_sql.teams_count(db, visible)

    return connection(rows, limit, after, lambda r: Team(row=r), lambda r: [r.name, str(r.id)], count)
