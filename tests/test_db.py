"""Tenant isolation enforced by PostgreSQL itself, on the request path's role."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from gateway import db as dbmod
from gateway.errors import DatabaseRoleError
from gateway.settings import DEFAULT_APP_ROLE
from tests.conftest import TestDatabase
from tests.factories import make_agent, make_tenant

TENANT_TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'p')
  AND (c.relname = 'tenants'
       OR EXISTS (SELECT FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
ORDER BY c.relname
"""

ROLE_POWERS = """
SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb,
       (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) AS owned
FROM pg_roles r WHERE rolname = $1
"""


async def test_every_tenant_table_has_forced_row_level_security_and_a_policy(
    admin_conn: asyncpg.Connection,
) -> None:
    rows = await admin_conn.fetch(TENANT_TABLES)
    names = {r["relname"] for r in rows}
    assert {"tenants", "calls", "agents", "analytics_events", "analytics_events_default",
            "dashboard_widgets", "report_executions"} <= names
    unprotected = [r["relname"] for r in rows
                   if not (r["relrowsecurity"] and r["relforcerowsecurity"] and r["policies"] >= 1)]
    assert unprotected == []


async def test_every_table_but_the_migration_ledger_and_tenants_carries_tenant_id(
    admin_conn: asyncpg.Connection,
) -> None:
    tables = await admin_conn.fetch(
        "SELECT c.relname FROM pg_class c "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r','p') "
        "AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')")
    assert sorted(r["relname"] for r in tables) == ["schema_migrations", "tenants"]


@pytest.mark.parametrize("role", [DEFAULT_APP_ROLE, "callpulse_app"])
async def test_request_roles_cannot_bypass_row_level_security(admin_conn: asyncpg.Connection, role: str) -> None:
    powers = await admin_conn.fetchrow(ROLE_POWERS, role)
    assert powers is not None
    assert dict(powers) == {"rolsuper": False, "rolbypassrls": False, "rolcreaterole": False,
                            "rolcreatedb": False, "owned": 0}


async def test_gateway_refuses_a_superuser_as_request_role(database: TestDatabase) -> None:
    conn = await asyncpg.connect(database.admin_dsn)  # the test server's superuser
    try:
        with pytest.raises(DatabaseRoleError, match="superuser=True"):
            await dbmod.check_request_role(conn)
    finally:
        await conn.close()


