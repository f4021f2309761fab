"""The Team type."""

from __future__ import annotations

import strawberry

from gateway.ids import encode_id
from gateway.loaders.team import TeamRow


@strawberry.type(description="A group of agents with its managers.")
class Team:
    row: strawberry.Private[TeamRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Team", self.row.id))

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name
