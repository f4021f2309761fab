"""Team rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from gateway.loaders._base import TenantLoader, in_key_order

TEAMS_BY_ID: Final = """
SELECT id, name
FROM teams
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""


@dataclass(frozen=True)
class TeamRow:
    id: UUID
    name: str


class TeamByIdLoader(TenantLoader[UUID, TeamRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[TeamRow | None]:
        rows = await self.db.fetch(TEAMS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, (TeamRow(**dict(r)) for r in rows), lambda t: t.id)
