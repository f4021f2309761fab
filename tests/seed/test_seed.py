from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

import asyncpg
import orjson
import pytest

from gateway.ingest.events import Event, parse_event
from gateway.seed import SeedOptions, SeedReport, seed_database
from gateway.seed._values import numeric, uuid4
from tests.conftest import TestDatabase

DatabaseFactory = Callable[[], Awaitable[TestDatabase]]

END: Final = date(2025, 3, 31)
# The size the test suite can afford everywhere: well under a second.
SMALL: Final = SeedOptions(tenants=2, days=3, agents=6, calls_per_day=50, seed=42, end_date=END)
# Three weeks is enough for leads to make it all the way to 'won'.
MEDIUM: Final = SeedOptions(tenants=2, days=21, agents=12, calls_per_day=120, seed=7, end_date=END)

# Every seeded table with its primary key: dumps are compared row by row in this order.
PRIMARY_KEYS: Final = {
    "tenants": "id",
    "teams": "tenant_id, id",
    "agents": "tenant_id, id",
    "users": "tenant_id, id",
    "team_managers": "tenant_id, team_id, user_id",
    "campaigns": "tenant_id, id",
    "campaign_spend": "tenant_id, campaign_id, day",
    "badges": "tenant_id, id",
    "leads": "tenant_id, id",
    "lead_stage_history": "tenant_id, id",
    "calls": "tenant_id, id",
    "tasks": "tenant_id, id",
    "agent_status_intervals": "tenant_id, agent_id, started_at",
    "agent_badges": "tenant_id, agent_id, badge_id, awarded_at",
    "points_ledger": "tenant_id, id",
    "analytics_events": "tenant_id, occurred_at, id",
    "analytics_event_ids": "tenant_id, id",
}
# Table names and keys come from the constant above, never from input: no injection. A row's writer transaction
# (calls.writer_xid, for liveCalls cursors) is bookkeeping that differs between any two loads: not compared.
DUMP: Final = {
    table: f"SELECT count(*), coalesce(md5(string_agg((to_jsonb(x) - 'writer_xid')::text, E'\\n' "  # noqa: S608
           f"ORDER BY {keys})), '') FROM {table} AS x"
    for table, keys in PRIMARY_KEYS.items()
}
COUNT: Final = {table: f"SELECT count(*) FROM {table}" for table in PRIMARY_KEYS}  # noqa: S608

