"""Lists below a parent (a team's agents, an agent's calls, …): one statement per batch, whatever the parents.

The parents' ids are unnested and each is joined LATERAL to its own keyset page, so the per-parent LIMIT runs
through the index on the parent column for every parent in one statement:

    SELECT p.parent_id, page.*
    FROM unnest($n::uuid[]) WITH ORDINALITY AS p(parent_id, ord)
    CROSS JOIN LATERAL (SELECT … FROM calls WHERE <the root list's filters> AND agent_id = p.parent_id
                        AND <keyset> ORDER BY … LIMIT $m) AS page
    ORDER BY p.ord, page.sort_key, page.id

The filters are the root list's own SQL text and parameters, so a relation means what the root list with the
parent as filter means. Parents asking with other arguments (filter, order, cursor, size) are grouped: one
statement per group of a batch. Counts work the same way, one grouped count per group, and only run when a
client selects `totalCount`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader
from gateway.loaders._keyset import Order
from gateway.loaders._rows import rows_of

E = TypeVar("E", bound=Hashable)
R = TypeVar("R")
G = TypeVar("G")
K = TypeVar("K")

# Columns of a page record that belong to the statement, not to the row.
_BOOKKEEPING = frozenset({"parent_id", "sort_key"})


class RowFilter(Protocol):
    """A root list's filter (a frozen dataclass, so equal filters batch together) and its parameters from $2 on."""

    def params(self) -> tuple[object, ...]: ...


@dataclass(frozen=True)
class RelationSql(Generic[E]):
    """The statements of one relation: a page statement per order, and the grouped count."""

    pages: Mapping[E, str]
    count: str


def relation_sql(*, columns: str, source: str, filters: str, filter_params: int, parent: str,
                 orders: Mapping[E, Order]) -> RelationSql[E]:
    """Statements over `source` narrowed by `filters` ($2 … $(1 + filter_params), $1 the tenant) and the parent.

    Page parameters after the filters: the cursor's sort value and id, the per-parent limit, the parents' ids.
    Count parameters after the filters: the parents' ids. Every piece is a constant of the calling module.
    """
    after = filter_params + 2
    limit, parents = after + 2, after + 3
    pages: dict[E, str] = {}
    for key, order in orders.items():
        direction = "DESC" if order.descending else "ASC"
        template = (
            f"SELECT p.parent_id, page.* "  # noqa: S608 - constant pieces
            f"FROM unnest(${parents}::uuid[]) WITH ORDINALITY AS p(parent_id, ord) "
            f"CROSS JOIN LATERAL (SELECT {columns}, {{sort}} FROM {source} {filters} "
            f"AND {parent} = p.parent_id AND {{after}} ORDER BY {{order}} LIMIT ${limit}) AS page "
            f"ORDER BY p.ord, page.sort_key {direction}, page.id {direction}"
        )
        pages[key] = order.page_sql(template, after)
    count = (f"SELECT {parent} AS parent_id, count(*) AS n FROM {source} {filters} "  # noqa: S608 - constants
             f"AND {parent} = any(${filter_params + 2}::uuid[]) GROUP BY {parent}")
    return RelationSql(pages=pages, count=count)


@dataclass(frozen=True)
class PageArgs(Generic[E]):
    """What a parent asks of its list; parents asking alike are served by one statement."""

    where: RowFilter
    order: E
    # The cursor's (sort value, id), (None, None) for the first page, as _keyset.cursor_position gives it.
    after: tuple[object, UUID | None]
    # Rows to fetch per parent: the page size plus one, which only tells whether more follow.
    limit: int


@dataclass(frozen=True)
class PageKey(Generic[E]):
    parent: UUID
    args: PageArgs[E]


@dataclass(frozen=True)
class CountKey:
    parent: UUID
    where: RowFilter


def _grouped(keys: Sequence[K], group_of: Callable[[K], G], parent_of: Callable[[K], UUID]) -> dict[G, list[UUID]]:
    groups: dict[G, list[UUID]] = defaultdict(list)
    for key in keys:
        groups[group_of(key)].append(parent_of(key))
    return groups


class RelationPageLoader(TenantLoader[PageKey[E], list[tuple[R, object]]]):
    """Each parent's rows with their sort keys, in the list's order: one statement per group of the batch."""

    def __init__(self, db: TenantSession, sql: RelationSql[E], make: Callable[..., R]) -> None:
        super().__init__(db)
        self.sql = sql
        self.make = make

    async def batch_load_fn(self, keys: Sequence[PageKey[E]]) -> list[list[tuple[R, object]]]:
        found: dict[PageKey[E], list[tuple[R, object]]] = {}
        for args, parents in _grouped(keys, lambda k: k.args, lambda k: k.parent).items():
            value, after_id = args.after
            records = await self.db.fetch(self.sql.pages[args.order], self.db.tenant_id, *args.where.params(),
                                          value, after_id, args.limit, parents)
            by_parent: dict[UUID, list[tuple[R, object]]] = defaultdict(list)
            for r, row in zip(records, rows_of(self.make, records, _BOOKKEEPING), strict=True):
                by_parent[r["parent_id"]].append((row, r["sort_key"]))
            for parent in parents:
                found[PageKey(parent, args)] = by_parent.get(parent, [])
        return [found[k] for k in keys]


class RelationCountLoader(TenantLoader[CountKey, int]):
    """How many rows each parent's list holds: one grouped count per filter of the batch."""

    def __init__(self, db: TenantSession, sql: RelationSql[Any]) -> None:
        super().__init__(db)
        self.sql = sql

    async def batch_load_fn(self, keys: Sequence[CountKey]) -> list[int]:
        found: dict[CountKey, int] = {}
        for where, parents in _grouped(keys, lambda k: k.where, lambda k: k.parent).items():
            counts = {r["parent_id"]: r["n"] for r in await self.db.fetch(
                self.sql.count, self.db.tenant_id, *where.params(), parents)}
            for parent in parents:
                found[CountKey(parent, where)] = counts.get(parent, 0)
        return [found[k] for k in keys]


@dataclass(frozen=True)
class Related(Generic[E, R]):
    """One relation's loaders for an operation: its pages and its counts."""

    pages: RelationPageLoader[E, R]
    counts: RelationCountLoader

    @classmethod
    def of(cls, db: TenantSession, sql: RelationSql[E], make: Callable[..., R]) -> Related[E, R]:
        return cls(pages=RelationPageLoader(db, sql, make), counts=RelationCountLoader(db, sql))

    def below(self, parent: UUID) -> Below[E, R]:
        return Below(self, parent)


@dataclass(frozen=True)
class Below(Generic[E, R]):
    """A list below one parent: what a relation field asks of the relation's loaders."""

    related: Related[E, R]
    parent: UUID

    async def page(self, where: RowFilter, order: E, after: tuple[object, UUID | None],
                   limit: int) -> tuple[list[tuple[R, object]], Callable[[], Awaitable[int]]]:
        """Up to `limit` rows after the position, with their sort keys, and the list's lazy count."""
        rows = await self.related.pages.load(PageKey(self.parent, PageArgs(where, order, after, limit)))
        counts, key = self.related.counts, CountKey(self.parent, where)

        async def count() -> int:
            return await counts.load(key)

        return rows, count
