"""Scheduled reports: which cron slot is due, in the tenant's timezone, and enqueueing it exactly once.

A schedule is a five-field cron expression read in the tenant's current timezone. Slots are the wall-clock
times the expression names, turned into instants:

- a time in a skipped hour (02:30 on a spring-forward day in Europe/Berlin) runs at the end of the gap,
  03:00 local; several skipped times (every 15 minutes) are that one slot;
- a time in a repeated hour (02:30 on a fall-back day) runs once, at its first occurrence;
- a slot missed while no worker ran (slots between the last one enqueued and now) runs once when a worker is
  back: the latest of them, not one per missed slot.

`due_slot` and `next_slot` are the pure part; `enqueue_due` is the database part, safe to run from every worker
at once (the due rows are claimed with SKIP LOCKED, and an execution per (report, slot) is unique).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from croniter import croniter

from gateway import clock
from gateway.db import Conn
from gateway.errors import BadUserInput

log = logging.getLogger(__name__)

# Predefined schedules croniter understands besides five fields.
MACROS: Final = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
# How many wall-clock times one search may step over before giving up: slots on the wrong side of a bound (a
# repeated hour, the walk back's head start) are stepped over, a few hours of them at most.
MAX_STEPS: Final = 10_000
# More than any clock change of any zone (double summer time moved clocks by two hours).
LARGEST_SHIFT: Final = timedelta(hours=2)
# Reports one tick looks at per transaction.
DUE_BATCH: Final = 100
MAX_BATCHES: Final = 100
MAX_CRON_LENGTH: Final = 200
# A schedule that cannot be evaluated is looked at again this much later (and logged each time).
UNEVALUABLE_RETRY: Final = timedelta(hours=1)

# Scheduled reports whose next slot has come, or whose bookkeeping is missing or was computed in another zone
# than the tenant's now. The creator's current directory role is read here: scheduled runs run as the creator,
# and a demoted or removed creator's rights go with the directory, not with what was saved.
DUE_REPORTS: Final = """
SELECT r.tenant_id, r.id, r.report_type, r.params, r.output_format, r.delivery_mode, r.recipients,
       r.schedule_cron, r.schedule_since, r.last_slot, r.created_by, r.created_by_user, r.created_by_roles,
       t.timezone, u.role AS creator_role
FROM custom_reports r
JOIN tenants t ON t.id = r.tenant_id
LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.created_by_user
WHERE r.schedule_cron IS NOT NULL
  AND (r.next_run_at IS NULL OR r.next_run_at <= $1 OR r.next_run_timezone IS DISTINCT FROM t.timezone)
