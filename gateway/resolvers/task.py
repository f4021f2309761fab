"""Root fields about tasks."""

from __future__ import annotations

from gateway.context import Context
from gateway.loaders import task as task_sql
from gateway.loaders.task import TaskOrder
from gateway.resolvers._filters import instants, key_of
from gateway.schema.pagination import Connection, ordered_connection, page_size
from gateway.schema.task import Task, TaskFilter


async def tasks(context: Context, first: int | None, after: str | None, flt: TaskFilter | None,
                order: TaskOrder) -> Connection[Task]:
    access = await context.access()
    limit = page_size(first)
    flt = flt or TaskFilter()
    start, end = await instants(context, flt.range)
    assignee = key_of(flt.assignee_id, "Agent")
    if assignee is not None:
        access.require_agent(assignee)
    where = task_sql.TaskFilter(
        created_from=start, created_before=end, assignee_agent_id=assignee, lead_id=key_of(flt.lead_id, "Lead"),
        status=flt.status.value if flt.status is not None else None, visible=access.agent_ids,
    )
    db = context.db
    pairs = await task_sql.tasks_page(db, where, order, after, limit + 1)

    async def count() -> int:
        return await task_sql.tasks_count(db, where)

    return ordered_connection(pairs, limit, after, lambda r: Task(row=r), order.value, count)
