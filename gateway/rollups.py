"""Rebuilding rollups from raw data, and checking the stored ones against a rebuild (maintenance path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final
from uuid import UUID

from gateway.db import Conn

# Natural keys of the rollup tables; columns neither compared nor kept: surrogate ids and timestamps.
ROLLUP_KEYS: Final = {
    "daily_reports": ("day",),
    "agent_metrics": ("agent_id", "day"),
    "campaign_metrics": ("campaign_id", "day"),
    "metrics_15m": ("bucket", "agent_id", "campaign_id"),
    "conversion_funnels": ("campaign_id", "stage", "day"),
}
IGNORED: Final = frozenset({"tenant_id", "id", "updated_at"})

TENANT_IDS: Final = "SELECT id FROM tenants WHERE $1::uuid IS NULL OR id = $1 ORDER BY id"
TENANT_TIMEZONE: Final = "SELECT timezone FROM tenants WHERE id = $1"
REBUILD: Final = "SELECT rollup_rebuild($1, $2, $3)"
# Rebuilds of one tenant queue behind each other and behind its writers in flight (which hold the shared form
# of this lock from the rollup triggers); ingestion may go on meanwhile.
LOCK_TENANT: Final = "SELECT pg_advisory_xact_lock(rollup_lock_key($1))"
ROWS: Final = {
    "daily_reports": "SELECT * FROM daily_reports WHERE tenant_id = $1 AND day BETWEEN $2 AND $3",
    "agent_metrics": "SELECT * FROM agent_metrics WHERE tenant_id = $1 AND day BETWEEN $2 AND $3",
    "campaign_metrics": "SELECT * FROM campaign_metrics WHERE tenant_id = $1 AND day BETWEEN $2 AND $3",
    "conversion_funnels": "SELECT * FROM conversion_funnels WHERE tenant_id = $1 AND day BETWEEN $2 AND $3",
    "metrics_15m": "SELECT * FROM metrics_15m WHERE tenant_id = $1 "
                   "AND (bucket AT TIME ZONE $4)::date BETWEEN $2 AND $3",
}


@dataclass(frozen=True)
class Difference:
    """One counter whose stored value is not what a rebuild from raw data gives."""

    tenant_id: UUID
    table: str
    key: tuple[Any, ...]
    column: str
    stored: Any
    rebuilt: Any

    def __str__(self) -> str:
        key = ", ".join(map(str, self.key))
        return f"{self.tenant_id} {self.table}[{key}].{self.column}: stored {self.stored}, rebuilt {self.rebuilt}"


def _bounds(from_day: date | None, to_day: date | None) -> tuple[date, date]:
    return from_day or date.min, to_day or date.max


async def tenants(conn: Conn, tenant: UUID | None) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(TENANT_IDS, tenant)]


async def rebuild(conn: Conn, tenant: UUID, from_day: date | None = None, to_day: date | None = None) -> None:
    """Recomputes one tenant's rollups for local days [from_day, to_day] (all when None) in one transaction."""
    async with conn.transaction():
        await conn.execute(LOCK_TENANT, tenant)
        await conn.execute(REBUILD, tenant, from_day, to_day)


async def _snapshot(conn: Conn, tenant: UUID, from_day: date | None,
                    to_day: date | None) -> dict[tuple[str, tuple[Any, ...]], dict[str, Any]]:
    lo, hi = _bounds(from_day, to_day)
    timezone = await conn.fetchval(TENANT_TIMEZONE, tenant)
    rows: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
    for table, keys in ROLLUP_KEYS.items():
        args = (tenant, lo, hi, timezone) if table == "metrics_15m" else (tenant, lo, hi)
        for r in await conn.fetch(ROWS[table], *args):
            values = {k: v for k, v in r.items() if k not in IGNORED and k not in keys and _nonzero(v)}
            if values:
                rows[(table, tuple(r[k] for k in keys))] = values
    return rows


def _nonzero(value: Any) -> bool:
    if isinstance(value, list):
        return any(value)
    return bool(value)


async def check(conn: Conn, tenant: UUID, from_day: date | None = None,
                to_day: date | None = None) -> list[Difference]:
    """Differences between the stored rollups and a rebuild; the rebuild is rolled back."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(LOCK_TENANT, tenant)
        stored = await _snapshot(conn, tenant, from_day, to_day)
        await conn.execute(REBUILD, tenant, from_day, to_day)
        rebuilt = await _snapshot(conn, tenant, from_day, to_day)
    finally:
        await tx.rollback()
    differences = []
    for table, key in sorted(stored.keys() | rebuilt.keys(), key=str):
        before, after = stored.get((table, key), {}), rebuilt.get((table, key), {})
        for column in sorted(before.keys() | after.keys()):
            if before.get(column) != after.get(column):
                differences.append(Difference(tenant, table, key, column, before.get(column), after.get(column)))
    return differences
