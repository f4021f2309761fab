"""The `viewer` root field."""

from __future__ import annotations

from gateway.auth import READERS
from gateway.context import Context
from gateway.schema.user import Role, Viewer


async def viewer(context: Context) -> Viewer:
    principal = context.require()
    # Machine tokens read nothing about people, their own subject's directory entry included.
    reads_people = principal.has(*READERS)
    row = None
    if reads_people:
        # The subject names the user by id or by the identity provider's subject (users.external_subject). For
        # managers and agents the access lookup finds that user too and primes the loader: one query, not two.
        await context.access()
        row = await context.loaders.user_by_subject.load(principal.user_id)
    return Viewer(subject=principal.user_id, roles=sorted((Role(r.value) for r in principal.roles),
                                                        key=lambda r: r.value), user_row=row)
