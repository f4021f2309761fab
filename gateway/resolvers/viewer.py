"""The `viewer` root field."""

from __future__ import annotations

from gateway.auth import READERS
from gateway.context import Context
from gateway.schema.user import Role, Viewer


async def viewer(context: Context) -> Viewer:
    principal = context.require()
    user_id = principal.user_uuid
    # Machine tokens read nothing about people, their own subject's directory entry included.
    reads_people = principal.has(*READERS)
    row = await context.loaders.user_by_id.load(user_id) if user_id is not None and reads_people else None
    return Viewer(subject=principal.user_id, roles=sorted((Role(r.value) for r in principal.roles),
                                                        key=lambda r: r.value), user_row=row)
