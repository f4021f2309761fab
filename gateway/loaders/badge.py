"""Badges agents earned, per agent (batched)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from gateway.loaders._base import TenantLoader

BADGES_BY_AGENT: Final = """
SELECT ab.agent_id, ab.awarded_at, b.id, b.code, b.name, b.description, b.points
FROM agent_badges ab
JOIN badges b ON b.tenant_id = ab.tenant_id AND b.id = ab.badge_id
WHERE ab.tenant_id = $1 AND ab.agent_id = any($2::uuid[])
ORDER BY ab.agent_id, ab.awarded_at DESC, b.code
"""


@dataclass(frozen=True)
class BadgeRow:
    id: UUID
    code: str
    name: str
    description: str
    points: int


@dataclass(frozen=True)
class AwardRow:
    badge: BadgeRow
    awarded_at: datetime


class BadgesByAgentLoader(TenantLoader[UUID, list[AwardRow]]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[list[AwardRow]]:
        found: dict[UUID, list[AwardRow]] = defaultdict(list)
        for r in await self.db.fetch(BADGES_BY_AGENT, self.db.tenant_id, list(keys)):
            badge = BadgeRow(id=r["id"], code=r["code"], name=r["name"], description=r["description"],
                             points=r["points"])
            found[r["agent_id"]].append(AwardRow(badge=badge, awarded_at=r["awarded_at"]))
        return [found.get(k, []) for k in keys]
