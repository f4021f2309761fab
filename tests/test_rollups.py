"""`callpulse rollups check` finds drift, `rebuild` repairs it, and a range rebuild touches only its days."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Final

import asyncpg
import pytest

from gateway import rollups
from gateway.metrics import COUNTERS, Counters, Metric, Scope, value
from tests.conftest import TestDatabase
from tests.factories import make_agent, make_tenant

CALL = """
INSERT INTO calls (tenant_id, id, direction, agent_id, started_at, answered_at, ended_at, talk_seconds, outcome)
VALUES ($1, gen_random_uuid(), 'inbound', $2, $3::timestamptz, $3::timestamptz + interval '5 seconds',
        $3::timestamptz + interval '2 minutes', 100,
        'connected')
"""


async def seeded(conn: asyncpg.Connection) -> uuid.UUID:
    tenant = await make_tenant(conn, "T", "America/New_York")
    agent = await make_agent(conn, tenant, "A")
    for moment in ("2026-03-07T15:00:00Z", "2026-03-08T15:00:00Z", "2026-03-09T03:30:00Z"):
        await conn.execute(CALL, tenant, agent, datetime.fromisoformat(moment))
    return tenant


async def test_check_is_clean_after_incremental_maintenance(admin_conn: asyncpg.Connection) -> None:
    tenant = await seeded(admin_conn)
    assert await rollups.check(admin_conn, tenant) == []


async def test_check_reports_drift_and_rebuild_repairs_it(admin_conn: asyncpg.Connection) -> None:
    tenant = await seeded(admin_conn)
    await admin_conn.execute("UPDATE daily_reports SET calls_total = 99 WHERE day = '2026-03-08'")
    await admin_conn.execute("DELETE FROM agent_metrics WHERE day = '2026-03-07'")
    # when
    differences = await rollups.check(admin_conn, tenant)
    # then
    calls_total = {(d.table, d.key[-1], d.stored, d.rebuilt) for d in differences if d.column == "calls_total"}
    assert calls_total == {("daily_reports", date(2026, 3, 8), 99, 2), ("agent_metrics", date(2026, 3, 7), None, 1)}
    assert await admin_conn.fetchval("SELECT calls_total FROM daily_reports WHERE day = '2026-03-08'") == 99
    await rollups.rebuild(admin_conn, tenant)
    assert await rollups.check(admin_conn, tenant) == []
    assert await admin_conn.fetchval("SELECT calls_total FROM daily_reports WHERE day = '2026-03-08'") == 2


async def test_a_rebuild_waits_for_writers_in_flight_and_counts_their_rows_once(
    database: TestDatabase, admin_conn: asyncpg.Connection
) -> None:
    tenant = await make_tenant(admin_conn, "T", "UTC")
    agent = await make_agent(admin_conn, tenant, "A")
    writer = await asyncpg.connect(database.app_dsn)
    try:
        # given a write in flight, not committed yet
        await writer.execute("BEGIN")
        await writer.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
        await writer.execute("INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at) "
                             "VALUES ($1, $2, 7, 'x', '2026-03-05T10:00:00Z')", tenant, agent)
        # when a rebuild starts, then the write commits
        rebuild = asyncio.create_task(rollups.rebuild(admin_conn, tenant))
        await asyncio.sleep(0.5)
        assert not rebuild.done()  # it waits for the writer
        await writer.execute("COMMIT")
        await asyncio.wait_for(rebuild, 10)
    finally:
        await writer.close()
    # then the points are counted once
    assert await admin_conn.fetchval("SELECT points FROM daily_reports WHERE tenant_id = $1", tenant) == 7
    assert await rollups.check(admin_conn, tenant) == []


async def test_a_range_rebuild_leaves_other_days_alone(admin_conn: asyncpg.Connection) -> None:
    tenant = await seeded(admin_conn)
    await admin_conn.execute("UPDATE daily_reports SET calls_total = 50")
    await rollups.rebuild(admin_conn, tenant, date(2026, 3, 8), date(2026, 3, 8))
    days = dict(await admin_conn.fetch("SELECT day, calls_total FROM daily_reports ORDER BY day"))
    # 03:30Z on the 9th is still the 8th in New York
    assert days == {date(2026, 3, 7): 50, date(2026, 3, 8): 2}


TRACKED: Final = """
SELECT (SELECT tracked_handle_seconds FROM daily_reports WHERE tenant_id = $1) AS daily,
       (SELECT sum(tracked_handle_seconds) FROM metrics_15m WHERE tenant_id = $1) AS quarters,
       (SELECT tracked_handle_seconds FROM agent_metrics WHERE tenant_id = $1 AND agent_id = $2) AS human,
       (SELECT tracked_handle_seconds FROM agent_metrics WHERE tenant_id = $1 AND agent_id = $3) AS ai
