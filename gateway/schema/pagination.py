"""Relay connections with keyset cursors: edges, pageInfo and a lazily counted totalCount."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, Generic, Protocol, TypeVar
from uuid import UUID

import strawberry

from gateway.cursors import decode_cursor, encode_cursor
from gateway.errors import BadUserInput
from gateway.loaders._keyset import position_of

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200


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
    node: T = strawberry.field(description="The item.")
    # The position is made and encoded only when a cursor is asked for: most pages are read without them.
    source: strawberry.Private[Any]
    position_of: strawberry.Private[Callable[[Any], list[object]]]

    @strawberry.field(description="Opaque position of this item in the list.")
    def cursor(self) -> str:
        return encode_cursor(self.position_of(self.source))


def _edge(node: Any, source: Any, position: Callable[[Any], list[object]]) -> Edge[Any]:
    """Edge(node=…, source=…, position_of=…), made as its generated __init__ would (it only stores its three
    fields) without the keyword call: a page makes up to 200."""
    edge: Edge[Any] = object.__new__(Edge)
    edge.__dict__.update(node=node, source=source, position_of=position)
    return edge


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
        if not isinstance(name, str) or "\x00" in name:
            raise ValueError("not a stored name")
        return name, UUID(str(key))
    except ValueError:
        raise BadUserInput("the cursor is malformed", argument="after") from None


def connection(rows: list[R], limit: int, after: str | None, node: Callable[[R], T],
               position: Callable[[R], list[object]], count: Callable[[], Awaitable[int]]) -> Connection[T]:
    """A page from up to limit + 1 rows (the extra one only tells that more follow)."""
    edges = [_edge(node(r), r, position) for r in rows[:limit]]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > limit,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor() if edges else None,
            end_cursor=edges[-1].cursor() if edges else None,
        ),
        count_fn=count,
    )


class _HasId(Protocol):
    @property
    def id(self) -> UUID: ...


H = TypeVar("H", bound=_HasId)


def ordered_connection(pairs: list[tuple[H, object]], limit: int, after: str | None, node: Callable[[H], T],
                       order_name: str, count: Callable[[], Awaitable[int]]) -> Connection[T]:
    """A page of (row, sort key) pairs from a list with a choice of order (see loaders._keyset)."""
    return connection(pairs, limit, after, lambda p: node(p[0]), lambda p: position_of(order_name, p[1], p[0].id),
                      count)
