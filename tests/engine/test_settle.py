"""Resolvers the engine steps outside any task still reach everything that needs one."""

from __future__ import annotations

import asyncio

import asyncpg

from gateway.auth import Principal, Role
from gateway.context import Context
from gateway.db import create_pool
from gateway.schema import schema
from tests.conftest import TestDatabase
from tests.factories import make_tenant

CALLS = "{ calls(first: 5) { edges { node { id } } } }"


async def test_operations_that_open_new_pool_connections_succeed_under_the_planned_engine(
        database: TestDatabase, admin_conn: asyncpg.Connection) -> None:
    # given a pool holding one connection, and more operations at once than it has connections
    tenant = await make_tenant(admin_conn)
    pool = await create_pool(database.app_dsn, min_size=1, max_size=4)
    principal = Principal(user_id="u", tenant_id=tenant, roles=frozenset({Role.ADMIN}))
    try:
        # when each opens its own connection (asyncpg's connect needs a current task)
        results = await asyncio.gather(*(
            schema.execute(CALLS, context_value=Context(pool=pool, request_id=f"r{i}", principal=principal))
            for i in range(3)))
    finally:
        await pool.close()
    # then
    assert [r.errors for r in results] == [None, None, None]
