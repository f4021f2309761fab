"""The Call type, its enums and list filter."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.engine.batch import batched
from gateway.ids import encode_id
from gateway.loaders.call import CallRow
from gateway.schema.agent import Agent
from gateway.schema.campaign import Campaign
from gateway.schema.lead import Lead
from gateway.schema.metrics import DateRange
from gateway.schema.node import Node


@strawberry.enum(description="Who placed the call.")
class CallDirection(enum.Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@strawberry.enum(description="How the call ended.")
class CallOutcome(enum.Enum):
    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    ABANDONED = "abandoned"
    FAILED = "failed"


@strawberry.enum(description="What the agent recorded as the result of a connected call.")
class CallDisposition(enum.Enum):
    CONVERTED = "converted"
    INTERESTED = "interested"
    CALLBACK = "callback"
    NOT_INTERESTED = "not_interested"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    WRONG_NUMBER = "wrong_number"


@strawberry.input(description="Narrows a list of calls; every given field must match.")
class CallFilter:
    range: DateRange | None = strawberry.field(default=None, description="Started on these tenant-local days.")
    agent_id: strawberry.ID | None = strawberry.field(default=None, description="Handled by this agent.")
    team_id: strawberry.ID | None = strawberry.field(default=None, description="Handled by this team's agents.")
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="Placed for this campaign.")
    lead_id: strawberry.ID | None = strawberry.field(default=None, description="About this lead.")
    direction: CallDirection | None = strawberry.field(default=None, description="Only inbound or outbound.")
    outcome: CallOutcome | None = strawberry.field(default=None, description="Only calls that ended this way.")


@strawberry.type(description="One inbound or outbound call.")
class Call(Node):
    row: strawberry.Private[CallRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Call", self.row.id))

    @strawberry.field(description="Inbound or outbound.")
    def direction(self) -> CallDirection:
        return CallDirection(self.row.direction)

    @strawberry.field(description="Inbound: when the caller entered the queue. Outbound: when the agent dialled.")
    def started_at(self) -> datetime:
        return self.row.started_at

    @strawberry.field(description="When the call was answered; null when it never was.")
    def answered_at(self) -> datetime | None:
        return self.row.answered_at

    @strawberry.field(description="When the call ended.")
    def ended_at(self) -> datetime:
        return self.row.ended_at

    @strawberry.field(description="Seconds in conversation.")
    def talk_seconds(self) -> int:
        return self.row.talk_seconds

    @strawberry.field(description="Seconds on hold.")
    def hold_seconds(self) -> int:
        return self.row.hold_seconds

    @strawberry.field(description="Seconds of after-call work.")
    def wrap_up_seconds(self) -> int:
        return self.row.wrap_up_seconds

    @strawberry.field(description="Talk + hold + wrap-up seconds.")
    def handle_seconds(self) -> int:
        return self.row.talk_seconds + self.row.hold_seconds + self.row.wrap_up_seconds

    @strawberry.field(description="Seconds from start to answer; null when never answered.")
    def wait_seconds(self) -> float | None:
        if self.row.answered_at is None:
            return None
        return (self.row.answered_at - self.row.started_at).total_seconds()

    @strawberry.field(description="Whether the caller hung up while queued.")
    def abandoned(self) -> bool:
        return self.row.abandoned

    @strawberry.field(description="Whether the call was transferred.")
    def transferred(self) -> bool:
        return self.row.transferred

    @strawberry.field(description="Whether the caller's matter was resolved on this first contact.")
    def first_contact_resolution(self) -> bool:
        return self.row.first_contact_resolution

    @strawberry.field(description="How the call ended.")
    def outcome(self) -> CallOutcome:
        return CallOutcome(self.row.outcome)

    @strawberry.field(description="The agent's recorded result, when any.")
    def disposition(self) -> CallDisposition | None:
        return CallDisposition(self.row.disposition) if self.row.disposition is not None else None

    @strawberry.field(description="The caller's rating, 1-5, when given.")
    def csat_rating(self) -> int | None:
        return self.row.csat_rating

    @strawberry.field(description="Telephony and AI cost of the call, in the tenant's currency.")
    def cost(self) -> float:
        return float(self.row.cost)

    @strawberry.field(description="The agent who handled the call; null when it never reached one.")
    @batched(lambda context, calls: Agent.load_many(context, [c.row.agent_id for c in calls]))
    async def agent(self, info: strawberry.Info[Context, None]) -> Agent | None:
        return await Agent.load(info.context, self.row.agent_id)

    @strawberry.field(description="The campaign the call was placed for.")
    @batched(lambda context, calls: Campaign.load_many(context, [c.row.campaign_id for c in calls]))
    async def campaign(self, info: strawberry.Info[Context, None]) -> Campaign | None:
        return await Campaign.load(info.context, self.row.campaign_id)

    @strawberry.field(description="The lead the call was about.")
    @batched(lambda context, calls: Lead.load_many(context, [c.row.lead_id for c in calls]))
    async def lead(self, info: strawberry.Info[Context, None]) -> Lead | None:
        return await Lead.load(info.context, self.row.lead_id)

    @classmethod
    async def load(cls, context: Context, key: UUID | None) -> Call | None:
        """The call with this id through the operation's loader; None for no id or no such call."""
        if key is None:
            return None
        row = await context.loaders.call_by_id.load(key)
        return cls(row=row) if row is not None else None
