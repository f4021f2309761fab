"""Root fields about campaigns."""

from __future__ import annotations

from gateway.auth import READERS
from gateway.context import Context
from gateway.loaders import campaign as campaign_sql
from gateway.schema.campaign import Campaign, CampaignStatus
from gateway.schema.pagination import Connection, connection, name_position, page_size


async def campaigns(context: Context, first: int | None, after: str | None,
                    status: CampaignStatus | None) -> Connection[Campaign]:
    context.require(*READERS)
    limit = page_size(first)
    wanted = status.value if status is not None else None
    rows = await campaign_sql.campaigns_page(context.db, wanted, name_position(after), limit + 1)
    db = context.db

    async def count() -> int:
        return await campaign_sql.campaigns_count(db, wanted)

    return connection(rows, limit, after, lambda r: Campaign(row=r), lambda r: [r.name, str(r.id)], count)
