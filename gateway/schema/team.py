"""The Team type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.ids import encode_id
from gateway.loaders.team import TeamRow
from gateway.metrics import Scope
from gateway.schema.measurable import Measurable
from gateway.schema.node import Node
from gateway.schema.pagination import Connection

if TYPE_CHECKING:
    from gateway.schema.agent import Agent, AgentFilter
    from gateway.schema.user import User


@strawberry.type(description="A group of agents with its managers.")
class Team(Node, Measurable):
    row: strawberry.Private[TeamRow]
    # A plain field, set from the row: dashboards list many names, and a plain field is a getattr for
    # graphql-core where a resolver method is an argument pass through Strawberry.
    name: str = strawberry.field(default="", description="Display name.")

    def __post_init__(self) -> None:
        self.name = self.row.name

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Team", self.row.id))

    def measured(self) -> tuple[Scope, UUID]:
        return Scope.TEAM, self.row.id

    @strawberry.field(description="The team's agents you may read, by name, `first` (default 50, max 200) at a "
                      "time; as `agents(filter: {teamId})`.")
    async def agents(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[AgentFilter, strawberry.lazy("gateway.schema.agent")] | None = None,
    ) -> Connection[Annotated[Agent, strawberry.lazy("gateway.schema.agent")]]:
        # Imported here: the relations refer back to Team.
        from gateway.resolvers.relations import team_agents

        return await team_agents(info.context, self.row.id, first, after, filter)

    @strawberry.field(description="The users who manage the team, by display name; roles other than admin and "
                      "viewer see only their own entry among them.")
    async def managers(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None,
    ) -> Connection[Annotated[User, strawberry.lazy("gateway.schema.user")]]:
        from gateway.resolvers.relations import team_managers

        return await team_managers(info.context, self.row.id, first, after)

    @classmethod
    async def load_many(cls, context: Context, keys: Sequence[UUID | None]) -> list[Team | None]:
        """The teams with these ids in order (None for no id or no such team), in one loader batch."""
        rows = await context.loaders.team_by_id.load_all(keys)
        return [cls(row=row) if row is not None else None for row in rows]

    @classmethod
    async def load(cls, context: Context, key: UUID | None) -> Team | None:
        """The team with this id through the operation's loader; None for no id or no such team."""
        if key is None:
            return None
        row = await context.loaders.team_by_id.load(key)
        return cls(row=row) if row is not None else None
