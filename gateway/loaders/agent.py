"""Agent rows: by id (batched) and the keyset-paginated list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order

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

AGENTS_COUNT: Final = """
SELECT count(*)
FROM agents
WHERE tenant_id = $1
  AND ($2::uuid IS NULL OR team_id = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::text IS NULL OR kind = $4)
  AND ($5::uuid[] IS NULL OR id = any($5))
"""


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
    # The agents the principal may read; None for all.
    visible: list[UUID] | None = None


class AgentByIdLoader(TenantLoader[UUID, AgentRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[AgentRow | None]:
        rows = await self.db.fetch(AGENTS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, (AgentRow(**dict(r)) for r in rows), lambda a: a.id)


async def agents_page(
    db: TenantSession, flt: AgentFilter, after: tuple[str, UUID] | None, limit: int
) -> list[AgentRow]:
    """Up to `limit` agents after the (name, id) position, ordered by name then id."""
    after_name, after_id = after if after is not None else (None, None)
    rows = await db.fetch(
        AGENTS_PAGE, db.tenant_id, flt.team_id, after_name, after_id, flt.status, flt.kind, limit, flt.visible
    )
    return [AgentRow(**dict(r)) for r in rows]


async def agents_count(db: TenantSession, flt: AgentFilter) -> int:
    count: int = await db.fetchval(AGENTS_COUNT, db.tenant_id, flt.team_id, flt.status, flt.kind,
                                       flt.visible)
    return count
