"""Team rows: by id (batched) and the keyset-paginated list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order
from gateway.loaders._rows import rows_of

TEAMS_BY_ID: Final = """
SELECT id, name
FROM teams
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""

# Keyset pagination by (name, id); $4 narrows to the teams the principal may read (NULL: all).
TEAMS_PAGE: Final = """
SELECT id, name
FROM teams
WHERE tenant_id = $1
  AND ($2::text IS NULL OR (name, id) > ($2, $3::uuid))
  AND ($4::uuid[] IS NULL OR id = any($4))
ORDER BY name, id
LIMIT $5
"""

TEAMS_COUNT: Final = """
SELECT count(*) FROM teams WHERE tenant_id = $1 AND ($2::uuid[] IS NULL OR id = any($2))
"""


@dataclass(frozen=True)
class TeamRow:
    id: UUID
    name: str


class TeamByIdLoader(TenantLoader[UUID, TeamRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[TeamRow | None]:
        rows = await self.db.fetch(TEAMS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, rows_of(TeamRow, rows), lambda t: t.id)


async def teams_page(db: TenantSession, visible: list[UUID] | None, after: tuple[str, UUID] | None,
                     limit: int) -> list[TeamRow]:
    after_name, after_id = after if after is not None else (None, None)
    rows = await db.fetch(TEAMS_PAGE, db.tenant_id, after_name, after_id, visible, limit)
    return [TeamRow(**dict(r)) for r in rows]


async def teams_count(db: TenantSession, visible: list[UUID] | None) -> int:
    count: int = await db.fetchval(TEAMS_COUNT, db.tenant_id, visible)
    return count
