"""The Team type."""

from __future__ import annotations

from uuid import UUID

import strawberry

from gateway.context import Context
from gateway.ids import encode_id
from gateway.loaders.team import TeamRow
from gateway.metrics import Scope
from gateway.schema.measurable import Measurable
from gateway.schema.node import Node


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


    @classmethod
    async def load(cls, context: Context, key: UUID | None) -> Team | None:
        """The team with this id through the operation's loader; None for no id or no such team."""
        if key is None:
            return None
        row = await context.loaders.team_by_id.load(key)
        return cls(row=row) if row is not None else None
