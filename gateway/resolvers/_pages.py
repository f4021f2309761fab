"""A page of a list with a choice of order: the root list's own statement, or below a parent the relation's
batched loaders (loaders/_lateral.py). Either way the same filter, cursor and connection."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from gateway.context import Context
from gateway.db import TenantSession
from gateway.loaders._keyset import Order, cursor_position
from gateway.loaders._lateral import Below, RowFilter

F = TypeVar("F", bound=RowFilter)
E = TypeVar("E", bound=enum.Enum)
R = TypeVar("R")

Rows = list[tuple[R, object]]
Count = Callable[[], Awaitable[int]]


async def ordered_rows(context: Context, conditions: F, order: E, orders: Mapping[E, Order], after: str | None,
                       limit: int, below: Below[E, R] | None,
                       root_page: Callable[[TenantSession, F, E, str | None, int], Awaitable[Rows[R]]],
                       root_count: Callable[[TenantSession, F], Awaitable[int]]) -> tuple[Rows[R], Count]:
    """Up to `limit` + 1 (row, sort key) pairs after the cursor, and the list's count, run only when asked for."""
    if below is not None:
        position = cursor_position(after, order.value, orders[order])
        return await below.page(conditions, order, position, limit + 1)
    db = context.db
    rows = await root_page(db, conditions, order, after, limit + 1)

    async def count() -> int:
        return await root_count(db, conditions)

    return rows, count
