"""Root fields about the tenant."""

from __future__ import annotations

from gateway.context import Context
from gateway.errors import NotFound
from gateway.schema.tenant import Tenant


async def current_tenant(context: Context) -> Tenant:
    """The token's tenant; NOT_FOUND if the token names a tenant that does not exist."""
    principal = context.require()
    row = await context.loaders.tenant_by_id.load(principal.tenant_id)
    if row is None:
        raise NotFound("the token's tenant does not exist")
    return Tenant(row=row)
