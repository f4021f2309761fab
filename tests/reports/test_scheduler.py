"""Cron schedules in the tenant's timezone: due slots across both DST changes, missed slots, idempotent enqueueing.

Berlin 2025: clocks jump 02:00 → 03:00 on 30 March and fall 03:00 → 02:00 on 26 October.
New York 2025: 02:00 → 03:00 on 9 March, 02:00 → 01:00 on 2 November.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway import clock
from gateway.db import TenantSession
from gateway.errors import BadUserInput
from gateway.reports import store
from gateway.reports.queue import RecordedPrincipal
from gateway.reports.scheduler import due_slot, enqueue_due, next_slot, validate_cron
from gateway.reports.store import ReportDefinition
from tests.reports.queue_support import (  # noqa: F401  (fixtures)
    QueueDatabase,
    add_tenant,
    qdb_fixture,
    queue_database_fixture,
    queue_pools_fixture,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def at(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *,
       fold: int = 0) -> datetime:
    """A local wall-clock time in `zone`, as an aware datetime (fold=1: the second of a repeated hour)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone), fold=fold)


def local(instant: datetime | None, zone: str) -> str | None:
    return None if instant is None else instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def slots(expression: str, zone: str, after: datetime, count: int) -> list[str | None]:
    found = []
    for _ in range(count):
        after = next_slot(expression, zone, after=after)
        found.append(local(after, zone))
    return found


# The pure part ---------------------------------------------------------------------------------------------


def test_a_daily_slot_follows_the_wall_clock_not_utc_across_spring_forward() -> None:
    assert slots("0 9 * * *", BERLIN, at(BERLIN, 2025, 3, 29, 12), 2) == [
        "2025-03-30 09:00 CEST", "2025-03-31 09:00 CEST"]
    assert slots("0 9 * * *", BERLIN, at(BERLIN, 2025, 3, 29, 0), 1) == ["2025-03-29 09:00 CET"]


def test_a_slot_in_the_skipped_hour_runs_at_the_end_of_the_gap() -> None:
    assert slots("30 2 * * *", BERLIN, at(BERLIN, 2025, 3, 29, 12), 2) == [
        "2025-03-30 03:00 CEST", "2025-03-31 02:30 CEST"]
    assert slots("30 2 * * *", NEW_YORK, at(NEW_YORK, 2025, 3, 8, 12), 2) == [
        "2025-03-09 03:00 EDT", "2025-03-10 02:30 EDT"]


def test_several_slots_in_the_skipped_hour_are_one_slot_at_its_end() -> None:
    # 02:00, 02:15, 02:30, 02:45 do not exist that night: one run at 03:00, then on as usual.
    assert slots("*/15 * * * *", BERLIN, at(BERLIN, 2025, 3, 30, 1, 40), 4) == [
        "2025-03-30 01:45 CET", "2025-03-30 03:00 CEST", "2025-03-30 03:15 CEST", "2025-03-30 03:30 CEST"]


def test_a_slot_in_the_repeated_hour_runs_once_at_its_first_occurrence() -> None:
    assert slots("30 2 * * *", BERLIN, at(BERLIN, 2025, 10, 25, 12), 2) == [
        "2025-10-26 02:30 CEST", "2025-10-27 02:30 CET"]
    assert slots("30 1 * * *", NEW_YORK, at(NEW_YORK, 2025, 11, 1, 12), 2) == [
        "2025-11-02 01:30 EDT", "2025-11-03 01:30 EST"]
    # hourly: 02:00 summer time is the repeated hour's run; the next is 03:00 winter time
    assert slots("0 * * * *", BERLIN, at(BERLIN, 2025, 10, 26, 1, 30), 3) == [
        "2025-10-26 02:00 CEST", "2025-10-26 03:00 CET", "2025-10-26 04:00 CET"]


def test_nothing_of_the_repeated_hour_runs_again_in_its_second_pass() -> None:
    ran = at(BERLIN, 2025, 10, 26, 2, 45)  # the last quarter of the first pass
    for minutes in (5, 20, 35, 50):
        now = at(BERLIN, 2025, 10, 26, 2, minutes, fold=1)
        assert due_slot("*/15 * * * *", BERLIN, after=ran, now=now) is None
    assert local(due_slot("*/15 * * * *", BERLIN, after=ran, now=at(BERLIN, 2025, 10, 26, 3, 1)), BERLIN) == \
        "2025-10-26 03:00 CET"


