"""What list resolvers share: a client's date range as UTC bounds, optional global ids as keys, visible agents."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from gateway.access import Access
from gateway.context import Context
from gateway.ids import decode_id
from gateway.periods import instants_of
from gateway.resolvers.metrics import period_of
from gateway.schema.metrics import DateRange


async def instants(context: Context, rng: DateRange | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) instants of a range of tenant-local days; (None, None) without a range."""
    if rng is None:
        return None, None
    return instants_of(*await period_of(context, rng))


def key_of(global_id: strawberry.ID | None, type_name: str) -> UUID | None:
    return decode_id(global_id, type_name)[1] if global_id is not None else None


def visible_agents(access: Access) -> tuple[UUID, ...] | None:
    """The agents whose rows the principal may read, as a list filter's `visible`: None means every agent."""
    ids = access.agent_ids
    return tuple(ids) if ids is not None else None
