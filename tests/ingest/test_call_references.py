"""calls' references are checked per statement (0006) for every writer: the platform's own SQL stays as safe as
with the foreign keys they replace, and rollups are folded in at commit only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.conftest import TestDatabase
from tests.factories import make_agent, make_tenant

INSERT_CALL = """
INSERT INTO calls (tenant_id, id, direction, agent_id, campaign_id, started_at, answered_at, ended_at, outcome)
VALUES ($1, $2, 'inbound', $3, $4, '2026-03-02T14:00:00Z', '2026-03-02T14:00:05Z', '2026-03-02T14:05:00Z',
        'connected')
"""
SET_TENANT = "SELECT set_config('app.tenant_id', $1, true)"


@pytest.fixture
async def platform(database: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    """The platform's own connection: the request role, as direct-SQL writers use it."""
    conn = await asyncpg.connect(database.app_dsn)
    yield conn
    await conn.close()


async def test_a_call_referencing_an_unknown_agent_is_refused(
    admin_conn: asyncpg.Connection, platform: asyncpg.Connection
) -> None:
    tenant = await make_tenant(admin_conn, "Acme")
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="agents"):
        async with platform.transaction():
            await platform.execute(SET_TENANT, str(tenant))
            await platform.execute(INSERT_CALL, tenant, uuid.uuid4(), uuid.uuid4(), None)
    assert await admin_conn.fetchval("SELECT count(*) FROM calls") == 0


async def test_a_call_cannot_reference_another_tenants_agent(
    admin_conn: asyncpg.Connection, platform: asyncpg.Connection
) -> None:
    tenant, other = await make_tenant(admin_conn, "Acme"), await make_tenant(admin_conn, "Other")
    foreign_agent = await make_agent(admin_conn, other, "Eve")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with platform.transaction():
            await platform.execute(SET_TENANT, str(tenant))
            await platform.execute(INSERT_CALL, tenant, uuid.uuid4(), foreign_agent, None)


async def test_a_call_referencing_an_unknown_campaign_is_refused_on_update_too(
    admin_conn: asyncpg.Connection, platform: asyncpg.Connection
) -> None:
    tenant = await make_tenant(admin_conn, "Acme")
    agent = await make_agent(admin_conn, tenant, "Ada")
    call = uuid.uuid4()
    async with platform.transaction():
        await platform.execute(SET_TENANT, str(tenant))
        await platform.execute(INSERT_CALL, tenant, call, agent, None)
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="campaigns"):
        async with platform.transaction():
            await platform.execute(SET_TENANT, str(tenant))
            await platform.execute("UPDATE calls SET campaign_id = $1 WHERE id = $2", uuid.uuid4(), call)


async def test_a_referenced_agent_can_be_neither_deleted_nor_rekeyed(
    admin_conn: asyncpg.Connection, platform: asyncpg.Connection
) -> None:
    tenant = await make_tenant(admin_conn, "Acme")
    agent = await make_agent(admin_conn, tenant, "Ada")
    async with platform.transaction():
        await platform.execute(SET_TENANT, str(tenant))
        await platform.execute(INSERT_CALL, tenant, uuid.uuid4(), agent, None)
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="agents"):
        await admin_conn.execute("DELETE FROM agents WHERE id = $1", agent)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await admin_conn.execute("UPDATE agents SET id = $1 WHERE id = $2", uuid.uuid4(), agent)
    # an unreferenced agent still goes
    idle = await make_agent(admin_conn, tenant, "Idle")
    await admin_conn.execute("DELETE FROM agents WHERE id = $1", idle)


async def test_rollups_are_folded_in_at_commit_and_nothing_stays_pending(
    admin_conn: asyncpg.Connection, platform: asyncpg.Connection
) -> None:
    tenant = await make_tenant(admin_conn, "Acme")
    agent = await make_agent(admin_conn, tenant, "Ada")
    async with platform.transaction():
        await platform.execute(SET_TENANT, str(tenant))
        await platform.execute(INSERT_CALL, tenant, uuid.uuid4(), agent, None)
        await platform.execute(INSERT_CALL, tenant, uuid.uuid4(), agent, None)
        # staged in the transaction, not yet in the rollups
        assert await platform.fetchval("SELECT count(*) FROM rollup_pending") == 2
        assert await platform.fetchval("SELECT count(*) FROM daily_reports") == 0
    assert await admin_conn.fetchval("SELECT calls_total FROM daily_reports WHERE tenant_id = $1", tenant) == 2
    assert await admin_conn.fetchval("SELECT calls_total FROM agent_metrics WHERE agent_id = $1", agent) == 2
    for table in ("rollup_pending", "rollup_funnel_pending", "rollup_flush_requests"):
        assert await admin_conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608


async def test_a_rebuild_in_the_writing_transaction_does_not_count_its_pending_deltas_twice(
    admin_conn: asyncpg.Connection,
) -> None:
    tenant = await make_tenant(admin_conn, "Acme")
    agent = await make_agent(admin_conn, tenant, "Ada")
    async with admin_conn.transaction():
        await admin_conn.execute(INSERT_CALL, tenant, uuid.uuid4(), agent, None)
        await admin_conn.execute("SELECT rollup_rebuild($1)", tenant)
    assert await admin_conn.fetchval("SELECT calls_total FROM daily_reports WHERE tenant_id = $1", tenant) == 1
