"""What list resolvers share: a client's date range as UTC bounds, and optional global ids as keys."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

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
