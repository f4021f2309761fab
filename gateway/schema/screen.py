"""Screen tokens: an admin's revocable grant that lets a wall screen show one user's dashboard, read-only."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Context
from gateway.errors import NotFound
from gateway.ids import encode_id
from gateway.loaders.screen import ScreenTokenRow
from gateway.schema.user import User


@strawberry.type(description="A wall screen's grant: it shows its user's dashboard, reading what that user may "
                 "read, and changes nothing. Revoking it ends the screen's access at once.")
class ScreenToken:
    row: strawberry.Private[ScreenTokenRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("ScreenToken", self.row.id))

    @strawberry.field(description="Where the screen hangs, as the admin named it.")
    def label(self) -> str:
        return self.row.label

    @strawberry.field(description="Whose dashboard it shows and whose role rules it reads under.")
    async def user(self, info: strawberry.Info[Context, None]) -> User:
        owner = await info.context.loaders.user_by_id.load(self.row.user_id)
        if owner is None:
            # The grant goes with its user; only a deletion committed meanwhile gets here.
            raise NotFound("the screen token's user no longer exists")
        return User(row=owner)

    @strawberry.field(description="The token subject of the admin who issued it.")
    def created_by(self) -> str:
        return self.row.created_by

    @strawberry.field(description="When it was issued.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When the grant ends: no renewal reaches past it.")
    def expires_at(self) -> datetime:
        return self.row.expires_at

    @strawberry.field(description="When it was revoked; null while it is not.")
    def revoked_at(self) -> datetime | None:
        return self.row.revoked_at

    @strawberry.field(description="When the screen last renewed its token; null before the first renewal.")
    def last_used_at(self) -> datetime | None:
        return self.row.last_used_at

    @strawberry.field(description="Neither revoked nor ended.")
    def active(self) -> bool:
        return self.row.active


@strawberry.type(description="A screen's credential: its grant, and the short-lived JWT the screen sends as "
                 "`Authorization: Bearer` (over websockets, in the connection_init payload).")
class IssuedScreenToken:
    screen_token: ScreenToken = strawberry.field(description="The grant.")
    token: str = strawberry.field(description="The JWT (role `screen`): valid until `tokenExpiresAt`, at most an "
                                  "hour and never past the grant's end. Renew it before then with "
                                  "renewScreenToken.")
    token_expires_at: datetime = strawberry.field(description="When `token` expires (its `exp`).")