def test_the_due_slot_is_the_latest_missed_one_only() -> None:
    # Down from Monday 08:00 to Friday 10:00: the week's runs were missed; only Friday's runs now.
    after = at(BERLIN, 2025, 6, 2, 8)
    now = at(BERLIN, 2025, 6, 6, 10)
    assert local(due_slot("0 9 * * *", BERLIN, after=after, now=now), BERLIN) == "2025-06-06 09:00 CEST"
    # missed across the repeated hour, seen from its second pass: the latest instant, 02:45 summer time
    assert local(due_slot("*/15 * * * *", BERLIN, after=at(BERLIN, 2025, 10, 26, 1),
                          now=at(BERLIN, 2025, 10, 26, 2, 20, fold=1)), BERLIN) == "2025-10-26 02:45 CEST"


def test_a_slot_is_due_at_its_instant_and_not_a_second_before() -> None:
    after = at(BERLIN, 2025, 6, 1)
    assert due_slot("0 9 * * *", BERLIN, after=after, now=at(BERLIN, 2025, 6, 2, 8, 59, 59)) == \
        at(BERLIN, 2025, 6, 1, 9).astimezone(UTC)
    assert due_slot("0 9 * * *", BERLIN, after=at(BERLIN, 2025, 6, 1, 9), now=at(BERLIN, 2025, 6, 2, 8, 59, 59)) \
        is None
    assert due_slot("0 9 * * *", BERLIN, after=after, now=at(BERLIN, 2025, 6, 2, 9)) == \
        at(BERLIN, 2025, 6, 2, 9).astimezone(UTC)


def test_schedules_must_be_five_field_cron_expressions() -> None:
    assert validate_cron("  0  8 * *   1 ") == "0 8 * * 1"
    assert validate_cron("@daily") == "@daily"
    for bad in ("0 8 * *", "0 0 8 * * 1", "61 * * * *", "every day", ""):
        with pytest.raises(BadUserInput):
            validate_cron(bad)


# The database part -----------------------------------------------------------------------------------------


async def _schedule(qdb: QueueDatabase, cron: str, since: datetime, tenant_id: uuid.UUID | None = None,
                    creator: RecordedPrincipal | None = None) -> uuid.UUID:
    session = TenantSession(qdb.pools.app, tenant_id or qdb.tenant_id)
    try:
        report = await store.create_report(
            session, creator or RecordedPrincipal(subject="svc-admin", roles=("admin",)),
            ReportDefinition(name="Daily", report_type="agent_performance", output_format="pdf",
                             params={"range": {"preset": "YESTERDAY"}}, schedule_cron=cron), since)
    finally:
        await session.close(commit=True)
    return report.id


async def _executions(qdb: QueueDatabase, report_id: uuid.UUID) -> list[tuple[str | None, str]]:
    async with qdb.admin.acquire() as conn:
        rows = await conn.fetch("SELECT scheduled_slot, status, principal FROM report_executions "
                                "WHERE report_id = $1 ORDER BY scheduled_slot", report_id)
    return [(local(r["scheduled_slot"], BERLIN), r["status"]) for r in rows]


@pytest.fixture
async def berlin(qdb: QueueDatabase) -> uuid.UUID:
    async with qdb.admin.acquire() as conn:
        return await add_tenant(conn, BERLIN)


async def test_a_due_slot_is_enqueued_once_however_often_the_schedulers_look(qdb: QueueDatabase,
                                                                            berlin: uuid.UUID) -> None:
    report = await _schedule(qdb, "30 2 * * *", at(BERLIN, 2025, 3, 29, 12), berlin)
    async with qdb.admin.acquire() as conn:
        with clock.frozen(at(BERLIN, 2025, 3, 30, 3, 0, 30)):
            first = await enqueue_due(conn, max_attempts=3)
            # a second scheduler, the same minute
            again = await enqueue_due(conn, max_attempts=3)
    assert [(e.report_id, local(e.slot, BERLIN)) for e in first] == [(report, "2025-03-30 03:00 CEST")]
    assert again == []
    assert await _executions(qdb, report) == [("2025-03-30 03:00 CEST", "pending")]


async def test_enqueueing_a_slot_that_already_has_its_execution_adds_nothing(qdb: QueueDatabase,
                                                                           berlin: uuid.UUID) -> None:
    report = await _schedule(qdb, "0 9 * * *", at(BERLIN, 2025, 6, 1), berlin)
    async with qdb.admin.acquire() as conn:
        with clock.frozen(at(BERLIN, 2025, 6, 1, 9, 0, 10)):
            await enqueue_due(conn, max_attempts=3)
        # the bookkeeping is lost (a restored backup): the unique slot still keeps it to one execution
        await conn.execute("UPDATE custom_reports SET last_slot = NULL, next_run_at = NULL WHERE id = $1", report)
        with clock.frozen(at(BERLIN, 2025, 6, 1, 9, 0, 40)):
            enqueued = await enqueue_due(conn, max_attempts=3)
    assert [e.execution_id for e in enqueued] == [None]
    assert await _executions(qdb, report) == [("2025-06-01 09:00 CEST", "pending")]


