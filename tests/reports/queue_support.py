"""What the queue, scheduler and worker tests share: pools on a fresh database, a tenant, and executions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from gateway import db as dbmod
from gateway.reports import queue
from gateway.reports.queue import NewExecution, Recipient, RecordedPrincipal
from tests.conftest import TestDatabase, _create, _drop, _test_database

ADMIN_PRINCIPAL = RecordedPrincipal(subject="00000000-0000-0000-0000-0000000000aa", roles=("admin",))


@dataclass
class QueueDatabase:
    database: TestDatabase
    pools: dbmod.Database
    tenant_id: uuid.UUID

    @property
    def admin(self) -> asyncpg.Pool:
        return self.pools.admin

    async def enqueue(self, *, report_type: str = "test_rows", params: dict[str, Any] | None = None,
                      output_format: str = "csv", recipients: tuple[Recipient, ...] = (),
                      report_id: uuid.UUID | None = None, delivery_mode: str = "always", max_attempts: int = 3,
                      principal: RecordedPrincipal = ADMIN_PRINCIPAL, **now: Any) -> uuid.UUID:
        async with self.admin.acquire() as conn:
            return await queue.enqueue(conn, NewExecution(
                tenant_id=self.tenant_id, report_type=report_type, output_format=output_format, principal=principal,
                params=params or {}, report_id=report_id, delivery_mode=delivery_mode, recipients=recipients),
                max_attempts=max_attempts, **now)

    async def row(self, execution_id: uuid.UUID) -> asyncpg.Record:
        async with self.admin.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM report_executions WHERE id = $1", execution_id)
        assert row is not None
        return row


async def add_tenant(conn: asyncpg.Connection | Any, timezone: str = "UTC") -> uuid.UUID:
    tenant_id = uuid.uuid4()
    await conn.execute("INSERT INTO tenants (id, name, timezone) VALUES ($1, $2, $3)", tenant_id,
                       f"Tenant {tenant_id.hex[:6]}", timezone)
    return tenant_id


# The queue tables of a module's database, emptied after each test: claims span tenants, so a test must not
# find another's executions.
QUEUE_TABLES = "report_deliveries, report_execution_chunks, report_executions, custom_reports"


@pytest.fixture(scope="module", name="queue_database")
async def queue_database_fixture(pg_server_dsn: str, template_database: str) -> AsyncIterator[TestDatabase]:
    """One migrated database for a module's tests (creating one per test costs more than the tests)."""
    name = f"cp_test_{uuid.uuid4().hex[:12]}"
    await _create(pg_server_dsn, name, template=template_database)
    yield _test_database(pg_server_dsn, name)
    await _drop(pg_server_dsn, name)


@pytest.fixture(scope="module", name="queue_pools")
async def queue_pools_fixture(queue_database: TestDatabase) -> AsyncIterator[dbmod.Database]:
    admin = await dbmod.create_pool(queue_database.admin_dsn, min_size=1, max_size=4)
    app = await dbmod.create_pool(queue_database.app_dsn, min_size=1, max_size=4)
    pools = dbmod.Database(admin=admin, app=app)
    yield pools
    await pools.close()


@pytest.fixture(name="qdb")
async def qdb_fixture(queue_database: TestDatabase, queue_pools: dbmod.Database) -> AsyncIterator[QueueDatabase]:
    """Both pools on the module's database, a new tenant (UTC), and empty queue tables."""
    tenant_id = await add_tenant(queue_pools.admin)
    yield QueueDatabase(database=queue_database, pools=queue_pools, tenant_id=tenant_id)
    await queue_pools.admin.execute(f"TRUNCATE {QUEUE_TABLES} CASCADE")
