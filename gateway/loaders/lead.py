"""Lead rows and their stage history: by id (batched) and the filtered, ordered, keyset-paginated list."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order
from gateway.loaders._keyset import Order, keyset_page, page_statements, parse_decimal, parse_int, parse_timestamp
from gateway.loaders._lateral import relation_sql
from gateway.loaders._rows import rows_of

_COLUMNS: Final = """id, campaign_id, owner_agent_id, name, source, stage, score, value, converted_at, created_at"""

LEADS_BY_ID: Final = f"""
SELECT {_COLUMNS}
FROM leads
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""  # noqa: S608 - constant columns

STAYS_BY_LEAD: Final = """
SELECT lead_id, stage, entered_at, exited_at, next_stage, agent_id, value
FROM lead_stage_history
WHERE tenant_id = $1 AND lead_id = any($2::uuid[])
ORDER BY lead_id, entered_at, id
"""

_FILTERS: Final = """
WHERE tenant_id = $1
  AND ($2::timestamptz IS NULL OR created_at >= $2)
  AND ($3::timestamptz IS NULL OR created_at < $3)
  AND ($4::uuid IS NULL OR campaign_id = $4)
  AND ($5::uuid IS NULL OR owner_agent_id = $5)
  AND ($6::text IS NULL OR stage = $6)
  AND ($7::text IS NULL OR source = $7)
  AND ($8::uuid[] IS NULL OR owner_agent_id = any($8))
"""


class LeadOrder(enum.Enum):
    CREATED_AT_DESC = "created_at_desc"
    CREATED_AT_ASC = "created_at_asc"
    VALUE_DESC = "value_desc"
    SCORE_DESC = "score_desc"


ORDERS: Final = {
    LeadOrder.CREATED_AT_DESC: Order("created_at", "timestamptz", True, parse_timestamp),
    LeadOrder.CREATED_AT_ASC: Order("created_at", "timestamptz", False, parse_timestamp),
    LeadOrder.VALUE_DESC: Order("value", "numeric", True, parse_decimal),
    LeadOrder.SCORE_DESC: Order("score", "integer", True, parse_int),
}
LEADS_PAGE: Final = page_statements(
    f"SELECT {_COLUMNS}, {{sort}} FROM leads {_FILTERS} AND {{after}} ORDER BY {{order}} LIMIT $11",  # noqa: S608
    ORDERS, 9)
LEADS_COUNT: Final = f"SELECT count(*) FROM leads {_FILTERS}"  # noqa: S608 - constant pieces

# The leads an agent owns and those a campaign sourced, for a page of parents at once (see _lateral.py).
# Indexes: leads_tenant_owner_created (0011), leads_tenant_campaign.
LEADS_BY_OWNER: Final = relation_sql(columns=_COLUMNS, source="leads", filters=_FILTERS, filter_params=7,
                                     parent="owner_agent_id", orders=ORDERS)
LEADS_BY_CAMPAIGN: Final = relation_sql(columns=_COLUMNS, source="leads", filters=_FILTERS, filter_params=7,
                                        parent="campaign_id", orders=ORDERS)


@dataclass(frozen=True)
class LeadRow:
    id: UUID
    campaign_id: UUID | None
    owner_agent_id: UUID | None
    name: str | None
    source: str
    stage: str
    score: int
    value: Decimal
    converted_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class StayRow:
    stage: str
    entered_at: datetime
    exited_at: datetime | None
    next_stage: str | None
    agent_id: UUID | None
    value: Decimal | None


@dataclass(frozen=True)
class LeadFilter:
    created_from: datetime | None = None
    created_before: datetime | None = None
    campaign_id: UUID | None = None
    owner_agent_id: UUID | None = None
    stage: str | None = None
    source: str | None = None
    # Owners the principal may read; None for all. A tuple: filters are keys of relation loaders.
    visible: tuple[UUID, ...] | None = None

    def params(self) -> tuple[object, ...]:
        return (self.created_from, self.created_before, self.campaign_id, self.owner_agent_id, self.stage,
                self.source, self.visible)


class LeadByIdLoader(TenantLoader[UUID, LeadRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[LeadRow | None]:
        rows = await self.db.fetch(LEADS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, rows_of(LeadRow, rows), lambda lead: lead.id)


class StaysByLeadLoader(TenantLoader[UUID, list[StayRow]]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[list[StayRow]]:
        found: dict[UUID, list[StayRow]] = defaultdict(list)
        for r in await self.db.fetch(STAYS_BY_LEAD, self.db.tenant_id, list(keys)):
            found[r["lead_id"]].append(StayRow(**{k: v for k, v in r.items() if k != "lead_id"}))
        return [found.get(k, []) for k in keys]


async def leads_page(db: TenantSession, flt: LeadFilter, order: LeadOrder, after: str | None,
                     limit: int) -> list[tuple[LeadRow, object]]:
    """Up to `limit` leads after the cursor, each with its sort key."""
    return await keyset_page(db, LEADS_PAGE[order], order.value, ORDERS[order], flt.params(), after, limit, LeadRow)


async def leads_count(db: TenantSession, flt: LeadFilter) -> int:
    count: int = await db.fetchval(LEADS_COUNT, db.tenant_id, *flt.params())
    return count
