"""SQL that records accepted events: the raw record, the id ledger, and the projection into domain tables.

Every statement takes whole columns as arrays (`unnest`), so a batch costs one statement per event type,
whatever its size. Rollups follow from the raw tables' triggers in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final
from uuid import UUID

from gateway.db import TenantSession

KNOWN_BY_KIND: Final = {
    "team": "SELECT id FROM teams WHERE tenant_id = $1 AND id = any($2::uuid[])",
    "agent": "SELECT id FROM agents WHERE tenant_id = $1 AND id = any($2::uuid[])",
    "campaign": "SELECT id FROM campaigns WHERE tenant_id = $1 AND id = any($2::uuid[])",
    "lead": "SELECT id FROM leads WHERE tenant_id = $1 AND id = any($2::uuid[])",
    "call": "SELECT id FROM calls WHERE tenant_id = $1 AND id = any($2::uuid[])",
}

TENANT_EXISTS: Final = "SELECT EXISTS (SELECT FROM tenants WHERE id = $1)"

STORED_HASHES: Final = """
SELECT id, payload_sha256 FROM analytics_event_ids WHERE tenant_id = $1 AND id = any($2::uuid[])
"""

RECORD_IDS: Final = """
INSERT INTO analytics_event_ids (tenant_id, id, occurred_at, payload_sha256)
SELECT $1, u.id, u.occurred_at, u.sha
FROM unnest($2::uuid[], $3::timestamptz[], $4::bytea[]) AS u(id, occurred_at, sha)
ORDER BY u.id
ON CONFLICT (tenant_id, id) DO NOTHING
RETURNING id
"""

RECORD_EVENTS: Final = """
INSERT INTO analytics_events (tenant_id, id, occurred_at, event_type, name, category, user_id, payload)
SELECT $1, u.id, u.occurred_at, u.event_type, u.name, u.category, u.user_id, u.payload::jsonb
FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[])
    AS u(id, occurred_at, event_type, name, category, user_id, payload)
"""

# Directory upserts: the most recent event (by occurred_at) wins, whatever order events arrive in.
UPSERT_TEAMS: Final = """
INSERT INTO teams AS t (tenant_id, id, name, created_at, updated_at)
SELECT $1, u.id, u.name, u.at, u.at FROM unnest($2::uuid[], $3::text[], $4::timestamptz[]) AS u(id, name, at)
ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at
WHERE t.updated_at <= EXCLUDED.updated_at
"""

UPSERT_AGENTS: Final = """
INSERT INTO agents AS a (tenant_id, id, name, kind, team_id, status, email, hired_on, created_at, updated_at)
SELECT $1, u.id, u.name, u.kind, u.team_id, coalesce(u.status, 'active'), u.email, u.hired_on, u.at, u.at
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::date[],
            $9::timestamptz[]) AS u(id, name, kind, team_id, status, email, hired_on, at)
ON CONFLICT (tenant_id, id) DO UPDATE SET
    name = EXCLUDED.name, kind = EXCLUDED.kind, team_id = EXCLUDED.team_id, status = EXCLUDED.status,
    email = EXCLUDED.email, hired_on = EXCLUDED.hired_on, updated_at = EXCLUDED.updated_at
WHERE a.updated_at <= EXCLUDED.updated_at
"""

UPSERT_USERS: Final = """
INSERT INTO users AS s (tenant_id, id, email, display_name, role, agent_id, created_at, updated_at)
SELECT $1, u.id, u.email, u.display_name, u.role, u.agent_id, u.at, u.at
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::timestamptz[])
    AS u(id, email, display_name, role, agent_id, at)
ON CONFLICT (tenant_id, id) DO UPDATE SET
    email = EXCLUDED.email, display_name = EXCLUDED.display_name, role = EXCLUDED.role,
    agent_id = EXCLUDED.agent_id, updated_at = EXCLUDED.updated_at
