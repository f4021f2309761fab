"""Keyset pagination for lists with a choice of order: the order's expression and the row id decide position.

A page statement is built once per order at import time from constant pieces; the client only picks an
order by enum and passes a cursor, whose value is parsed to the order's type before it reaches SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar
from uuid import UUID

from gateway.cursors import decode_cursor
from gateway.db import TenantSession
from gateway.errors import BadUserInput
from gateway.loaders._rows import rows_of

E = TypeVar("E")
R = TypeVar("R")


MAX_MONEY = Decimal("1e12")
# The column a page statement adds to the row's own: the order's value, which cursors encode.
SORT_KEY_COLUMNS: Final = frozenset({"sort_key"})


@dataclass(frozen=True)
class Order:
    """A list order: an SQL expression (from constants only), its type and direction; the id breaks ties."""

    expr: str
    sql_type: str
    descending: bool
    parse: Callable[[str], object]

    def page_sql(self, template: str, after_param: int) -> str:
        """`template` with {sort}, {after} and {order} filled: the sort key, the keyset condition and ORDER BY."""
        op = "<" if self.descending else ">"
        direction = "DESC" if self.descending else "ASC"
        a, b = f"${after_param}::{self.sql_type}", f"${after_param + 1}::uuid"
        return template.format(
            sort=f"{self.expr} AS sort_key",
            after=f"({a} IS NULL OR ({self.expr}, id) {op} ({a}, {b}))",
            order=f"{self.expr} {direction}, id {direction}",
        )


def parse_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("naive timestamp")
    return value.astimezone(UTC)  # OverflowError at the ends of the calendar, before asyncpg meets it


def parse_decimal(text: str) -> Decimal:
    """A finite decimal that fits the money columns (numeric(14, 2))."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or abs(value) >= MAX_MONEY:
        raise ValueError(text)
    return value


def parse_int(text: str) -> int:
    """A value of an integer (int4) column."""
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise ValueError(text)
    return value


def page_statements(template: str, orders: Mapping[E, Order], after_param: int) -> dict[E, str]:
    return {key: order.page_sql(template, after_param) for key, order in orders.items()}


def cursor_position(after: str | None, order_name: str, order: Order) -> tuple[object, UUID | None]:
    """The (sort value, id) an `after` cursor points at, (None, None) for the first page."""
    if after is None:
        return None, None
    name, raw_value, raw_id = decode_cursor(after, 3)
    if name != order_name:
        raise BadUserInput("the cursor belongs to another order; start again without `after`", argument="after")
    try:
        return order.parse(str(raw_value)), UUID(str(raw_id))
    except (ValueError, OverflowError, ArithmeticError):
        raise BadUserInput("the cursor is malformed", argument="after") from None


def position_of(order_name: str, sort_key: object, row_id: UUID) -> list[object]:
    """What a row's cursor encodes: the order, the row's sort value and its id."""
    value = sort_key.isoformat() if isinstance(sort_key, datetime) else str(sort_key)
    return [order_name, value, str(row_id)]


async def keyset_page(db: TenantSession, statement: str, order_name: str, order: Order, params: tuple[object, ...],
                      after: str | None, limit: int, make: Callable[..., R]) -> list[tuple[R, object]]:
    """Up to `limit` rows after the cursor, each made with `make` and paired with its sort key."""
    value, after_id = cursor_position(after, order_name, order)
    records = await db.fetch(statement, db.tenant_id, *params, value, after_id, limit)
    return list(zip(rows_of(make, records, SORT_KEY_COLUMNS), (r["sort_key"] for r in records), strict=True))