"""
HANDLED_CALL: Final = """
INSERT INTO calls (tenant_id, id, direction, agent_id, started_at, answered_at, ended_at, talk_seconds,
                   hold_seconds, wrap_up_seconds, outcome)
VALUES ($1, gen_random_uuid(), 'inbound', $2, '2026-03-05T10:00:00Z', '2026-03-05T10:00:10Z',
        '2026-03-05T10:05:10Z', $3, 20, 30, 'connected')
"""
PRESENCE: Final = """
INSERT INTO agent_status_intervals (tenant_id, agent_id, status, started_at, ended_at)
VALUES ($1, $2, 'available', '2026-03-05T09:00:00Z', '2026-03-05T10:00:10Z'),
       ($1, $2, 'busy', '2026-03-05T10:00:10Z', '2026-03-05T10:05:10Z'),
       ($1, $2, 'wrap_up', '2026-03-05T10:05:10Z', '2026-03-05T10:05:40Z'),
       ($1, $2, 'available', '2026-03-05T10:05:40Z', '2026-03-05T10:20:00Z')
"""


async def test_only_human_agents_handle_time_is_tracked_for_occupancy(admin_conn: asyncpg.Connection) -> None:
    # given a human and an AI agent with one call each, and the human's presence
    tenant = await make_tenant(admin_conn, "T", "UTC")
    human = await make_agent(admin_conn, tenant, "H")
    ai = await make_agent(admin_conn, tenant, "A", kind="ai")
    await admin_conn.execute(HANDLED_CALL, tenant, human, 250)
    await admin_conn.execute(HANDLED_CALL, tenant, ai, 600)
    await admin_conn.execute(PRESENCE, tenant, human)
    # then the tracked handle time is the human's 250 + 20 + 30 seconds, at every grain
    row = await admin_conn.fetchrow(TRACKED, tenant, human, ai)
    assert row is not None
    assert dict(row) == {"daily": 300, "quarters": 300, "human": 300, "ai": 0}
    stored = await admin_conn.fetchrow("SELECT * FROM daily_reports WHERE tenant_id = $1", tenant)
    assert stored is not None
    counters = Counters(**{c: stored[c] for c in COUNTERS})
    assert value(Metric.OCCUPANCY, counters, Scope.TENANT) == pytest.approx(300 / 4800)
    ai_row = await admin_conn.fetchrow("SELECT * FROM agent_metrics WHERE tenant_id = $1 AND agent_id = $2", tenant, ai)
    assert ai_row is not None
    assert value(Metric.OCCUPANCY, Counters(**{c: ai_row[c] for c in COUNTERS}), Scope.AGENT) is None
    assert await rollups.check(admin_conn, tenant) == []


async def test_an_agent_changing_kind_moves_its_handle_time_as_a_rebuild_would(
        database: TestDatabase, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant(admin_conn, "T", "UTC")
    human = await make_agent(admin_conn, tenant, "H")
    ai = await make_agent(admin_conn, tenant, "A", kind="ai")
    await admin_conn.execute(HANDLED_CALL, tenant, human, 250)
    await admin_conn.execute(HANDLED_CALL, tenant, ai, 600)
    # when they swap kinds in one statement, on the request path (row-level security applies)
    writer = await asyncpg.connect(database.app_dsn)
    try:
        async with writer.transaction():
            await writer.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
            await writer.execute("UPDATE agents SET kind = CASE kind WHEN 'human' THEN 'ai' ELSE 'human' END "
                                 "WHERE tenant_id = $1", tenant)
    finally:
        await writer.close()
    # then
    row = await admin_conn.fetchrow(TRACKED, tenant, human, ai)
    assert row is not None
    assert dict(row) == {"daily": 650, "quarters": 650, "human": 0, "ai": 650}
    assert await rollups.check(admin_conn, tenant) == []
    # and a rename leaves the counters alone
    await admin_conn.execute("UPDATE agents SET name = name || '!' WHERE tenant_id = $1", tenant)
    assert await rollups.check(admin_conn, tenant) == []
