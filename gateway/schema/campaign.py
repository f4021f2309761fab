"""The Campaign type."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.ids import encode_id
from gateway.loaders.campaign import CampaignRow
from gateway.metrics import Scope
from gateway.schema.measurable import Measurable
from gateway.schema.metrics import DateRange
from gateway.schema.node import Node
from gateway.schema.orders import CallOrder, LeadOrder
from gateway.schema.pagination import Connection

if TYPE_CHECKING:
    from gateway.schema.call import Call, CallFilter
    from gateway.schema.funnel import Funnel
    from gateway.schema.lead import Lead, LeadFilter


@strawberry.enum(description="Lifecycle of a campaign.")
class CampaignStatus(enum.Enum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


@strawberry.type(description="A marketing or calling campaign that sources leads and places calls.")
class Campaign(Node, Measurable):
    row: strawberry.Private[CampaignRow]
    # A plain field, set from the row: dashboards list many names, and a plain field is a getattr for
    # graphql-core where a resolver method is an argument pass through Strawberry.
    name: str = strawberry.field(default="", description="Display name.")

    def __post_init__(self) -> None:
        self.name = self.row.name

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Campaign", self.row.id))

    def measured(self) -> tuple[Scope, UUID]:
        return Scope.CAMPAIGN, self.row.id


    @strawberry.field(description="phone, email, sms, web, social or referral.")
    def channel(self) -> str:
        return self.row.channel

    @strawberry.field(description="Lifecycle status.")
    def status(self) -> CampaignStatus:
        return CampaignStatus(self.row.status)

    @strawberry.field(description="Planned budget, when set.")
    def budget(self) -> float | None:
        return float(self.row.budget) if self.row.budget is not None else None

    @strawberry.field(description="First day, when set.")
    def starts_on(self) -> date | None:
        return self.row.starts_on

    @strawberry.field(description="Last day, when set.")
    def ends_on(self) -> date | None:
        return self.row.ends_on

    @strawberry.field(description="The campaign's conversion funnel over a range: per stage entered, advanced, "
                      "lost, conversion, drop-off and time in stage.")
    async def funnel(self, info: strawberry.Info[Context, None],
                     range: DateRange) -> Annotated[Funnel, strawberry.lazy("gateway.schema.funnel")]:
        # Imported here: the funnel module refers back to Campaign.
        from gateway.resolvers.funnel import funnel

        return await funnel(info.context, self.row.id, range)

    @strawberry.field(description="The campaign's calls you may read, newest first unless `orderBy` says "
                      "otherwise; as `calls(filter: {campaignId})`.")
    async def calls(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[CallFilter, strawberry.lazy("gateway.schema.call")] | None = None,
        order_by: CallOrder = CallOrder.STARTED_AT_DESC,
    ) -> Connection[Annotated[Call, strawberry.lazy("gateway.schema.call")]]:
        # Imported here: the relations refer back to Campaign.
        from gateway.resolvers.relations import campaign_calls

        return await campaign_calls(info.context, self.row.id, first, after, filter, order_by)

    @strawberry.field(description="The leads the campaign sourced that you may read, newest first by default; as "
                      "`leads(filter: {campaignId})`.")
    async def leads(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[LeadFilter, strawberry.lazy("gateway.schema.lead")] | None = None,
        order_by: LeadOrder = LeadOrder.CREATED_AT_DESC,
    ) -> Connection[Annotated[Lead, strawberry.lazy("gateway.schema.lead")]]:
        from gateway.resolvers.relations import campaign_leads

        return await campaign_leads(info.context, self.row.id, first, after, filter, order_by)

    @classmethod
    async def load_many(cls, context: Context, keys: Sequence[UUID | None]) -> list[Campaign | None]:
        """The campaigns with these ids in order (None for no id or no such campaign), in one loader batch."""
        rows = await context.loaders.campaign_by_id.load_all(keys)
        return [cls(row=row) if row is not None else None for row in rows]

    @classmethod
    async def load(cls, context: Context, key: UUID | None) -> Campaign | None:
        """The campaign with this id through the operation's loader; None for no id or no such campaign."""
        if key is None:
            return None
        row = await context.loaders.campaign_by_id.load(key)
        return cls(row=row) if row is not None else None
