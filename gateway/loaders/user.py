"""User rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from gateway.loaders._base import TenantLoader, in_key_order

USERS_BY_ID: Final = """
SELECT id, email, display_name, role, agent_id
FROM users
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""


@dataclass(frozen=True)
class UserRow:
    id: UUID
    email: str
    display_name: str
    role: str
    agent_id: UUID | None


class UserByIdLoader(TenantLoader[UUID, UserRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[UserRow | None]:
        rows = await self.db.fetch(USERS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, (UserRow(**dict(r)) for r in rows), lambda u: u.id)
