from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from gateway.errors import MigrationChecksumError
from gateway.migrations import load_migrations, migrate, migrations_dir, status
from tests.conftest import TestDatabase

TABLES = """
SELECT count(*) FROM pg_tables WHERE schemaname = 'public'
"""


async def test_migrate_from_empty_applies_every_file_and_records_it(empty_database: TestDatabase) -> None:
    conn = await asyncpg.connect(empty_database.admin_dsn)
    try:
        # when
        applied = await migrate(conn)
        # then
        expected = [m.version for m in load_migrations()]
        assert applied == expected
        ledger = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["checksum"]) for r in ledger] == [(m.version, m.checksum) for m in load_migrations()]
        assert (await status(conn)).current
        assert await conn.fetchval("SELECT to_regclass('public.calls') IS NOT NULL")
    finally:
        await conn.close()


async def test_migrate_twice_is_a_no_op(empty_database: TestDatabase) -> None:
    conn = await asyncpg.connect(empty_database.admin_dsn)
    try:
        await migrate(conn)
        tables_before = await conn.fetchval(TABLES)
        # when
        applied_again = await migrate(conn)
        # then
        assert applied_again == []
        assert await conn.fetchval(TABLES) == tables_before
    finally:
        await conn.close()


async def test_concurrent_migrations_apply_each_file_once(empty_database: TestDatabase) -> None:
    conns = [await asyncpg.connect(empty_database.admin_dsn) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in load_migrations()]
    finally:
        for c in conns:
            await c.close()


async def test_edited_applied_migration_is_refused_with_its_version(
    empty_database: TestDatabase, tmp_path: Path
) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), directory)
    conn = await asyncpg.connect(empty_database.admin_dsn)
    try:
        await migrate(conn, directory)
        first = sorted(directory.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
        # when / then
        with pytest.raises(MigrationChecksumError) as raised:
            await migrate(conn, directory)
        assert raised.value.version == first.name[:4]
        assert "edited after it was applied" in str(raised.value)
        with pytest.raises(MigrationChecksumError):
            await status(conn, directory)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_no_trace(empty_database: TestDatabase, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), directory)
    (directory / "9999_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();\n")
    conn = await asyncpg.connect(empty_database.admin_dsn)
    try:
        with pytest.raises(Exception, match="9999_broken"):
            await migrate(conn, directory)
        assert not await conn.fetchval("SELECT to_regclass('public.half_done') IS NOT NULL")
        assert not await conn.fetchval("SELECT EXISTS (SELECT FROM schema_migrations WHERE version = '9999')")
        assert (await status(conn, directory)).pending == ["9999"]
    finally:
        await conn.close()


async def test_default_partition_takes_far_future_events_and_moves_them_when_their_month_is_created(
    admin_conn: asyncpg.Connection,
) -> None:
    # given an event far in the future, before its month has a partition
    tenant = await admin_conn.fetchval(
        "INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'T') RETURNING id")
    await admin_conn.execute(
        "INSERT INTO analytics_events (tenant_id, id, occurred_at, event_type) "
        "VALUES ($1, gen_random_uuid(), '2071-03-04T05:06:07Z', 'track')", tenant)
    assert await admin_conn.fetchval("SELECT count(*) FROM analytics_events_default") == 1
    # when
    created = await admin_conn.fetchval("SELECT analytics_events_ensure_partition('2071-03-15T00:00:00Z')")
    # then
    assert created is True
    assert await admin_conn.fetchval("SELECT count(*) FROM analytics_events_default") == 0
    assert await admin_conn.fetchval("SELECT count(*) FROM analytics_events_p207103") == 1
    assert await admin_conn.fetchval("SELECT count(*) FROM analytics_events") == 1
