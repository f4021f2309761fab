"""The Badge type (gamification) and an agent's awards."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.ids import encode_id
from gateway.loaders.badge import AwardRow, BadgeRow


@strawberry.type(description="A gamification badge agents can earn.")
class Badge:
    row: strawberry.Private[BadgeRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Badge", self.row.id))

    @strawberry.field(description="Stable code, e.g. `first_sale`.")
    def code(self) -> str:
        return self.row.code

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="What it is awarded for.")
    def description(self) -> str:
        return self.row.description

    @strawberry.field(description="Points it is worth.")
    def points(self) -> int:
        return self.row.points


@strawberry.type(description="A badge an agent earned, and when.")
class BadgeAward:
    award: strawberry.Private[AwardRow]

    @strawberry.field(description="The badge.")
    def badge(self) -> Badge:
        return Badge(row=self.award.badge)

    @strawberry.field(description="When it was awarded.")
    def awarded_at(self) -> datetime:
        return self.award.awarded_at
