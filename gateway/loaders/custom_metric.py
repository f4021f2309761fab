"""Custom metric definitions: by name (batched), the tenant's list, and their upsert and delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order

_COLUMNS: Final = "name, formula, description, higher_is_better, created_by, created_at, updated_at"

CUSTOM_METRICS_BY_NAME: Final = f"""
SELECT {_COLUMNS} FROM custom_metrics WHERE tenant_id = $1 AND name = any($2::text[])
"""  # noqa: S608 - constant columns

CUSTOM_METRICS: Final = f"""
SELECT {_COLUMNS} FROM custom_metrics WHERE tenant_id = $1 ORDER BY name
"""  # noqa: S608 - constant columns

UPSERT_CUSTOM_METRIC: Final = f"""
INSERT INTO custom_metrics (tenant_id, name, formula, description, higher_is_better, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tenant_id, name) DO UPDATE
SET formula = EXCLUDED.formula, description = EXCLUDED.description,
    higher_is_better = EXCLUDED.higher_is_better, created_by = EXCLUDED.created_by, updated_at = now()
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant columns

DELETE_CUSTOM_METRIC: Final = "DELETE FROM custom_metrics WHERE tenant_id = $1 AND name = $2"

MAX_CUSTOM_METRICS: Final = 200
LOCK_TENANT: Final = "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE"
COUNT_CUSTOM_METRICS: Final = "SELECT count(*) FROM custom_metrics WHERE tenant_id = $1 AND name <> $2"


@dataclass(frozen=True)
class CustomMetricRow:
    name: str
    formula: str
    description: str
    higher_is_better: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class CustomMetricByNameLoader(TenantLoader[str, CustomMetricRow | None]):
    async def batch_load_fn(self, keys: Sequence[str]) -> list[CustomMetricRow | None]:
        rows = await self.db.fetch(CUSTOM_METRICS_BY_NAME, self.db.tenant_id, list(keys))
        return in_key_order(keys, (CustomMetricRow(**dict(r)) for r in rows), lambda m: m.name)


async def custom_metrics(db: TenantSession) -> list[CustomMetricRow]:
    return [CustomMetricRow(**dict(r)) for r in await db.fetch(CUSTOM_METRICS, db.tenant_id)]


async def upsert(db: TenantSession, row: CustomMetricRow) -> CustomMetricRow:
    saved = await db.fetchrow(UPSERT_CUSTOM_METRIC, db.tenant_id, row.name, row.formula, row.description,
                              row.higher_is_better, row.created_by)
    assert saved is not None
    return CustomMetricRow(**dict(saved))


async def lock_tenant(db: TenantSession) -> None:
    await db.execute(LOCK_TENANT, db.tenant_id)


async def others_count(db: TenantSession, name: str) -> int:
    count: int = await db.fetchval(COUNT_CUSTOM_METRICS, db.tenant_id, name)
    return count


async def delete(db: TenantSession, name: str) -> bool:
    return await db.execute(DELETE_CUSTOM_METRIC, db.tenant_id, name) == "DELETE 1"
