"""Conversion funnels of a campaign or the whole tenant."""

from __future__ import annotations

from uuid import UUID

from gateway.context import Context
from gateway.errors import NotFound
from gateway.loaders.funnel import FunnelKey
from gateway.resolvers.metrics import period_of
from gateway.schema.campaign import Campaign
from gateway.schema.funnel import Funnel
from gateway.schema.metrics import DateRange


async def funnel(context: Context, campaign_id: UUID | None, rng: DateRange) -> Funnel:
    """Aggregates: FORBIDDEN for roles that may not read tenant-wide and campaign figures."""
    (await context.access()).require_aggregates()
    campaign = await Campaign.load(context, campaign_id)
    if campaign_id is not None and campaign is None:
        raise NotFound("no such campaign")
    period, _ = await period_of(context, rng)
    counts = await context.loaders.funnel.load(FunnelKey(campaign_id, period))
    return Funnel(stage_counts=counts, campaign_row=campaign, from_=period.start, to=period.end)
