"""Resolvers the engine steps outside any task still reach everything that needs one."""

from __future__ import annotations

import asyncio
import gc
from datetime import date
from typing import Final

import asyncpg

from gateway.auth import Principal, Role
from gateway.context import Context
from gateway.db import create_pool
from gateway.schema import schema
from gateway.seed import SeedOptions, seed_database
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


SEED: Final = SeedOptions(tenants=1, days=1, agents=4, calls_per_day=30, seed=1, end_date=date(2025, 3, 31))
LIST: Final = "{ calls(first: 20) { edges { node { id agent { name team { name } } campaign { name } } } } }"


async def test_an_operation_leaves_nothing_for_the_cycle_collector(
        database: TestDatabase, admin_conn: asyncpg.Connection) -> None:
    # given a seeded tenant, and an operation run once already (plans, statements and caches made)
    await seed_database(admin_conn, SEED)
    tenant = await admin_conn.fetchval("SELECT id FROM tenants ORDER BY id LIMIT 1")
    pool = await create_pool(database.app_dsn, min_size=1, max_size=2)
    principal = Principal(user_id="u", tenant_id=tenant, roles=frozenset({Role.ADMIN}))

    async def operation() -> None:
        result = await schema.execute(LIST, context_value=Context(pool=pool, request_id="r", principal=principal))
        assert result.errors is None
        assert result.data is not None
        assert len(result.data["calls"]["edges"]) == 20

    try:
        await operation()
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            # when it runs again
            await operation()
            gc.collect()
            garbage = [type(o).__qualname__ for o in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    finally:
        await pool.close()
    # then its rows, objects, loaders and context were freed as soon as it ended, none kept by a reference
    # cycle until a collection (a stepping closure that referred to itself once kept them all)
    kept = {"Record", "CallRow", "AgentRow", "Call", "Edge", "Context", "TenantSession", "CallByIdLoader"}
    assert kept.isdisjoint(garbage), sorted(set(garbage) & kept)