ADMINS: Final = """
SELECT t.id, u.id AS user_id
FROM tenants t JOIN users u ON u.tenant_id = t.id AND u.role = 'admin'
ORDER BY t.id
"""
HUMANS_WITHOUT_ONE_AGENT_USER: Final = """
SELECT a.tenant_id, a.id
FROM agents a
LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.agent_id = a.id AND u.role = 'agent'
WHERE a.kind = 'human'
GROUP BY a.tenant_id, a.id
HAVING count(u.id) <> 1
"""
AGENT_USERS_NOT_LINKED_TO_A_HUMAN: Final = """
SELECT u.tenant_id, u.id
FROM users u LEFT JOIN agents a ON a.tenant_id = u.tenant_id AND a.id = u.agent_id
WHERE u.role = 'agent' AND (a.id IS NULL OR a.kind <> 'human')
"""
TEAMS_WITHOUT_MANAGER: Final = """
SELECT t.tenant_id, t.id
FROM teams t
WHERE NOT EXISTS (SELECT FROM team_managers m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
                  WHERE m.tenant_id = t.tenant_id AND m.team_id = t.id AND u.role = 'manager')
"""
LEADS_WHOSE_OPEN_STAY_IS_NOT_THEIR_STAGE: Final = """
SELECT l.tenant_id, l.id, l.stage, array_agg(h.stage) FILTER (WHERE h.exited_at IS NULL) AS open_stays
FROM leads l JOIN lead_stage_history h ON h.tenant_id = l.tenant_id AND h.lead_id = l.id
GROUP BY l.tenant_id, l.id, l.stage
HAVING count(*) FILTER (WHERE h.exited_at IS NULL) <> 1
    OR bool_or(h.exited_at IS NULL AND h.stage <> l.stage)
"""
BROKEN_STAY_CHAINS: Final = """
SELECT tenant_id, lead_id, stage, exited_at, next_stage, following_stage, following_entered
FROM (SELECT h.*,
             lead(h.stage) OVER w AS following_stage,
             lead(h.entered_at) OVER w AS following_entered,
             row_number() OVER w AS n
      FROM lead_stage_history h
      WINDOW w AS (PARTITION BY h.tenant_id, h.lead_id ORDER BY h.entered_at, h.id)) AS s
WHERE exited_at IS DISTINCT FROM following_entered
   OR next_stage IS DISTINCT FROM following_stage
   OR (n = 1 AND stage <> 'new')
"""
LEADS_OUT_OF_STEP_WITH_HISTORY: Final = """
SELECT l.tenant_id, l.id
FROM leads l
JOIN lead_stage_history first ON first.tenant_id = l.tenant_id AND first.lead_id = l.id AND first.stage = 'new'
LEFT JOIN lead_stage_history won ON won.tenant_id = l.tenant_id AND won.lead_id = l.id AND won.stage = 'won'
WHERE first.entered_at <> l.created_at
   OR (l.stage = 'won') <> (l.converted_at IS NOT NULL)
   OR won.entered_at IS DISTINCT FROM l.converted_at
   OR won.value IS DISTINCT FROM (CASE WHEN l.stage = 'won' THEN l.value END)
   OR (l.stage = 'won' AND l.value <= 0)
"""
WINS: Final = "SELECT count(*) FROM leads WHERE stage = 'won'"
CONVERTED_CALLS_THAT_ARE_NOT_A_WIN: Final = """
SELECT c.tenant_id, c.id
FROM calls c
LEFT JOIN leads l ON l.tenant_id = c.tenant_id AND l.id = c.lead_id
LEFT JOIN lead_stage_history h ON h.tenant_id = c.tenant_id AND h.lead_id = c.lead_id AND h.stage = 'won'
WHERE c.disposition = 'converted'
  AND (l.id IS NULL OR l.stage <> 'won' OR l.converted_at <> c.ended_at OR h.agent_id <> c.agent_id)
"""
WINS_WITHOUT_A_CONVERTED_CALL: Final = """
SELECT l.tenant_id, l.id
FROM leads l
WHERE l.stage = 'won'
  AND NOT EXISTS (SELECT FROM calls c WHERE c.tenant_id = l.tenant_id AND c.lead_id = l.id
                  AND c.disposition = 'converted' AND c.ended_at = l.converted_at)
"""
CALLS_WITH_INCONSISTENT_TIMES_OR_OUTCOME: Final = """
SELECT c.*
FROM calls c
WHERE NOT (
    c.started_at <= coalesce(c.answered_at, c.started_at)
    AND coalesce(c.answered_at, c.started_at) <= c.ended_at
    AND c.created_at = c.ended_at
    AND (c.answered_at IS NULL
         OR c.ended_at = c.answered_at + make_interval(secs => c.talk_seconds + c.hold_seconds))
    AND (c.answered_at IS NULL) = (c.outcome <> 'connected')
    AND (c.disposition IS NULL OR c.outcome = 'connected')
    AND c.abandoned = (c.outcome = 'abandoned')
    AND (NOT c.abandoned OR (c.direction = 'inbound' AND c.agent_id IS NULL))
    AND (c.agent_id IS NOT NULL OR c.outcome IN ('abandoned', 'failed'))
    AND (NOT c.first_contact_resolution OR c.disposition = 'resolved')
    AND (c.csat_rating IS NULL) = (c.csat_submitted_at IS NULL)
    AND (c.csat_rating IS NULL OR c.outcome = 'connected')
    AND coalesce(c.csat_submitted_at >= c.ended_at, true)
    AND (c.talk_seconds = 0 OR c.outcome = 'connected')
)
"""
CALL_MIX: Final = """
SELECT count(*) FILTER (WHERE direction = 'inbound') AS inbound,
       count(*) FILTER (WHERE direction = 'outbound') AS outbound,
       count(*) FILTER (WHERE abandoned) AS abandoned,
       count(*) FILTER (WHERE csat_rating IS NOT NULL) AS rated,
       count(*) FILTER (WHERE lead_id IS NOT NULL) AS for_leads,
       count(*) FILTER (WHERE direction = 'outbound' AND campaign_id IS NOT NULL) AS outbound_in_campaigns
FROM calls
"""
OVERLAPPING_HUMAN_CALLS: Final = """
SELECT c.tenant_id, c.agent_id, c.id
FROM (SELECT c.*, coalesce(c.answered_at, c.started_at) AS busy_from,
             lag(c.ended_at + make_interval(secs => c.wrap_up_seconds))
                 OVER (PARTITION BY c.tenant_id, c.agent_id ORDER BY coalesce(c.answered_at, c.started_at), c.id)
                 AS previous_busy_until
      FROM calls c JOIN agents a ON a.tenant_id = c.tenant_id AND a.id = c.agent_id
      WHERE a.kind = 'human') AS c
WHERE c.busy_from < c.previous_busy_until
"""
BROKEN_PRESENCE: Final = """
SELECT tenant_id, agent_id, started_at
FROM (SELECT s.*, lead(s.started_at) OVER w AS following_start, lead(s.status) OVER w AS following_status
      FROM agent_status_intervals s
      WINDOW w AS (PARTITION BY s.tenant_id, s.agent_id ORDER BY s.started_at)) AS s
WHERE ended_at IS DISTINCT FROM following_start OR status = following_status
"""
AGENTS_WITHOUT_ONE_OPEN_PRESENCE: Final = """
SELECT a.tenant_id, a.id
FROM agents a LEFT JOIN agent_status_intervals s
    ON s.tenant_id = a.tenant_id AND s.agent_id = a.id AND s.ended_at IS NULL
GROUP BY a.tenant_id, a.id
HAVING count(s.started_at) <> 1
"""
TASKS_WITH_INCONSISTENT_STATUS: Final = """
SELECT * FROM tasks
WHERE completed_at < created_at OR updated_at < created_at
   OR (status = 'completed' AND updated_at <> completed_at)
"""
TENANT_OFFSETS: Final = """
SELECT t.name, t.timezone, z.utc_offset
FROM tenants t JOIN pg_timezone_names z ON z.name = t.timezone
ORDER BY t.name
"""
NUMERIC_SEND: Final = "SELECT numeric_send($1::text::numeric)"
NUMERICS: Final = (
    (0, 2), (1, 2), (99, 2), (100, 2), (123_456, 2), (100_000_000, 2), (100_000_007, 2),
    (0, 4), (1, 4), (10_000, 4), (12_345_678, 4), (99_990_000, 4), (5_000_000_000_000, 4),
)
INSERT_POINTS: Final = """
INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at)
SELECT tenant_id, id, 1, 'after the seed', now() FROM agents WHERE tenant_id = $1 LIMIT 1
RETURNING id
"""
MAX_POINTS_ID: Final = "SELECT max(id) FROM points_ledger"
SET_TENANT: Final = "SELECT set_config('app.tenant_id', $1::text, false)"
NOW: Final = "SELECT now()"
A_NUMERIC: Final = "SELECT 1.25::numeric"
# What a non-superuser table owner goes through: forced row-level security, no BYPASSRLS. callpulse_app has
# the request path's privileges; the maintenance path also inserts tenants and moves identity sequences.
ACT_AS_ROLE_UNDER_RLS: Final = (
    "GRANT INSERT ON tenants TO callpulse_app",
    "GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO callpulse_app",
    "SET ROLE callpulse_app",
)


