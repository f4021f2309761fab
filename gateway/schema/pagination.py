"""Relay connections with keyset cursors: edges, pageInfo and a lazily counted totalCount."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Final, Generic, TypeVar
from uuid import UUID

import strawberry

from gateway.errors import BadUserInput

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200


def encode_cursor(position: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[object]:
    """The keyset position a cursor encodes; BadUserInput when it was not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput("the cursor is malformed", argument="after") from None
    if not isinstance(position, list) or len(position) != length:
        raise BadUserInput("the cursor does not belong to this list", argument="after")
    return position


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 0 and {MAX_PAGE_SIZE}", argument="first")
    return first


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge of this page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge; pass it as `after`.")


@strawberry.type(description="An item of a list, with the cursor that points just after it.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item in the list.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, with keyset cursors.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    count_fn: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, with the same filters.")
    async def total_count(self) -> int:
        return await self.count_fn()


def name_position(after: str | None) -> tuple[str, UUID] | None:
    """The (name, id) keyset position of an `after` cursor, for lists ordered by name."""
    if after is None:
        return None
    name, key = decode_cursor(after, 2)
    try:
        return str(name), UUID(str(key))
    except ValueError:
        raise BadUserInput("the cursor is malformed", argument="after") from None


def connection(rows: list[R], limit: int, after: str | None, node: Callable[[R], T],
               position: Callable[[R], list[object]], count: Callable[[], Awaitable[int]]) -> Connection[T]:
    """A page from up to limit + 1 rows (the extra one only tells that more follow)."""
    edges = [Edge(cursor=encode_cursor(position(r)), node=node(r)) for r in rows[:limit]]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > limit,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count_fn=count,
    )
