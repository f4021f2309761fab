"""Tenant rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
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


KNOWN_TIMEZONE: Final = "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)"

# NULL keeps a setting as it is.
UPDATE_SETTINGS: Final = """
UPDATE tenants
SET timezone = coalesce($2, timezone),
    service_level_threshold_seconds = coalesce($3, service_level_threshold_seconds),
    default_export_format = coalesce($4, default_export_format),
    updated_at = now()
WHERE id = $1
RETURNING id, name, timezone, service_level_threshold_seconds, default_export_format, created_at
"""

# Daily rollups are keyed by local day and service-level counters by the threshold: both change with them.
REBUILD_ROLLUPS: Final = "SELECT rollup_rebuild($1)"


async def known_timezone(db: TenantSession, name: str) -> bool:
    known: bool = await db.fetchval(KNOWN_TIMEZONE, name)
    return known


async def update_settings(db: TenantSession, timezone: str | None, threshold: int | None,
                          export_format: str | None) -> TenantRow | None:
    row = await db.fetchrow(UPDATE_SETTINGS, db.tenant_id, timezone, threshold, export_format)
    return TenantRow(**dict(row)) if row is not None else None


async def rebuild_rollups(db: TenantSession) -> None:
    await db.execute(REBUILD_ROLLUPS, db.tenant_id)