# Every seeded moment; a seed never goes past its `now`.
MOMENTS: Final = (
    ("tenants", "created_at"), ("tenants", "updated_at"), ("teams", "created_at"), ("agents", "created_at"),
    ("users", "created_at"), ("campaigns", "created_at"), ("campaigns", "updated_at"),
    ("campaign_spend", "created_at"), ("badges", "created_at"), ("leads", "created_at"), ("leads", "updated_at"),
    ("leads", "converted_at"), ("leads", "score_updated_at"), ("lead_stage_history", "entered_at"),
    ("lead_stage_history", "exited_at"), ("calls", "started_at"), ("calls", "answered_at"), ("calls", "ended_at"),
    ("calls", "created_at"), ("calls", "csat_submitted_at"), ("tasks", "created_at"), ("tasks", "updated_at"),
    ("tasks", "completed_at"), ("agent_status_intervals", "started_at"), ("agent_status_intervals", "ended_at"),
    ("agent_badges", "awarded_at"), ("points_ledger", "awarded_at"), ("analytics_events", "occurred_at"),
    ("analytics_events", "received_at"), ("analytics_event_ids", "occurred_at"),
    ("analytics_event_ids", "received_at"),
)
# Table and column names come from the constant above: no injection.
LATEST: Final = {(t, c): f"SELECT max({c}) FROM {t}" for t, c in MOMENTS}  # noqa: S608
LOCAL_DAYS_OF_CALLS: Final = """
SELECT t.name, min((c.started_at AT TIME ZONE t.timezone)::date) AS first,
       max((c.started_at AT TIME ZONE t.timezone)::date) AS last,
       max(c.ended_at) AS last_ended,
       count(*) FILTER (WHERE (c.started_at AT TIME ZONE t.timezone)::date = $1) AS on_the_last_day,
       max(c.ended_at) < (($1 + 1)::timestamp AT TIME ZONE min(t.timezone)) AS within_the_last_day
FROM calls c JOIN tenants t ON t.id = c.tenant_id
GROUP BY t.name ORDER BY t.name
"""
TRACK_RECORDS: Final = """
SELECT e.payload::text AS payload, e.name, e.category, e.user_id, i.payload_sha256,
       u.id IS NOT NULL AS known_user
FROM analytics_events e
JOIN analytics_event_ids i ON i.tenant_id = e.tenant_id AND i.id = e.id AND i.occurred_at = e.occurred_at
LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id
WHERE e.event_type = 'track'
ORDER BY e.occurred_at, e.id
LIMIT 500
"""
TRACK_CATEGORIES: Final = "SELECT DISTINCT category FROM analytics_events ORDER BY category"
# Mid-afternoon in Berlin, half past ten in New York, eight in the evening in Kolkata.
PRESENT: Final = datetime(2025, 3, 31, 14, 30, tzinfo=UTC)
TODAY: Final = SeedOptions(tenants=3, days=3, agents=8, calls_per_day=200, seed=42, now=PRESENT)