@pytest.fixture
async def two_tenants(admin_conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    a = await make_tenant(admin_conn, "A")
    b = await make_tenant(admin_conn, "B")
    for i in range(3):
        await make_agent(admin_conn, a, f"a{i}")
    await make_agent(admin_conn, b, "b0")
    return a, b


async def test_query_without_tenant_filter_sees_only_the_sessions_tenant(
    database: TestDatabase, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, _ = two_tenants
    conn = await asyncpg.connect(database.app_dsn)
    try:
        async with conn.transaction():
            await conn.execute(dbmod.SET_TENANT, str(a))
            names = [r["name"] for r in await conn.fetch("SELECT name FROM agents ORDER BY name")]
            tenants = await conn.fetch("SELECT id FROM tenants")
        assert names == ["a0", "a1", "a2"]
        assert [r["id"] for r in tenants] == [a]
    finally:
        await conn.close()


async def test_without_a_tenant_set_queries_see_nothing(
    database: TestDatabase, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    conn = await asyncpg.connect(database.app_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM agents") == 0
        assert await conn.fetchval("SELECT count(*) FROM tenants") == 0
        # and the tenant set by an earlier transaction does not leak into the next one
        async with conn.transaction():
            await conn.execute(dbmod.SET_TENANT, str(two_tenants[0]))
        assert await conn.fetchval("SELECT count(*) FROM agents") == 0
    finally:
        await conn.close()


async def test_inserting_a_row_for_another_tenant_fails(
    database: TestDatabase, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, b = two_tenants
    conn = await asyncpg.connect(database.app_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with conn.transaction():
                await conn.execute(dbmod.SET_TENANT, str(a))
                await conn.execute(
                    "INSERT INTO agents (tenant_id, id, name, kind) VALUES ($1, gen_random_uuid(), 'x', 'ai')", b)
    finally:
        await conn.close()


async def test_updating_another_tenants_rows_changes_nothing(
    database: TestDatabase, admin_conn: asyncpg.Connection, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, b = two_tenants
    conn = await asyncpg.connect(database.app_dsn)
    try:
        async with conn.transaction():
            await conn.execute(dbmod.SET_TENANT, str(a))
            status = await conn.execute("UPDATE agents SET name = 'hijacked' WHERE tenant_id = $1", b)
        assert status == "UPDATE 0"
        assert await admin_conn.fetchval("SELECT name FROM agents WHERE tenant_id = $1", b) == "b0"
    finally:
        await conn.close()


async def test_request_role_cannot_create_tenants(database: TestDatabase) -> None:
    conn = await asyncpg.connect(database.app_dsn)
    try:
        new = uuid.uuid4()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute(dbmod.SET_TENANT, str(new))
                await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, 'sneaky')", new)
    finally:
        await conn.close()


async def test_tenant_session_rolls_back_everything_when_not_committed(
    database: TestDatabase, admin_conn: asyncpg.Connection, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, _ = two_tenants
    pool = await dbmod.create_pool(database.app_dsn, min_size=1, max_size=1)
    try:
        session = dbmod.TenantSession(pool, a)
        await session.execute("INSERT INTO teams (tenant_id, id, name) VALUES ($1, gen_random_uuid(), 'T')", a)
        assert await session.fetchval("SELECT count(*) FROM teams") == 1
        await session.close(commit=False)
        assert await admin_conn.fetchval("SELECT count(*) FROM teams") == 0
        committed = dbmod.TenantSession(pool, a)
        await committed.execute("INSERT INTO teams (tenant_id, id, name) VALUES ($1, gen_random_uuid(), 'T')", a)
        await committed.close(commit=True)
        assert await admin_conn.fetchval("SELECT count(*) FROM teams") == 1
    finally:
        await pool.close()


def test_dsn_with_swaps_user_and_database_and_keeps_the_socket_host() -> None:
    dsn = "postgresql://postgres:@/postgres?host=/tmp/pg data"
    assert dbmod.dsn_with(dsn, user="callpulse_gateway") == "postgresql://callpulse_gateway@/postgres?host=/tmp/pg data"
    assert dbmod.dsn_with("postgresql://u:p%40ss@h:5432/a", database="b") == "postgresql://u:p%40ss@h:5432/b"
    assert dbmod.dsn_with("postgresql://u:p@h/a", user="g", password="s/x") == "postgresql://g:s%2Fx@h/a"


async def test_a_request_path_operation_costs_two_round_trips_beyond_its_own_statements(
    database: TestDatabase, admin_conn: asyncpg.Connection, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    # given the request path's pool, logging every statement it sends (the pool's reset included)
    a, _ = two_tenants
    sent: list[str] = []
    pool = await dbmod.create_pool(database.app_dsn, min_size=1, max_size=1, request_path=True,
                                   query_logger=lambda logged: sent.append(logged.query))
    try:
        for budget in (None, 2.5):
            sent.clear()
            # when an operation reads through its session and commits
            session = dbmod.TenantSession(pool, a)
            if budget is not None:
                await session.limit_statements(budget)
            names = [r["name"] for r in await session.fetch("SELECT name FROM agents ORDER BY name")]
            timeout = await session.fetchval("SELECT current_setting('statement_timeout')")
            await session.close(commit=True)
            # then BEGIN and the tenant go together, COMMIT alone, and nothing is sent on release
            assert names == ["a0", "a1", "a2"]
            assert timeout == ("0" if budget is None else "2500ms")
            assert [q.split(";")[0] for q in sent] == ["BEGIN", "SELECT name FROM agents ORDER BY name",
                                                      "SELECT current_setting('statement_timeout')", "COMMIT"]
        # and the setting was the transaction's only: the connection's next transaction sees no tenant
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT current_setting('app.tenant_id', true)") in (None, "")
            assert await conn.fetchval("SELECT count(*) FROM agents") == 0
    finally:
        await pool.close()


async def test_a_connection_returned_mid_transaction_comes_back_rolled_back(
    database: TestDatabase, admin_conn: asyncpg.Connection, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    # given a request-path connection released while its transaction is still open (a COMMIT that never ran)
    a, _ = two_tenants
    pool = await dbmod.create_pool(database.app_dsn, min_size=1, max_size=1, request_path=True)
    try:
        conn = await pool.acquire()
        await conn.execute(dbmod.BEGIN_AS_TENANT.format(tenant=a))
        await conn.execute("INSERT INTO teams (tenant_id, id, name) VALUES ($1, gen_random_uuid(), 'T')", a)
        # when it goes back to the pool
        await pool.release(conn)
        # then the write is undone and the next user starts outside any transaction
        async with pool.acquire() as again:
            assert not again.is_in_transaction()
        assert await admin_conn.fetchval("SELECT count(*) FROM teams") == 0
    finally:
        await pool.close()
