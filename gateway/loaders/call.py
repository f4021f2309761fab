"""Call rows: by id (batched) and the filtered, ordered, keyset-paginated list."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order
from gateway.loaders._keyset import Order, keyset_page, page_statements, parse_timestamp
from gateway.loaders._lateral import relation_sql
from gateway.loaders._rows import rows_of

_COLUMNS: Final = """id, direction, agent_id, lead_id, campaign_id, started_at, answered_at, ended_at, talk_seconds,
       hold_seconds, wrap_up_seconds, abandoned, transferred, first_contact_resolution, outcome, disposition,
       csat_rating, cost"""

CALLS_BY_ID: Final = f"""
SELECT {_COLUMNS}
FROM calls
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""  # noqa: S608 - constant columns

# NULL filters match everything, so one prepared statement per order serves every combination.
_FILTERS: Final = """
WHERE tenant_id = $1
  AND ($2::timestamptz IS NULL OR started_at >= $2)
  AND ($3::timestamptz IS NULL OR started_at < $3)
  AND ($4::uuid IS NULL OR agent_id = $4)
  AND ($5::uuid IS NULL OR agent_id IN (SELECT a.id FROM agents a WHERE a.tenant_id = $1 AND a.team_id = $5))
  AND ($6::uuid IS NULL OR campaign_id = $6)
  AND ($7::uuid IS NULL OR lead_id = $7)
  AND ($8::text IS NULL OR direction = $8)
  AND ($9::text IS NULL OR outcome = $9)
  AND ($10::uuid[] IS NULL OR agent_id = any($10))
"""


class CallOrder(enum.Enum):
    STARTED_AT_DESC = "started_at_desc"
    STARTED_AT_ASC = "started_at_asc"


ORDERS: Final = {
    CallOrder.STARTED_AT_DESC: Order("started_at", "timestamptz", True, parse_timestamp),
    CallOrder.STARTED_AT_ASC: Order("started_at", "timestamptz", False, parse_timestamp),
}
CALLS_PAGE: Final = page_statements(
    f"SELECT {_COLUMNS}, {{sort}} FROM calls {_FILTERS} AND {{after}} ORDER BY {{order}} LIMIT $13",  # noqa: S608
    ORDERS, 11)
CALLS_COUNT: Final = f"SELECT count(*) FROM calls {_FILTERS}"  # noqa: S608 - constant pieces

# The calls below an agent, a campaign or a lead: the list above with the parent as one more condition, for a
# page of parents at once (see _lateral.py). Indexes: calls_tenant_agent_started, calls_tenant_campaign_started,
# calls_tenant_lead.
CALLS_BY_AGENT: Final = relation_sql(columns=_COLUMNS, source="calls", filters=_FILTERS, filter_params=9,
                                     parent="agent_id", orders=ORDERS)
CALLS_BY_CAMPAIGN: Final = relation_sql(columns=_COLUMNS, source="calls", filters=_FILTERS, filter_params=9,
                                        parent="campaign_id", orders=ORDERS)
CALLS_BY_LEAD: Final = relation_sql(columns=_COLUMNS, source="calls", filters=_FILTERS, filter_params=9,
                                    parent="lead_id", orders=ORDERS)


@dataclass(frozen=True)
class CallRow:
    id: UUID
    direction: str
    agent_id: UUID | None
    lead_id: UUID | None
    campaign_id: UUID | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    talk_seconds: int
    hold_seconds: int
    wrap_up_seconds: int
    abandoned: bool
    transferred: bool
    first_contact_resolution: bool
    outcome: str
    disposition: str | None
    csat_rating: int | None
    cost: Decimal


@dataclass(frozen=True)
class CallFilter:
    started_from: datetime | None = None
    started_before: datetime | None = None
    agent_id: UUID | None = None
    team_id: UUID | None = None
    campaign_id: UUID | None = None
    lead_id: UUID | None = None
    direction: str | None = None
    outcome: str | None = None
    # The agents the principal may read; None for all. A tuple: filters are keys of relation loaders.
    visible: tuple[UUID, ...] | None = None

    def params(self) -> tuple[object, ...]:
        return (self.started_from, self.started_before, self.agent_id, self.team_id, self.campaign_id,
                self.lead_id, self.direction, self.outcome, self.visible)


class CallByIdLoader(TenantLoader[UUID, CallRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[CallRow | None]:
        rows = await self.db.fetch(CALLS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, rows_of(CallRow, rows), lambda c: c.id)


async def calls_page(db: TenantSession, flt: CallFilter, order: CallOrder, after: str | None,
                     limit: int) -> list[tuple[CallRow, object]]:
    """Up to `limit` calls after the cursor, each with its sort key."""
    return await keyset_page(db, CALLS_PAGE[order], order.value, ORDERS[order], flt.params(), after, limit, CallRow)


async def calls_count(db: TenantSession, flt: CallFilter) -> int:
    count: int = await db.fetchval(CALLS_COUNT, db.tenant_id, *flt.params())
    return count