@asynccontextmanager
async def connected(database: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database.admin_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def seeded(make: DatabaseFactory, options: SeedOptions, *, connections: int = 1,
                 under_rls: bool = False) -> tuple[TestDatabase, SeedReport]:
    database = await make()
    conns = [await asyncpg.connect(database.admin_dsn) for _ in range(connections)]
    try:
        if under_rls:
            for conn in conns:
                for statement in ACT_AS_ROLE_UNDER_RLS:
                    await conn.execute(statement)
        report = await seed_database(conns[0], options, extra_connections=conns[1:])
    finally:
        for conn in conns:
            await conn.close()
    return database, report


async def dump(database: TestDatabase) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the rows in primary-key order) per seeded table, read as the superuser."""
    dumped = {}
    async with connected(database) as conn:
        for table, sql in DUMP.items():
            row = await conn.fetchrow(sql)
            assert row is not None
            dumped[table] = (row[0], row[1])
    return dumped


async def test_same_options_dump_identically_and_another_seed_differs(database_factory: DatabaseFactory) -> None:
    # given
    first, _ = await seeded(database_factory, MEDIUM)
    parallel, _ = await seeded(database_factory, MEDIUM, connections=2)
    other, _ = await seeded(database_factory, replace(MEDIUM, seed=8))
    # when
    dumps = [await dump(first), await dump(parallel), await dump(other)]
    # then
    assert all(rows > 0 for rows, _ in dumps[0].values())
    assert dumps[0] == dumps[1]
    assert dumps[2]["calls"] != dumps[0]["calls"]
    assert dumps[2]["tenants"] != dumps[0]["tenants"]


async def test_a_role_under_forced_row_level_security_seeds_the_same_rows(
        database_factory: DatabaseFactory) -> None:
    # given
    owner, owner_report = await seeded(database_factory, SMALL)
    # when
    restricted, restricted_report = await seeded(database_factory, SMALL, under_rls=True)
    # then
    assert restricted_report.rows == owner_report.rows
    assert await dump(restricted) == await dump(owner)


async def test_report_rows_match_the_tables(database_factory: DatabaseFactory) -> None:
    database, report = await seeded(database_factory, SMALL)
    async with connected(database) as conn:
        counts = {table: await conn.fetchval(sql) for table, sql in COUNT.items()}
    assert report.rows == counts
    assert report.seconds > 0
    assert report.rows_per_second == pytest.approx(sum(counts.values()) / report.seconds)
    assert [t.name for t in report.tenants] == ["Acme Support", "Globex Sales"]


async def test_every_tenant_has_its_admin_and_agent_users_are_linked(database_factory: DatabaseFactory) -> None:
    database, report = await seeded(database_factory, SMALL)
    async with connected(database) as conn:
        admins = [(r["id"], r["user_id"]) for r in await conn.fetch(ADMINS)]
        assert admins == sorted((t.id, t.admin_user_id) for t in report.tenants)
        assert await conn.fetch(HUMANS_WITHOUT_ONE_AGENT_USER) == []
        assert await conn.fetch(AGENT_USERS_NOT_LINKED_TO_A_HUMAN) == []
        assert await conn.fetch(TEAMS_WITHOUT_MANAGER) == []


async def test_stage_history_agrees_with_leads(database_factory: DatabaseFactory) -> None:
    database, _ = await seeded(database_factory, MEDIUM)
    async with connected(database) as conn:
        assert await conn.fetchval(WINS) > 0
        assert await conn.fetch(LEADS_WHOSE_OPEN_STAY_IS_NOT_THEIR_STAGE) == []
        assert await conn.fetch(BROKEN_STAY_CHAINS) == []
        assert await conn.fetch(LEADS_OUT_OF_STEP_WITH_HISTORY) == []


async def test_a_converted_call_is_exactly_its_lead_being_won(database_factory: DatabaseFactory) -> None:
    database, _ = await seeded(database_factory, MEDIUM)
    async with connected(database) as conn:
        assert await conn.fetch(CONVERTED_CALLS_THAT_ARE_NOT_A_WIN) == []
        assert await conn.fetch(WINS_WITHOUT_A_CONVERTED_CALL) == []


async def test_call_times_are_ordered_and_outcomes_consistent(database_factory: DatabaseFactory) -> None:
    database, _ = await seeded(database_factory, MEDIUM)
    async with connected(database) as conn:
        assert await conn.fetch(CALLS_WITH_INCONSISTENT_TIMES_OR_OUTCOME) == []
        mix = await conn.fetchrow(CALL_MIX)
    assert mix is not None
    assert mix["inbound"] > mix["outbound"] > 0
    assert 0 < mix["abandoned"] < mix["inbound"] * 0.2
    assert mix["rated"] > 0
    assert mix["for_leads"] > 0
    assert mix["outbound_in_campaigns"] > mix["outbound"] / 2


async def test_human_agents_take_one_call_at_a_time_and_presence_is_contiguous(
        database_factory: DatabaseFactory) -> None:
    database, _ = await seeded(database_factory, MEDIUM)
    async with connected(database) as conn:
        assert await conn.fetch(OVERLAPPING_HUMAN_CALLS) == []
        assert await conn.fetch(BROKEN_PRESENCE) == []
        assert await conn.fetch(AGENTS_WITHOUT_ONE_OPEN_PRESENCE) == []
        assert await conn.fetch(TASKS_WITH_INCONSISTENT_STATUS) == []


async def test_one_tenant_lives_on_a_non_whole_hour_utc_offset(database_factory: DatabaseFactory) -> None:
    database, report = await seeded(database_factory, SMALL)
    async with connected(database) as conn:
        offsets = await conn.fetch(TENANT_OFFSETS)
    assert len({r["timezone"] for r in offsets}) == len(report.tenants)
    assert any(r["utc_offset"].total_seconds() % 3600 for r in offsets)


async def test_identity_sequences_continue_after_the_seeded_ids(database_factory: DatabaseFactory) -> None:
    database, report = await seeded(database_factory, SMALL)
    async with connected(database) as conn:
        seeded_max = await conn.fetchval(MAX_POINTS_ID)
        await conn.execute(SET_TENANT, str(report.tenants[0].id))
        new_id = await conn.fetchval(INSERT_POINTS, report.tenants[0].id)
    assert new_id > seeded_max


async def test_the_connection_gets_its_own_codecs_back(database_factory: DatabaseFactory) -> None:
    database = await database_factory()
    async with connected(database) as conn:
        await seed_database(conn, SMALL)
        assert isinstance(await conn.fetchval(NOW), datetime)
        assert await conn.fetchval(A_NUMERIC) == Decimal("1.25")


async def test_seeding_the_same_tenants_twice_fails_and_changes_nothing(database_factory: DatabaseFactory) -> None:
    # given
    database, report = await seeded(database_factory, SMALL)
    before = await dump(database)
    async with connected(database) as conn:
        # when
        with pytest.raises(asyncpg.UniqueViolationError):
            await seed_database(conn, SMALL)
        # then
        assert await conn.fetchval(A_NUMERIC) == Decimal("1.25")
    assert await dump(database) == before
    assert before["tenants"][0] == len(report.tenants)


async def test_numeric_values_are_encoded_as_postgresql_sends_them(database_factory: DatabaseFactory) -> None:
    database = await database_factory()
    async with connected(database) as conn:
        for units, scale in NUMERICS:
            text = f"{units // 10 ** scale}.{units % 10 ** scale:0{scale}d}"
            assert numeric(units, scale) == await conn.fetchval(NUMERIC_SEND, text), text


async def test_a_seed_of_today_ends_at_its_now_and_fills_the_day_up_to_it(
        database_factory: DatabaseFactory) -> None:
    # given a seed whose last day is today, in each tenant's zone
    first, _ = await seeded(database_factory, TODAY)
    again, _ = await seeded(database_factory, TODAY)
    async with connected(first) as conn:
        latest = {key: await conn.fetchval(sql) for key, sql in LATEST.items()}
        days = await conn.fetch(LOCAL_DAYS_OF_CALLS, PRESENT.date())
    # then nothing comes after now, today is seeded up to it, and the same `now` gives the same rows
    assert {key: at for key, at in latest.items() if at is not None and at > PRESENT} == {}
    assert [(r["name"], r["first"], r["last"]) for r in days] == [
        (name, PRESENT.date() - timedelta(days=2), PRESENT.date())
        for name in ("Acme Support", "Globex Sales", "Initech Care")]
    assert all(r["on_the_last_day"] > 10 and r["last_ended"] > PRESENT - timedelta(hours=1) for r in days), days
    assert await dump(again) == await dump(first)


async def test_an_explicit_end_date_in_the_past_ends_with_that_day(database_factory: DatabaseFactory) -> None:
    database, _ = await seeded(database_factory, SMALL)
    async with connected(database) as conn:
        days = await conn.fetch(LOCAL_DAYS_OF_CALLS, END)
    assert [(r["first"], r["last"], r["within_the_last_day"]) for r in days] == [
        (END - timedelta(days=2), END, True)] * 2


async def test_track_events_are_recorded_as_the_ingestion_path_records_them(
        database_factory: DatabaseFactory) -> None:
    database, _ = await seeded(database_factory, SMALL)
    async with connected(database) as conn:
        records = await conn.fetch(TRACK_RECORDS)
        categories = [r["category"] for r in await conn.fetch(TRACK_CATEGORIES)]
    assert len(records) > 50
    assert categories == ["action", "conversion", "page_view"]
    for r in records:
        event = parse_event(0, orjson.loads(r["payload"]))
        assert isinstance(event, Event)
        # a resent seeded event would be a duplicate, not a conflict
        assert event.sha256 == r["payload_sha256"]
        assert (event.data["name"], event.data["category"], uuid.UUID(event.data["user_id"])) == (
            r["name"], r["category"], r["user_id"])
        assert r["known_user"]


def test_ids_are_version_4_uuids_drawn_from_the_generator() -> None:
    for seed in range(20):
        assert uuid4(random.Random(seed)) == uuid.UUID(int=random.Random(seed).getrandbits(128), version=4)


@pytest.mark.parametrize("bad", [
    {"tenants": 0}, {"days": 0}, {"agents": 0}, {"agents": 70_000}, {"calls_per_day": -1},
    {"now": datetime(2025, 3, 31, 12)},
])
def test_options_out_of_range_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        SeedOptions(**bad)  # type: ignore[arg-type]


def test_the_public_api_is_all() -> None:
    import gateway.seed

    assert sorted(gateway.seed.__all__) == ["SeedOptions", "SeedReport", "SeededTenant", "seed_database"]
    assert all(hasattr(gateway.seed, name) for name in gateway.seed.__all__)
