"""Agent rows: by id (batched) and the keyset-paginated list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order
from gateway.loaders._keyset import Order
from gateway.loaders._lateral import relation_sql
from gateway.loaders._rows import rows_of

_COLUMNS: Final = "id, team_id, name, email, kind, status, hired_on"

AGENTS_BY_ID: Final = """
SELECT id, team_id, name, email, kind, status, hired_on
FROM agents
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""

# Keyset pagination by (name, id): $3/$4 are the cursor's position, NULL for the first page. The optional
# filters are NULL when not given, so one prepared statement serves every combination.
AGENTS_PAGE: Final = """
SELECT id, team_id, name, email, kind, status, hired_on
FROM agents
WHERE tenant_id = $1
  AND ($2::uuid IS NULL OR team_id = $2)
  AND ($3::text IS NULL OR (name, id) > ($3, $4::uuid))
  AND ($5::text IS NULL OR status = $5)
  AND ($6::text IS NULL OR kind = $6)
  AND ($8::uuid[] IS NULL OR id = any($8))
ORDER BY name, id
LIMIT $7
"""

_FILTERS: Final = """
WHERE tenant_id = $1
  AND ($2::uuid IS NULL OR team_id = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::text IS NULL OR kind = $4)
  AND ($5::uuid[] IS NULL OR id = any($5))
"""
AGENTS_COUNT: Final = f"SELECT count(*) FROM agents {_FILTERS}"  # noqa: S608 - constant pieces

# A list of agents has one order, by name (the id breaks ties); the key of that order in relation statements.
BY_NAME: Final = "name"

# A team's agents, for a page of teams at once (see _lateral.py), through agents_tenant_team.
AGENTS_BY_TEAM: Final = relation_sql(columns=_COLUMNS, source="agents", filters=_FILTERS, filter_params=4,
                                     parent="team_id", orders={BY_NAME: Order("name", "text", False, str)})


@dataclass(frozen=True)
class AgentRow:
    id: UUID
    team_id: UUID | None
    name: str
    email: str | None
    kind: str
    status: str
    hired_on: date | None


@dataclass(frozen=True)
class AgentFilter:
    team_id: UUID | None = None
    status: str | None = None
    kind: str | None = None
    # The agents the principal may read; None for all. A tuple: filters are keys of relation loaders.
    visible: tuple[UUID, ...] | None = None

    def params(self) -> tuple[object, ...]:
        """The parameters of _FILTERS, from $2 on."""
        return self.team_id, self.status, self.kind, self.visible


class AgentByIdLoader(TenantLoader[UUID, AgentRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[AgentRow | None]:
        rows = await self.db.fetch(AGENTS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, rows_of(AgentRow, rows), lambda a: a.id)


async def agents_page(
    db: TenantSession, flt: AgentFilter, after: tuple[str, UUID] | None, limit: int
) -> list[AgentRow]:
    """Up to `limit` agents after the (name, id) position, ordered by name then id."""
    after_name, after_id = after if after is not None else (None, None)
    rows = await db.fetch(
        AGENTS_PAGE, db.tenant_id, flt.team_id, after_name, after_id, flt.status, flt.kind, limit, flt.visible
    )
    return rows_of(AgentRow, rows)


async def agents_count(db: TenantSession, flt: AgentFilter) -> int:
    count: int = await db.fetchval(AGENTS_COUNT, db.tenant_id, *flt.params())
    return count