ORDER BY r.next_run_at NULLS FIRST
LIMIT $2
FOR UPDATE OF r SKIP LOCKED
"""
ENQUEUE_SLOT: Final = """
INSERT INTO report_executions (tenant_id, report_id, report_type, params, output_format, delivery_mode,
                               recipients, principal, max_attempts, scheduled_slot, available_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
ON CONFLICT (tenant_id, report_id, scheduled_slot) DO NOTHING
RETURNING id
"""
RECORD_SLOT: Final = """
UPDATE custom_reports
SET last_slot = greatest(last_slot, $3), next_run_at = $4, next_run_timezone = $5
WHERE tenant_id = $1 AND id = $2
"""


def validate_cron(expression: str) -> str:
    """The expression, normalised (single spaces), if it is a five-field cron expression or a macro."""
    normalised = " ".join(expression.split())
    if len(normalised) > MAX_CRON_LENGTH:
        raise BadUserInput(f"a schedule is at most {MAX_CRON_LENGTH} characters", argument="schedule")
    if normalised in MACROS:
        return normalised
    if len(normalised.split(" ")) != 5 or not croniter.is_valid(normalised):
        raise BadUserInput(f"{expression!r} is not a cron expression with five fields "
                           "(minute hour day-of-month month day-of-week), e.g. '0 8 * * 1'", argument="schedule")
    return normalised


def wall_to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive local wall-clock time stands for: its first occurrence, or the end of its gap."""
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap: the two offsets around it read the wall time as two instants with the transition between them.
    # The end of the gap is the transition itself (03:00 local after 01:59:59 in Europe/Berlin's spring).
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    before = math.floor(min(instant, other).timestamp())
    after = math.ceil(max(instant, other).timestamp())
    offset_before = datetime.fromtimestamp(before, zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_before:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def due_slot(expression: str, timezone: str, *, after: datetime, now: datetime) -> datetime | None:
    """The latest slot at or before `now` and after `after`, or None: what a scheduler enqueues now."""
    zone = ZoneInfo(timezone)
    # Wall times map to instants in the same order, but in a repeated hour a wall time later than now's can be
    # an earlier instant (02:45 summer time when it is 02:20 winter time): the walk back starts past any shift.
    start = now.astimezone(zone).replace(tzinfo=None, microsecond=0) + LARGEST_SHIFT + timedelta(seconds=1)
    iterator = croniter(expression, start)
    for _ in range(MAX_STEPS):
        slot = wall_to_instant(iterator.get_prev(datetime), zone)
        if slot > now:
            continue
        return slot if slot > after else None
    return None


def next_slot(expression: str, timezone: str, *, after: datetime) -> datetime:
    """The first slot strictly after `after`."""
    zone = ZoneInfo(timezone)
    iterator = croniter(expression, after.astimezone(zone).replace(tzinfo=None))
    for _ in range(MAX_STEPS):
        slot = wall_to_instant(iterator.get_next(datetime), zone)
        if slot > after:
            return slot
    raise ValueError(f"no slot of {expression!r} after {after.isoformat()}")


@dataclass(frozen=True)
class Enqueued:
    tenant_id: UUID
    report_id: UUID
    slot: datetime
    execution_id: UUID | None  # None when the slot's execution already existed


def _run_as(row: asyncpg.Record) -> dict[str, object]:
    """The principal a scheduled run reads as: the creator, with the directory's current role if a user."""
    user = row["created_by_user"]
    if user is None:
        roles = list(row["created_by_roles"])
    else:
        roles = [row["creator_role"]] if row["creator_role"] is not None else []
    return {"subject": row["created_by"], "roles": roles, "user_id": None if user is None else str(user)}


async def enqueue_due(conn: Conn, *, max_attempts: int, now: datetime | None = None,
                      batch: int = DUE_BATCH) -> list[Enqueued]:
    """Enqueues every due slot (one per report, the latest) and moves each report's bookkeeping on; idempotent.

    Runs on the maintenance path: it spans tenants.
    """
    now = clock.now() if now is None else now
    done: list[Enqueued] = []
    # Each batch moves its reports' next_run_at past now, so the next batch finds others; bounded all the same.
    for _ in range(MAX_BATCHES):
        async with conn.transaction():
            rows = await conn.fetch(DUE_REPORTS, now, batch)
            for row in rows:
                done.extend(await _advance(conn, row, max_attempts=max_attempts, now=now))
        if len(rows) < batch:
            break
    return done


async def _advance(conn: Conn, row: asyncpg.Record, *, max_attempts: int, now: datetime) -> list[Enqueued]:
    expression, timezone = row["schedule_cron"], row["timezone"]
    after = max(t for t in (row["schedule_since"], row["last_slot"]) if t is not None)
    try:
        slot = due_slot(expression, timezone, after=after, now=now)
        following = next_slot(expression, timezone, after=max(now, after))
    except (ValueError, KeyError) as e:
        # Saved through validate_cron, so only a zone that vanished from the system's database lands here.
        log.error("report %s of tenant %s: schedule %r in %s cannot be evaluated: %s",
                  row["id"], row["tenant_id"], expression, timezone, e)
        await conn.execute(RECORD_SLOT, row["tenant_id"], row["id"], None, now + UNEVALUABLE_RETRY, timezone)
        return []
    enqueued: list[Enqueued] = []
    if slot is not None:
        execution_id = await conn.fetchval(
            ENQUEUE_SLOT, row["tenant_id"], row["id"], row["report_type"], row["params"], row["output_format"],
            row["delivery_mode"], row["recipients"], json.loads(json.dumps(_run_as(row))), max_attempts, slot, now)
        enqueued.append(Enqueued(row["tenant_id"], row["id"], slot, execution_id))
        if execution_id is not None:
            log.info("enqueued report %s of tenant %s for its slot %s", row["id"], row["tenant_id"],
                     slot.isoformat())
    await conn.execute(RECORD_SLOT, row["tenant_id"], row["id"], slot, following, timezone)
    return enqueued
