"""The Agent type, its enums and its list filter."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.engine.batch import batched
from gateway.ids import encode_id
from gateway.loaders.agent import AgentRow
from gateway.metrics import Scope
from gateway.resolvers import campaign as campaign_resolvers
from gateway.schema.badge import BadgeAward
from gateway.schema.campaign import Campaign
from gateway.schema.measurable import Measurable
from gateway.schema.metrics import DateRange, Metric
from gateway.schema.node import Node
from gateway.schema.orders import CallOrder, LeadOrder, TaskOrder
from gateway.schema.pagination import Connection
from gateway.schema.team import Team

if TYPE_CHECKING:
    from gateway.schema.call import Call, CallFilter
    from gateway.schema.lead import Lead, LeadFilter
    from gateway.schema.leaderboard import Standing
    from gateway.schema.task import Task, TaskFilter


@strawberry.enum(description="Whether a person or an AI handles the agent's calls.")
class AgentKind(enum.Enum):
    HUMAN = "human"
    AI = "ai"


@strawberry.enum(description="Employment status of an agent (presence is tracked separately).")
class AgentStatus(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ON_LEAVE = "on_leave"


@strawberry.input(description="Narrows a list of agents; every given field must match.")
class AgentFilter:
    team_id: strawberry.ID | None = strawberry.field(default=None, description="Only this team's agents.")
    status: AgentStatus | None = strawberry.field(default=None, description="Only agents in this status.")
    kind: AgentKind | None = strawberry.field(default=None, description="Only human or only AI agents.")


@strawberry.type(description="A human or AI agent handling calls.")
class Agent(Node, Measurable):
    row: strawberry.Private[AgentRow]
    # A plain field, set from the row: dashboards list many names, and a plain field is a getattr for
    # graphql-core where a resolver method is an argument pass through Strawberry.
    name: str = strawberry.field(default="", description="Display name.")

    def __post_init__(self) -> None:
        self.name = self.row.name

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Agent", self.row.id))

    def measured(self) -> tuple[Scope, UUID]:
        return Scope.AGENT, self.row.id


    @strawberry.field(description="Work e-mail address, when known.")
    def email(self) -> str | None:
        return self.row.email

    @strawberry.field(description="Human or AI.")
    def kind(self) -> AgentKind:
        return AgentKind(self.row.kind)

    @strawberry.field(description="Employment status.")
    def status(self) -> AgentStatus:
        return AgentStatus(self.row.status)

    @strawberry.field(description="First day of work.")
    def hired_on(self) -> date | None:
        return self.row.hired_on

    @strawberry.field(description="The agent's team, if any.")
    @batched(lambda context, agents: Team.load_many(context, [a.row.team_id for a in agents]))
    async def team(self, info: strawberry.Info[Context, None]) -> Team | None:
        return await Team.load(info.context, self.row.team_id)

    @strawberry.field(description="Badges the agent earned, newest first.")
    async def badges(self, info: strawberry.Info[Context, None]) -> list[BadgeAward]:
        (await info.context.access()).require_agent(self.row.id)
        return [BadgeAward(award=a) for a in await info.context.loaders.badges_by_agent.load(self.row.id)]

    @strawberry.field(description="The campaigns the agent had calls for in the range, by name.")
    async def campaigns(self, info: strawberry.Info[Context, None], range: DateRange) -> list[Campaign]:
        return await campaign_resolvers.campaigns_of_agent(info.context, self.row.id, range)

    @strawberry.field(description="The calls the agent handled, newest first unless `orderBy` says otherwise; as "
                      "`calls(filter: {agentId})`.")
    async def calls(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[CallFilter, strawberry.lazy("gateway.schema.call")] | None = None,
        order_by: CallOrder = CallOrder.STARTED_AT_DESC,
    ) -> Connection[Annotated[Call, strawberry.lazy("gateway.schema.call")]]:
        # Imported here: the relations refer back to Agent.
        from gateway.resolvers.relations import agent_calls

        return await agent_calls(info.context, self.row.id, first, after, filter, order_by)

    @strawberry.field(description="The leads the agent owns, newest first by default; as "
                      "`leads(filter: {ownerId})`.")
    async def leads(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[LeadFilter, strawberry.lazy("gateway.schema.lead")] | None = None,
        order_by: LeadOrder = LeadOrder.CREATED_AT_DESC,
    ) -> Connection[Annotated[Lead, strawberry.lazy("gateway.schema.lead")]]:
        from gateway.resolvers.relations import agent_leads

        return await agent_leads(info.context, self.row.id, first, after, filter, order_by)

    @strawberry.field(description="The tasks assigned to the agent, newest first by default; as "
                      "`tasks(filter: {assigneeId})`.")
    async def tasks(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[TaskFilter, strawberry.lazy("gateway.schema.task")] | None = None,
        order_by: TaskOrder = TaskOrder.CREATED_AT_DESC,
    ) -> Connection[Annotated[Task, strawberry.lazy("gateway.schema.task")]]:
        from gateway.resolvers.relations import agent_tasks

        return await agent_tasks(info.context, self.row.id, first, after, filter, order_by)

    @strawberry.field(description="Where the agent stands by one metric (built-in `metric` or `customMetric`) "
                      "within its team and the tenant.")
    async def standing(self, info: strawberry.Info[Context, None], range: DateRange, metric: Metric | None = None,
                       custom_metric: str | None = None,
                       ) -> Annotated[Standing, strawberry.lazy("gateway.schema.leaderboard")]:
        # Imported here: the leaderboard module refers back to Agent.
        from gateway.resolvers.leaderboard import standing

        return await standing(info.context, self.row.id, metric, custom_metric, range)

    @classmethod
    async def load_many(cls, context: Context, keys: Sequence[UUID | None]) -> list[Agent | None]:
        """The agents with these ids in order (None for no id or no such agent), in one loader batch."""
        rows = await context.loaders.agent_by_id.load_all(keys)
        return [cls(row=row) if row is not None else None for row in rows]

    @classmethod
    async def load(cls, context: Context, key: UUID | None) -> Agent | None:
        """The agent with this id through the operation's loader; None for no id or no such agent."""
        if key is None:
            return None
        row = await context.loaders.agent_by_id.load(key)
        return cls(row=row) if row is not None else None
