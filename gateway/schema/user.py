"""The User and Viewer types."""

from __future__ import annotations

import enum

import strawberry

from gateway.context import Context
from gateway.ids import encode_id
from gateway.loaders.user import UserRow
from gateway.resolvers.tenant import current_tenant
from gateway.schema.agent import Agent
from gateway.schema.node import Node
from gateway.schema.tenant import Tenant


@strawberry.enum(description="What a person may see and do; `service` marks the platform's machine tokens.")
class Role(enum.Enum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    VIEWER = "viewer"
    SERVICE = "service"


@strawberry.type(description="A person of the tenant's directory.")
class User(Node):
    row: strawberry.Private[UserRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("User", self.row.id))

    @strawberry.field(description="E-mail address.")
    def email(self) -> str:
        return self.row.email

    @strawberry.field(description="Name to show.")
    def display_name(self) -> str:
        return self.row.display_name

    @strawberry.field(description="Role stored in the directory (the token's roles decide access).")
    def role(self) -> Role:
        return Role(self.row.role)

    @strawberry.field(description="The agent this user works as, for users with role agent.")
    async def agent(self, info: strawberry.Info[Context, None]) -> Agent | None:
        if self.row.agent_id is None:
            return None
        row = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        return Agent(row=row) if row is not None else None


@strawberry.type(description="Who is asking, as the verified token says.")
class Viewer:
    subject: str = strawberry.field(description="The token's `sub` claim.")
    roles: list[Role] = strawberry.field(description="The token's roles.")
    user_row: strawberry.Private[UserRow | None]

    @strawberry.field(description="The directory entry of the subject; null for machine tokens.")
    def user(self) -> User | None:
        return User(row=self.user_row) if self.user_row is not None else None

    @strawberry.field(description="The tenant the token belongs to.")
    async def tenant(self, info: strawberry.Info[Context, None]) -> Tenant:
        return await current_tenant(info.context)
