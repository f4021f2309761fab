"""The Lead type, its stage history, enums and list filter."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.engine.batch import batched
from gateway.errors import ClientError
from gateway.ids import encode_id
from gateway.loaders.lead import LeadRow, StayRow
from gateway.schema.agent import Agent
from gateway.schema.campaign import Campaign
from gateway.schema.metrics import DateRange
from gateway.schema.node import Node
from gateway.schema.orders import CallOrder, TaskOrder
from gateway.schema.pagination import Connection

if TYPE_CHECKING:
    from gateway.schema.call import Call, CallFilter
    from gateway.schema.task import Task, TaskFilter


@strawberry.enum(description="Funnel stage: new → contacted → qualified → proposal → won, or lost from any stage.")
class LeadStage(enum.Enum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    PROPOSAL = "proposal"
    WON = "won"
    LOST = "lost"


@strawberry.enum(description="Where a lead came from.")
class LeadSource(enum.Enum):
    INBOUND_CALL = "inbound_call"
    WEB_FORM = "web_form"
    REFERRAL = "referral"
    IMPORT = "import"
    SOCIAL = "social"
    EMAIL = "email"
    PARTNER = "partner"


@strawberry.input(description="Narrows a list of leads; every given field must match.")
class LeadFilter:
    range: DateRange | None = strawberry.field(default=None, description="Created on these tenant-local days.")
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="Sourced by this campaign.")
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Owned by this agent.")
    stage: LeadStage | None = strawberry.field(default=None, description="Currently in this stage.")
    source: LeadSource | None = strawberry.field(default=None, description="From this source.")


@strawberry.type(description="One stay of a lead in a funnel stage.")
class LeadStageStay:
    row: strawberry.Private[StayRow]

    @strawberry.field(description="The stage.")
    def stage(self) -> LeadStage:
        return LeadStage(self.row.stage)

    @strawberry.field(description="When the lead entered the stage.")
    def entered_at(self) -> datetime:
        return self.row.entered_at

    @strawberry.field(description="When it left; null while it is still there.")
    def exited_at(self) -> datetime | None:
        return self.row.exited_at

    @strawberry.field(description="The stage it moved to; null while it is still there.")
    def next_stage(self) -> LeadStage | None:
        return LeadStage(self.row.next_stage) if self.row.next_stage is not None else None

    @strawberry.field(description="Seconds spent in the stage; null while it is still there.")
    def seconds_in_stage(self) -> float | None:
        if self.row.exited_at is None:
            return None
        return (self.row.exited_at - self.row.entered_at).total_seconds()

    @strawberry.field(description="The agent whose action moved the lead into this stage.")
    async def agent(self, info: strawberry.Info[Context, None]) -> Agent | None:
        if self.row.agent_id is not None:
            (await info.context.access()).require_agent(self.row.agent_id)
        return await Agent.load(info.context, self.row.agent_id)


@strawberry.type(description="A prospective customer, sourced by a campaign and worked by agents.")
class Lead(Node):
    row: strawberry.Private[LeadRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Lead", self.row.id))

    @strawberry.field(description="Display name, when known.")
    def name(self) -> str | None:
        return self.row.name

    @strawberry.field(description="Where the lead came from.")
    def source(self) -> LeadSource:
        return LeadSource(self.row.source)

    @strawberry.field(description="Current funnel stage.")
    def stage(self) -> LeadStage:
        return LeadStage(self.row.stage)

    @strawberry.field(description="Score, 0-100.")
    def score(self) -> int:
        return self.row.score

    @strawberry.field(description="Expected or won value, in the tenant's currency.")
    def value(self) -> float:
        return float(self.row.value)

    @strawberry.field(description="When the lead was won; null unless won.")
    def converted_at(self) -> datetime | None:
        return self.row.converted_at

    @strawberry.field(description="When the lead was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The campaign that sourced the lead.")
    @batched(lambda context, leads: Campaign.load_many(context, [x.row.campaign_id for x in leads]))
    async def campaign(self, info: strawberry.Info[Context, None]) -> Campaign | None:
        return await Campaign.load(info.context, self.row.campaign_id)

    @strawberry.field(description="The agent who owns the lead.")
    @batched(lambda context, leads: Agent.load_many(context, [x.row.owner_agent_id for x in leads]))
    async def owner(self, info: strawberry.Info[Context, None]) -> Agent | None:
        return await Agent.load(info.context, self.row.owner_agent_id)

    @strawberry.field(description="Every stay in a stage, oldest first.")
    async def history(self, info: strawberry.Info[Context, None]) -> list[LeadStageStay]:
        return [LeadStageStay(row=r) for r in await info.context.loaders.stays_by_lead.load(self.row.id)]

    @strawberry.field(description="The calls about the lead that you may read, newest first unless `orderBy` says "
                      "otherwise; as `calls(filter: {leadId})`.")
    async def calls(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[CallFilter, strawberry.lazy("gateway.schema.call")] | None = None,
        order_by: CallOrder = CallOrder.STARTED_AT_DESC,
    ) -> Connection[Annotated[Call, strawberry.lazy("gateway.schema.call")]]:
        # Imported here: the relations refer back to Lead.
        from gateway.resolvers.relations import lead_calls

        return await lead_calls(info.context, self.row.id, first, after, filter, order_by)

    @strawberry.field(description="The tasks about the lead that you may read, newest first by default; as "
                      "`tasks(filter: {leadId})`.")
    async def tasks(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[TaskFilter, strawberry.lazy("gateway.schema.task")] | None = None,
        order_by: TaskOrder = TaskOrder.CREATED_AT_DESC,
    ) -> Connection[Annotated[Task, strawberry.lazy("gateway.schema.task")]]:
        from gateway.resolvers.relations import lead_tasks

        return await lead_tasks(info.context, self.row.id, first, after, filter, order_by)

    @classmethod
    async def load_many(cls, context: Context, keys: Sequence[UUID | None]) -> list[Lead | Exception | None]:
        """Lead.load for several ids in one loader batch; FORBIDDEN (as a value) for each lead one may not read."""
        rows = await context.loaders.lead_by_id.load_all(keys)
        if not any(rows):
            return [None] * len(rows)
        access = await context.access()
        leads: list[Lead | Exception | None] = []
        for row in rows:
            if row is None:
                leads.append(None)
                continue
            try:
                access.require_owner(row.owner_agent_id)
            except ClientError as e:
                leads.append(e)
                continue
            leads.append(cls(row=row))
        return leads

    @classmethod
    async def load(cls, context: Context, lead_id: UUID | None) -> Lead | None:
        """The lead through the operation's loader; FORBIDDEN unless the principal may read its owner's leads."""
        if lead_id is None:
            return None
        row = await context.loaders.lead_by_id.load(lead_id)
        if row is None:
            return None
        (await context.access()).require_owner(row.owner_agent_id)
        return cls(row=row)