WHERE s.updated_at <= EXCLUDED.updated_at
RETURNING id
"""

CLEAR_MANAGED_TEAMS: Final = "DELETE FROM team_managers WHERE tenant_id = $1 AND user_id = any($2::uuid[])"
ADD_MANAGED_TEAMS: Final = """
INSERT INTO team_managers (tenant_id, team_id, user_id)
SELECT $1, u.team_id, u.user_id FROM unnest($2::uuid[], $3::uuid[]) AS u(team_id, user_id)
ON CONFLICT DO NOTHING
"""

UPSERT_CAMPAIGNS: Final = """
INSERT INTO campaigns AS c (tenant_id, id, name, channel, status, budget, starts_on, ends_on, created_at, updated_at)
SELECT $1, u.id, u.name, coalesce(u.channel, 'phone'), coalesce(u.status, 'active'), u.budget, u.starts_on,
       u.ends_on, u.at, u.at
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::date[], $8::date[],
            $9::timestamptz[]) AS u(id, name, channel, status, budget, starts_on, ends_on, at)
ON CONFLICT (tenant_id, id) DO UPDATE SET
    name = EXCLUDED.name, channel = EXCLUDED.channel, status = EXCLUDED.status, budget = EXCLUDED.budget,
    starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on, updated_at = EXCLUDED.updated_at
WHERE c.updated_at <= EXCLUDED.updated_at
"""

# Spend adds up: each event records an amount spent on a day.
ADD_SPEND: Final = """
INSERT INTO campaign_spend AS s (tenant_id, campaign_id, day, amount, created_at, updated_at)
SELECT $1, u.campaign_id, u.day, u.amount, now(), now()
FROM unnest($2::uuid[], $3::date[], $4::numeric[]) AS u(campaign_id, day, amount)
ON CONFLICT (tenant_id, campaign_id, day) DO UPDATE SET amount = s.amount + EXCLUDED.amount, updated_at = now()
"""

CREATE_LEADS: Final = """
WITH created AS (
    INSERT INTO leads (tenant_id, id, campaign_id, owner_agent_id, name, source, stage, score, value,
                       score_updated_at, created_at, updated_at)
    SELECT $1, u.id, u.campaign_id, u.owner_agent_id, u.name, u.source, 'new', coalesce(u.score, 0),
           coalesce(u.value, 0), u.at, u.at, u.at
    FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::integer[], $8::numeric[],
                $9::timestamptz[]) AS u(id, campaign_id, owner_agent_id, name, source, score, value, at)
    RETURNING id, created_at, owner_agent_id
)
INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, agent_id)
SELECT $1, id, 'new', created_at, owner_agent_id FROM created ORDER BY id
"""

INSERT_CALLS: Final = """
INSERT INTO calls (tenant_id, id, direction, agent_id, lead_id, campaign_id, started_at, answered_at, ended_at,
                   talk_seconds, hold_seconds, wrap_up_seconds, abandoned, transferred, first_contact_resolution,
                   outcome, disposition, csat_rating, csat_submitted_at, cost, created_at)
SELECT $1, u.id, u.direction, u.agent_id, u.lead_id, u.campaign_id, u.started_at, u.answered_at, u.ended_at,
       u.talk, u.hold, u.wrap, u.abandoned, u.transferred, u.fcr, u.outcome, u.disposition, u.csat,
       CASE WHEN u.csat IS NOT NULL THEN u.at END, u.cost, u.at
FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::timestamptz[], $8::timestamptz[],
            $9::timestamptz[], $10::integer[], $11::integer[], $12::integer[], $13::boolean[], $14::boolean[],
            $15::boolean[], $16::text[], $17::text[], $18::smallint[], $19::numeric[], $20::timestamptz[])
    AS u(id, direction, agent_id, lead_id, campaign_id, started_at, answered_at, ended_at, talk, hold, wrap,
         abandoned, transferred, fcr, outcome, disposition, csat, cost, at)
"""

# A 'won' stay books the event's value, else the lead's current value.
INSERT_STAGE_STAYS: Final = """
INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, agent_id, value)
SELECT $1, u.lead_id, u.stage, u.at, u.agent_id,
       CASE WHEN u.stage = 'won' THEN coalesce(u.value, l.value) END
FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::uuid[], $6::numeric[])
    AS u(lead_id, stage, at, agent_id, value)
JOIN leads l ON l.tenant_id = $1 AND l.id = u.lead_id
ORDER BY u.lead_id, u.at
"""

# Concurrent batches re-linking the same lead's stays (or agent's intervals) would each see the chain without
# the other's new row; holding the parent row for the rest of the transaction makes them take turns.
LOCK_LEADS: Final = "SELECT 1 FROM leads WHERE tenant_id = $1 AND id = any($2::uuid[]) ORDER BY id FOR NO KEY UPDATE"
LOCK_AGENTS: Final = "SELECT 1 FROM agents WHERE tenant_id = $1 AND id = any($2::uuid[]) ORDER BY id FOR NO KEY UPDATE"

# Stays are ordered by entry time: each one ends when the next begins, wherever a late event slotted in.
RELINK_STAYS: Final = """
WITH ordered AS (
    SELECT h.id, lead(h.entered_at) OVER w AS next_at, lead(h.stage) OVER w AS next_stage
    FROM lead_stage_history h
    WHERE h.tenant_id = $1 AND h.lead_id = any($2::uuid[])
    WINDOW w AS (PARTITION BY h.lead_id ORDER BY h.entered_at, h.id)
)
UPDATE lead_stage_history h SET exited_at = o.next_at, next_stage = o.next_stage
FROM ordered o
WHERE h.tenant_id = $1 AND h.id = o.id
  AND (h.exited_at IS DISTINCT FROM o.next_at OR h.next_stage IS DISTINCT FROM o.next_stage)
"""

SYNC_LEAD_STAGE: Final = """
UPDATE leads l SET stage = s.stage, converted_at = s.converted_at, updated_at = greatest(l.updated_at, s.entered_at)
FROM (
    SELECT DISTINCT ON (h.lead_id) h.lead_id, h.stage, h.entered_at,
           max(h.entered_at) FILTER (WHERE h.stage = 'won') OVER (PARTITION BY h.lead_id) AS converted_at
    FROM lead_stage_history h
    WHERE h.tenant_id = $1 AND h.lead_id = any($2::uuid[])
    ORDER BY h.lead_id, h.entered_at DESC, h.id DESC
) AS s
WHERE l.tenant_id = $1 AND l.id = s.lead_id
"""

SET_LEAD_SCORES: Final = """
UPDATE leads l SET score = u.score, score_updated_at = u.at
FROM unnest($2::uuid[], $3::integer[], $4::timestamptz[]) AS u(lead_id, score, at)
WHERE l.tenant_id = $1 AND l.id = u.lead_id AND (l.score_updated_at IS NULL OR l.score_updated_at <= u.at)
"""

# A task completes once: the earliest completion wins.
COMPLETE_TASKS: Final = """
INSERT INTO tasks AS t (tenant_id, id, assignee_agent_id, lead_id, title, status, due_at, completed_at,
                        created_at, updated_at)
SELECT $1, u.id, u.agent_id, u.lead_id, coalesce(u.title, 'Task'), 'completed', u.due_at, u.at, u.at, u.at
FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[], $7::timestamptz[])
    AS u(id, agent_id, lead_id, title, due_at, at)
ON CONFLICT (tenant_id, id) DO UPDATE SET
    status = 'completed',
    completed_at = EXCLUDED.completed_at,
    assignee_agent_id = EXCLUDED.assignee_agent_id,
    updated_at = EXCLUDED.updated_at