async def test_slots_missed_while_no_worker_ran_run_once_when_one_is_back(qdb: QueueDatabase,
                                                                         berlin: uuid.UUID) -> None:
    report = await _schedule(qdb, "0 9 * * *", at(BERLIN, 2025, 6, 1, 8), berlin)
    async with qdb.admin.acquire() as conn:
        with clock.frozen(at(BERLIN, 2025, 6, 1, 9, 1)):
            await enqueue_due(conn, max_attempts=3)
        # no worker from Sunday 09:01 until Thursday 12:00: Monday's to Thursday's slots were missed
        with clock.frozen(at(BERLIN, 2025, 6, 5, 12)):
            await enqueue_due(conn, max_attempts=3)
            await enqueue_due(conn, max_attempts=3)
        with clock.frozen(at(BERLIN, 2025, 6, 6, 9, 0, 5)):
            await enqueue_due(conn, max_attempts=3)
    assert await _executions(qdb, report) == [
        ("2025-06-01 09:00 CEST", "pending"), ("2025-06-05 09:00 CEST", "pending"),
        ("2025-06-06 09:00 CEST", "pending")]


async def test_a_schedule_across_both_dst_changes_runs_once_a_day_at_its_local_time(qdb: QueueDatabase,
                                                                                  berlin: uuid.UUID) -> None:
    report = await _schedule(qdb, "30 2 * * *", at(BERLIN, 2025, 3, 28, 12), berlin)
    async with qdb.admin.acquire() as conn:
        # a scheduler looking every 20 minutes, through each change
        for start in (at(BERLIN, 2025, 3, 28, 23), at(BERLIN, 2025, 10, 24, 23)):
            now = start.astimezone(UTC)
            for _ in range(3 * 24 * 3):
                with clock.frozen(now):
                    await enqueue_due(conn, max_attempts=3)
                now += timedelta(minutes=20)
    assert await _executions(qdb, report) == [
        ("2025-03-29 02:30 CET", "pending"), ("2025-03-30 03:00 CEST", "pending"),
        ("2025-03-31 02:30 CEST", "pending"),
        # 31 March to 24 October were not looked at: one run for them, at the first look
        ("2025-10-24 02:30 CEST", "pending"),
        ("2025-10-25 02:30 CEST", "pending"), ("2025-10-26 02:30 CEST", "pending"),
        ("2025-10-27 02:30 CET", "pending")]


async def test_a_scheduled_run_reads_as_its_creator_with_the_directory_role_of_today(qdb: QueueDatabase) -> None:
    user = uuid.uuid4()
    async with qdb.admin.acquire() as conn:
        await conn.execute("INSERT INTO users (tenant_id, id, email, display_name, role) "
                           "VALUES ($1, $2, 'm@example.com', 'M', 'manager')", qdb.tenant_id, user)
    report = await _schedule(qdb, "0 * * * *", datetime(2025, 6, 1, tzinfo=UTC),
                             creator=RecordedPrincipal(subject=str(user), roles=("admin",), user_id=user))
    async with qdb.admin.acquire() as conn:
        with clock.frozen(datetime(2025, 6, 1, 1, 0, 5, tzinfo=UTC)):
            await enqueue_due(conn, max_attempts=3)
        await conn.execute("DELETE FROM users WHERE id = $1", user)
        with clock.frozen(datetime(2025, 6, 1, 2, 0, 5, tzinfo=UTC)):
            await enqueue_due(conn, max_attempts=3)
        principals = await conn.fetch("SELECT principal FROM report_executions WHERE report_id = $1 "
                                      "ORDER BY scheduled_slot", report)
    # the token said admin when it was saved; the directory says manager; then the user is gone
    assert [p["principal"]["roles"] for p in principals] == [["manager"], []]
    assert principals[0]["principal"]["subject"] == str(user)


async def test_a_changed_schedule_starts_from_the_edit(qdb: QueueDatabase, berlin: uuid.UUID) -> None:
    report = await _schedule(qdb, "0 9 * * *", at(BERLIN, 2025, 6, 1), berlin)
    session = TenantSession(qdb.pools.app, berlin)
    try:
        saved = await store.report_by_id(session, berlin, report)
        assert saved is not None
        edited = dataclasses.replace(saved.definition, schedule_cron="0 18 * * *")
        updated = await store.update_report(session, report, edited, "svc-admin", at(BERLIN, 2025, 6, 3, 12))
    finally:
        await session.close(commit=True)
    assert updated is not None
    async with qdb.admin.acquire() as conn:
        with clock.frozen(at(BERLIN, 2025, 6, 3, 19)):
            await enqueue_due(conn, max_attempts=3)
    # nothing from before the edit (neither 9:00 nor the 18:00 of days before it)
    assert await _executions(qdb, report) == [("2025-06-03 18:00 CEST", "pending")]
