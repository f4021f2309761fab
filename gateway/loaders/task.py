"""Task rows: by id (batched) and the filtered, ordered, keyset-paginated list."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order
from gateway.loaders._keyset import Order, keyset_page, page_statements, parse_timestamp
from gateway.loaders._lateral import relation_sql
from gateway.loaders._rows import rows_of

_COLUMNS: Final = "id, assignee_agent_id, lead_id, title, status, due_at, completed_at, created_at"

TASKS_BY_ID: Final = f"""
SELECT {_COLUMNS}
FROM tasks
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""  # noqa: S608 - constant columns

_FILTERS: Final = """
WHERE tenant_id = $1
  AND ($2::timestamptz IS NULL OR created_at >= $2)
  AND ($3::timestamptz IS NULL OR created_at < $3)
  AND ($4::uuid IS NULL OR assignee_agent_id = $4)
  AND ($5::uuid IS NULL OR lead_id = $5)
  AND ($6::text IS NULL OR status = $6)
  AND ($7::uuid[] IS NULL OR assignee_agent_id = any($7))
"""


class TaskOrder(enum.Enum):
    CREATED_AT_DESC = "created_at_desc"
    CREATED_AT_ASC = "created_at_asc"


ORDERS: Final = {
    TaskOrder.CREATED_AT_DESC: Order("created_at", "timestamptz", True, parse_timestamp),
    TaskOrder.CREATED_AT_ASC: Order("created_at", "timestamptz", False, parse_timestamp),
}
TASKS_PAGE: Final = page_statements(
    f"SELECT {_COLUMNS}, {{sort}} FROM tasks {_FILTERS} AND {{after}} ORDER BY {{order}} LIMIT $10",  # noqa: S608
    ORDERS, 8)
TASKS_COUNT: Final = f"SELECT count(*) FROM tasks {_FILTERS}"  # noqa: S608 - constant pieces

# The tasks assigned to an agent and those about a lead, for a page of parents at once (see _lateral.py).
# Indexes: tasks_tenant_assignee_created and tasks_tenant_lead_created (0011).
TASKS_BY_ASSIGNEE: Final = relation_sql(columns=_COLUMNS, source="tasks", filters=_FILTERS, filter_params=6,
                                        parent="assignee_agent_id", orders=ORDERS)
TASKS_BY_LEAD: Final = relation_sql(columns=_COLUMNS, source="tasks", filters=_FILTERS, filter_params=6,
                                    parent="lead_id", orders=ORDERS)


@dataclass(frozen=True)
class TaskRow:
    id: UUID
    assignee_agent_id: UUID | None
    lead_id: UUID | None
    title: str
    status: str
    due_at: datetime | None
    completed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class TaskFilter:
    created_from: datetime | None = None
    created_before: datetime | None = None
    assignee_agent_id: UUID | None = None
    lead_id: UUID | None = None
    status: str | None = None
    # Assignees the principal may read; None for all. A tuple: filters are keys of relation loaders.
    visible: tuple[UUID, ...] | None = None

    def params(self) -> tuple[object, ...]:
        return (self.created_from, self.created_before, self.assignee_agent_id, self.lead_id, self.status,
                self.visible)


class TaskByIdLoader(TenantLoader[UUID, TaskRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[TaskRow | None]:
        rows = await self.db.fetch(TASKS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, rows_of(TaskRow, rows), lambda t: t.id)


async def tasks_page(db: TenantSession, flt: TaskFilter, order: TaskOrder, after: str | None,
                     limit: int) -> list[tuple[TaskRow, object]]:
    """Up to `limit` tasks after the cursor, each with its sort key."""
    return await keyset_page(db, TASKS_PAGE[order], order.value, ORDERS[order], flt.params(), after, limit, TaskRow)


async def tasks_count(db: TenantSession, flt: TaskFilter) -> int:
    count: int = await db.fetchval(TASKS_COUNT, db.tenant_id, *flt.params())
    return count