WHERE t.completed_at IS NULL OR EXCLUDED.completed_at < t.completed_at
"""

# The most recent rating of a call wins.
RATE_CALLS: Final = """
UPDATE calls c SET csat_rating = u.rating, csat_submitted_at = u.at
FROM unnest($2::uuid[], $3::smallint[], $4::timestamptz[]) AS u(call_id, rating, at)
WHERE c.tenant_id = $1 AND c.id = u.call_id AND (c.csat_submitted_at IS NULL OR c.csat_submitted_at <= u.at)
"""

INSERT_STATUS_CHANGES: Final = """
INSERT INTO agent_status_intervals AS s (tenant_id, agent_id, status, started_at)
SELECT $1, u.agent_id, u.status, u.at FROM unnest($2::uuid[], $3::text[], $4::timestamptz[]) AS u(agent_id, status, at)
ORDER BY u.agent_id, u.at
ON CONFLICT (tenant_id, agent_id, started_at) DO UPDATE SET status = EXCLUDED.status
"""

# Each interval ends when the agent's next one starts; only intervals from the one before the earliest new
# change onwards can be affected.
RELINK_INTERVALS: Final = """
WITH changed AS (
    SELECT u.agent_id, min(u.at) AS earliest FROM unnest($2::uuid[], $3::timestamptz[]) AS u(agent_id, at)
    GROUP BY u.agent_id
),
bounds AS (
    SELECT c.agent_id,
           coalesce((SELECT max(s.started_at) FROM agent_status_intervals s
                     WHERE s.tenant_id = $1 AND s.agent_id = c.agent_id AND s.started_at < c.earliest),
                    c.earliest) AS cutoff
    FROM changed c
),
ordered AS (
    SELECT s.agent_id, s.started_at, lead(s.started_at) OVER (PARTITION BY s.agent_id ORDER BY s.started_at) AS next_at
    FROM agent_status_intervals s JOIN bounds b ON b.agent_id = s.agent_id
    WHERE s.tenant_id = $1 AND s.started_at >= b.cutoff
)
UPDATE agent_status_intervals s SET ended_at = o.next_at
FROM ordered o
WHERE s.tenant_id = $1 AND s.agent_id = o.agent_id AND s.started_at = o.started_at
  AND s.ended_at IS DISTINCT FROM o.next_at
"""

AWARD_POINTS: Final = """
INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at)
SELECT $1, u.agent_id, u.points, u.reason, u.at
FROM unnest($2::uuid[], $3::integer[], $4::text[], $5::timestamptz[]) AS u(agent_id, points, reason, at)
"""

ENSURE_BADGES: Final = """
INSERT INTO badges (tenant_id, id, code, name, created_at)
SELECT $1, u.id, u.code, u.name, u.at FROM unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
    AS u(id, code, name, at)
ON CONFLICT (tenant_id, code) DO NOTHING
"""

AWARD_BADGES: Final = """
INSERT INTO agent_badges (tenant_id, agent_id, badge_id, awarded_at)
SELECT $1, u.agent_id, b.id, u.at
FROM unnest($2::uuid[], $3::text[], $4::timestamptz[]) AS u(agent_id, code, at)
JOIN badges b ON b.tenant_id = $1 AND b.code = u.code
ON CONFLICT DO NOTHING
"""

RECORD_NOTIFICATIONS: Final = """
INSERT INTO notification_deliveries (tenant_id, notification_id, occurred_at, channel, status, error)
SELECT $1, u.id, u.at, u.channel, u.status, u.error
FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) AS u(id, at, channel, status, error)
ON CONFLICT DO NOTHING
"""


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows to per-column lists, the shape `unnest` takes."""
    return [[row[i] for row in rows] for i in range(width)] if rows else [[] for _ in range(width)]


async def known_ids(db: TenantSession, kind: str, ids: Iterable[UUID]) -> set[UUID]:
    wanted = list(set(ids))
    if not wanted:
        return set()
    return {r["id"] for r in await db.fetch(KNOWN_BY_KIND[kind], db.tenant_id, wanted)}


async def stored_hashes(db: TenantSession, ids: Sequence[UUID]) -> dict[UUID, bytes]:
    if not ids:
        return {}
    return {r["id"]: bytes(r["payload_sha256"]) for r in await db.fetch(STORED_HASHES, db.tenant_id, list(ids))}


async def run(db: TenantSession, sql: str, rows: Sequence[Sequence[Any]], width: int) -> list[Any]:
    """Runs one array-shaped statement over `rows` (skipped when there are none); returns its rows."""
    if not rows:
        return []
    return list(await db.fetch(sql, db.tenant_id, *columns(rows, width)))
