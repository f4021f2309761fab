"""Tenant rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from gateway.loaders._base import TenantLoader, in_key_order

TENANTS_BY_ID: Final = """
SELECT id, name, timezone, service_level_threshold_seconds, default_export_format, created_at
FROM tenants
WHERE id = any($1::uuid[])
"""


@dataclass(frozen=True)
class TenantRow:
    id: UUID
    name: str
    timezone: str
    service_level_threshold_seconds: int
    default_export_format: str
    created_at: datetime


class TenantByIdLoader(TenantLoader[UUID, TenantRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[TenantRow | None]:
        rows = await self.db.fetch(TENANTS_BY_ID, list(keys))
        return in_key_order(keys, (TenantRow(**dict(r)) for r in rows), lambda t: t.id)
