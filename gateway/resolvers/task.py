"""Tasks: the root list, and the same list below an agent (its assignee) or a lead."""

from __future__ import annotations

from gateway.access import Access
from gateway.context import Context
from gateway.loaders import task as task_sql
from gateway.loaders._lateral import Below
from gateway.loaders.task import TaskOrder, TaskRow
from gateway.resolvers._filters import instants, key_of, visible_agents
from gateway.resolvers._pages import ordered_rows
from gateway.schema.pagination import Connection, ordered_connection, page_size
from gateway.schema.task import Task, TaskFilter


async def where(context: Context, access: Access, flt: TaskFilter | None) -> task_sql.TaskFilter:
    """The client's filter as SQL parameters, narrowed to the assignees the role may read; FORBIDDEN for an
    assignee outside them."""
    flt = flt or TaskFilter()
    start, end = await instants(context, flt.range)
    assignee = key_of(flt.assignee_id, "Agent")
    if assignee is not None:
        access.require_agent(assignee)
    return task_sql.TaskFilter(
        created_from=start, created_before=end, assignee_agent_id=assignee, lead_id=key_of(flt.lead_id, "Lead"),
        status=flt.status.value if flt.status is not None else None, visible=visible_agents(access),
    )


async def tasks(context: Context, first: int | None, after: str | None, flt: TaskFilter | None,
                order: TaskOrder, below: Below[TaskOrder, TaskRow] | None = None) -> Connection[Task]:
    """The tasks the principal may read; with `below`, only that parent's (batched with its siblings)."""
    access = await context.access()
    limit = page_size(first)
    conditions = await where(context, access, flt)
    rows, count = await ordered_rows(context, conditions, order, task_sql.ORDERS, after, limit, below,
                                     task_sql.tasks_page, task_sql.tasks_count)
    return ordered_connection(rows, limit, after, lambda r: Task(row=r), order.value, count)
