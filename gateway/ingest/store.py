"""SQL that records accepted events: the raw record, the id ledger, and the projection into domain tables.

Every statement takes its rows as one JSON text parameter (`json_to_recordset`), so a batch costs one statement
per event type whatever its size, and PostgreSQL's C input functions, not Python objects and per-element array
encoding, turn text into uuids, timestamps and numbers. Rollups follow from the raw tables' triggers in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import orjson

from gateway.db import TenantSession

# One round trip for everything a batch must know before it writes: whether the token's tenant exists, the
# stored hashes of its event ids and which of the directory rows it references exist. $2..$7 are uuid array
# literals ('{…}'), unnested once: `= any()` over a cast parameter would redo the cast for every row scanned
# under a generic plan.
LOOKUP: Final = """
SELECT 'tenant' AS kind, id::text AS id, NULL::bytea AS payload_sha256 FROM tenants WHERE id = $1
UNION ALL
SELECT 'event', id::text, payload_sha256 FROM analytics_event_ids
WHERE tenant_id = $1 AND id IN (SELECT unnest($2::text::uuid[]))
UNION ALL
SELECT 'team', id::text, NULL FROM teams WHERE tenant_id = $1 AND id IN (SELECT unnest($3::text::uuid[]))
UNION ALL
SELECT 'agent', id::text, NULL FROM agents WHERE tenant_id = $1 AND id IN (SELECT unnest($4::text::uuid[]))
UNION ALL
SELECT 'campaign', id::text, NULL FROM campaigns
WHERE tenant_id = $1 AND id IN (SELECT unnest($5::text::uuid[]))
UNION ALL
SELECT 'lead', id::text, NULL FROM leads WHERE tenant_id = $1 AND id IN (SELECT unnest($6::text::uuid[]))
UNION ALL
SELECT 'call', id::text, NULL FROM calls WHERE tenant_id = $1 AND id IN (SELECT unnest($7::text::uuid[]))
"""
LOOKUP_KINDS: Final = ("team", "agent", "campaign", "lead", "call")

STORED_HASHES: Final = """
SELECT id::text AS id, payload_sha256 FROM analytics_event_ids
WHERE tenant_id = $1 AND id IN (SELECT unnest($2::text::uuid[]))
"""

# Claims the ids in the ledger and keeps the raw record of those this batch claimed, in one statement; ids a
# concurrent batch stored meanwhile are not returned (the caller tells retries from conflicts). The raw payloads
# come as their own JSON array ($3), zipped with the rows by position: parsed once, straight into jsonb, where
# a jsonb column inside json_to_recordset would be parsed twice.
RECORD: Final = """
WITH u AS (
    SELECT * FROM ROWS FROM (
        json_to_recordset($2::text::json)
            AS (id uuid, at timestamptz, sha text, type text, name text, category text, user_id uuid),
        jsonb_array_elements($3::text::jsonb)
    ) AS u(id, at, sha, type, name, category, user_id, payload)
),
claimed AS (
    INSERT INTO analytics_event_ids (tenant_id, id, occurred_at, payload_sha256)
    SELECT $1, u.id, u.at, decode(u.sha, 'hex') FROM u ORDER BY u.id
    ON CONFLICT (tenant_id, id) DO NOTHING
    RETURNING id
),
recorded AS (
    INSERT INTO analytics_events (tenant_id, id, occurred_at, event_type, name, category, user_id, payload)
    SELECT $1, u.id, u.at, u.type, u.name, u.category, u.user_id, u.payload FROM u JOIN claimed USING (id)
)
SELECT id::text AS id FROM claimed
"""

# Directory upserts: the most recent event (by occurred_at) wins, whatever order events arrive in.
UPSERT_TEAMS: Final = """
INSERT INTO teams AS t (tenant_id, id, name, created_at, updated_at)
SELECT $1, u.id, u.name, u.at, u.at FROM json_to_recordset($2::text::json) AS u(id uuid, name text, at timestamptz)
ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at
WHERE t.updated_at <= EXCLUDED.updated_at
"""

UPSERT_AGENTS: Final = """
INSERT INTO agents AS a (tenant_id, id, name, kind, team_id, status, email, hired_on, created_at, updated_at)
SELECT $1, u.id, u.name, u.kind, u.team_id, coalesce(u.status, 'active'), u.email, u.hired_on, u.at, u.at
FROM json_to_recordset($2::text::json)
    AS u(id uuid, name text, kind text, team_id uuid, status text, email text, hired_on date, at timestamptz)
ON CONFLICT (tenant_id, id) DO UPDATE SET
    name = EXCLUDED.name, kind = EXCLUDED.kind, team_id = EXCLUDED.team_id, status = EXCLUDED.status,
    email = EXCLUDED.email, hired_on = EXCLUDED.hired_on, updated_at = EXCLUDED.updated_at
WHERE a.updated_at <= EXCLUDED.updated_at
"""

UPSERT_USERS: Final = """
INSERT INTO users AS s (tenant_id, id, email, display_name, role, agent_id, created_at, updated_at)
SELECT $1, u.id, u.email, u.display_name, u.role, u.agent_id, u.at, u.at
FROM json_to_recordset($2::text::json)
    AS u(id uuid, email text, display_name text, role text, agent_id uuid, at timestamptz)
ON CONFLICT (tenant_id, id) DO UPDATE SET
    email = EXCLUDED.email, display_name = EXCLUDED.display_name, role = EXCLUDED.role,
    agent_id = EXCLUDED.agent_id, updated_at = EXCLUDED.updated_at
WHERE s.updated_at <= EXCLUDED.updated_at
RETURNING id::text AS id
"""

CLEAR_MANAGED_TEAMS: Final = """
DELETE FROM team_managers WHERE tenant_id = $1 AND user_id IN (SELECT unnest($2::text::uuid[]))
"""
ADD_MANAGED_TEAMS: Final = """
INSERT INTO team_managers (tenant_id, team_id, user_id)
SELECT $1, u.team_id, u.user_id FROM json_to_recordset($2::text::json) AS u(team_id uuid, user_id uuid)
ON CONFLICT DO NOTHING
"""

UPSERT_CAMPAIGNS: Final = """
INSERT INTO campaigns AS c (tenant_id, id, name, channel, status, budget, starts_on, ends_on, created_at, updated_at)
SELECT $1, u.id, u.name, coalesce(u.channel, 'phone'), coalesce(u.status, 'active'), u.budget, u.starts_on,
       u.ends_on, u.at, u.at
FROM json_to_recordset($2::text::json)
    AS u(id uuid, name text, channel text, status text, budget numeric, starts_on date, ends_on date,
         at timestamptz)
ON CONFLICT (tenant_id, id) DO UPDATE SET
    name = EXCLUDED.name, channel = EXCLUDED.channel, status = EXCLUDED.status, budget = EXCLUDED.budget,
    starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on, updated_at = EXCLUDED.updated_at
WHERE c.updated_at <= EXCLUDED.updated_at
"""

# Spend adds up: each event records an amount spent on a day.
ADD_SPEND: Final = """
INSERT INTO campaign_spend AS s (tenant_id, campaign_id, day, amount, created_at, updated_at)
SELECT $1, u.campaign_id, u.day, u.amount, now(), now()
FROM json_to_recordset($2::text::json) AS u(campaign_id uuid, day date, amount numeric)
ON CONFLICT (tenant_id, campaign_id, day) DO UPDATE SET amount = s.amount + EXCLUDED.amount, updated_at = now()
"""

CREATE_LEADS: Final = """
WITH created AS (
    INSERT INTO leads (tenant_id, id, campaign_id, owner_agent_id, name, source, stage, score, value,
                       score_updated_at, created_at, updated_at)
    SELECT $1, u.id, u.campaign_id, u.owner_agent_id, u.name, u.source, 'new', coalesce(u.score, 0),
           coalesce(u.value, 0), u.at, u.at, u.at
    FROM json_to_recordset($2::text::json)
        AS u(id uuid, campaign_id uuid, owner_agent_id uuid, name text, source text, score integer,
             value numeric, at timestamptz)
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
       coalesce(u.talk, 0), coalesce(u.hold, 0), coalesce(u.wrap, 0), coalesce(u.abandoned, false),
       coalesce(u.transferred, false), coalesce(u.fcr, false), u.outcome, u.disposition, u.csat,
       CASE WHEN u.csat IS NOT NULL THEN u.at END, coalesce(u.cost, 0), u.at
FROM json_to_recordset($2::text::json)
    AS u(id uuid, direction text, agent_id uuid, lead_id uuid, campaign_id uuid, started_at timestamptz,
         answered_at timestamptz, ended_at timestamptz, talk integer, hold integer, wrap integer, abandoned boolean,
         transferred boolean, fcr boolean, outcome text, disposition text, csat smallint, cost numeric,
         at timestamptz)
"""

# A 'won' stay books the event's value, else the lead's current value.
INSERT_STAGE_STAYS: Final = """
INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, agent_id, value)
SELECT $1, u.lead_id, u.stage, u.at, u.agent_id,
       CASE WHEN u.stage = 'won' THEN coalesce(u.value, l.value) END
FROM json_to_recordset($2::text::json) AS u(lead_id uuid, stage text, at timestamptz, agent_id uuid, value numeric)
JOIN leads l ON l.tenant_id = $1 AND l.id = u.lead_id
ORDER BY u.lead_id, u.at
"""

# Concurrent batches re-linking the same lead's stays (or agent's intervals) would each see the chain without
# the other's new row; holding the parent row for the rest of the transaction makes them take turns.
LOCK_LEADS: Final = """
SELECT 1 FROM leads WHERE tenant_id = $1 AND id IN (SELECT unnest($2::text::uuid[]))
ORDER BY id FOR NO KEY UPDATE
"""
LOCK_AGENTS: Final = """
SELECT 1 FROM agents WHERE tenant_id = $1 AND id IN (SELECT unnest($2::text::uuid[]))
ORDER BY id FOR NO KEY UPDATE
"""

# Stays are ordered by entry time: each one ends when the next begins, wherever a late event slotted in.
RELINK_STAYS: Final = """
WITH ordered AS (
    SELECT h.id, lead(h.entered_at) OVER w AS next_at, lead(h.stage) OVER w AS next_stage
    FROM lead_stage_history h
    WHERE h.tenant_id = $1 AND h.lead_id IN (SELECT unnest($2::text::uuid[]))
    WINDOW w AS (PARTITION BY h.lead_id ORDER BY h.entered_at, h.id)
)
UPDATE lead_stage_history h SET exited_at = o.next_at, next_stage = o.next_stage
FROM ordered o
WHERE h.tenant_id = $1 AND h.id = o.id
  AND (h.exited_at IS DISTINCT FROM o.next_at OR h.next_stage IS DISTINCT FROM o.next_stage)
"""

# Only leads whose stage or conversion moves are updated: an unchanged row would still feed the leads trigger.
SYNC_LEAD_STAGE: Final = """
UPDATE leads l SET stage = s.stage, converted_at = s.converted_at, updated_at = greatest(l.updated_at, s.entered_at)
FROM (
    SELECT DISTINCT ON (h.lead_id) h.lead_id, h.stage, h.entered_at,
           max(h.entered_at) FILTER (WHERE h.stage = 'won') OVER (PARTITION BY h.lead_id) AS converted_at
    FROM lead_stage_history h
    WHERE h.tenant_id = $1 AND h.lead_id IN (SELECT unnest($2::text::uuid[]))
    ORDER BY h.lead_id, h.entered_at DESC, h.id DESC
) AS s
WHERE l.tenant_id = $1 AND l.id = s.lead_id
  AND (l.stage IS DISTINCT FROM s.stage OR l.converted_at IS DISTINCT FROM s.converted_at
       OR l.updated_at < s.entered_at)
"""

SET_LEAD_SCORES: Final = """
UPDATE leads l SET score = u.score, score_updated_at = u.at
FROM json_to_recordset($2::text::json) AS u(lead_id uuid, score integer, at timestamptz)
WHERE l.tenant_id = $1 AND l.id = u.lead_id AND (l.score_updated_at IS NULL OR l.score_updated_at <= u.at)
"""

# A task completes once: the earliest completion wins.
COMPLETE_TASKS: Final = """
INSERT INTO tasks AS t (tenant_id, id, assignee_agent_id, lead_id, title, status, due_at, completed_at,
                        created_at, updated_at)
SELECT $1, u.id, u.agent_id, u.lead_id, coalesce(u.title, 'Task'), 'completed', u.due_at, u.at, u.at, u.at
FROM json_to_recordset($2::text::json)
    AS u(id uuid, agent_id uuid, lead_id uuid, title text, due_at timestamptz, at timestamptz)
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
FROM json_to_recordset($2::text::json) AS u(call_id uuid, rating smallint, at timestamptz)
WHERE c.tenant_id = $1 AND c.id = u.call_id AND (c.csat_submitted_at IS NULL OR c.csat_submitted_at <= u.at)
"""

INSERT_STATUS_CHANGES: Final = """
INSERT INTO agent_status_intervals AS s (tenant_id, agent_id, status, started_at)
SELECT $1, u.agent_id, u.status, u.at FROM json_to_recordset($2::text::json) AS u(agent_id uuid, status text,
                                                                                    at timestamptz)
ORDER BY u.agent_id, u.at
ON CONFLICT (tenant_id, agent_id, started_at) DO UPDATE SET status = EXCLUDED.status
"""

# Each interval ends when the agent's next one starts; only intervals from the one before the agent's earliest
# new change onwards can be affected. Both reads go through the primary key (tenant, agent, start) per agent, so
# the cost follows the changes, not the agents' history: the row comparisons are what only that index can
# serve, which keeps the planner off (tenant, started_at) while the table has no statistics yet.
RELINK_INTERVALS: Final = """
WITH changed AS (
    SELECT u.agent_id, min(u.at) AS earliest
    FROM json_to_recordset($2::text::json) AS u(agent_id uuid, at timestamptz)
    GROUP BY u.agent_id
),
bounds AS MATERIALIZED (
    SELECT c.agent_id,
           coalesce((SELECT p.started_at FROM (
                         SELECT p.agent_id, p.started_at FROM agent_status_intervals p
                         WHERE p.tenant_id = $1 AND (p.agent_id, p.started_at) < (c.agent_id, c.earliest)
                         ORDER BY p.agent_id DESC, p.started_at DESC LIMIT 1) AS p
                     WHERE p.agent_id = c.agent_id),
                    c.earliest) AS cutoff
    FROM changed c
),
ordered AS (
    SELECT x.*
    FROM bounds b
    CROSS JOIN LATERAL (
        SELECT s.agent_id, s.started_at, s.ended_at,
               lead(s.started_at) OVER (ORDER BY s.agent_id, s.started_at) AS next_at
        FROM agent_status_intervals s
        WHERE s.tenant_id = $1 AND (s.agent_id, s.started_at) >= (b.agent_id, b.cutoff) AND s.agent_id = b.agent_id
    ) AS x
)
UPDATE agent_status_intervals s SET ended_at = o.next_at
FROM ordered o
WHERE s.tenant_id = $1 AND s.agent_id = o.agent_id AND s.started_at = o.started_at
  AND o.ended_at IS DISTINCT FROM o.next_at
"""

AWARD_POINTS: Final = """
INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at)
SELECT $1, u.agent_id, u.points, u.reason, u.at
FROM json_to_recordset($2::text::json) AS u(agent_id uuid, points integer, reason text, at timestamptz)
"""

ENSURE_BADGES: Final = """
INSERT INTO badges (tenant_id, id, code, name, created_at)
SELECT $1, u.id, u.code, u.name, u.at
FROM json_to_recordset($2::text::json) AS u(id uuid, code text, name text, at timestamptz)
ON CONFLICT (tenant_id, code) DO NOTHING
"""

AWARD_BADGES: Final = """
INSERT INTO agent_badges (tenant_id, agent_id, badge_id, awarded_at)
SELECT $1, u.agent_id, b.id, u.at
FROM json_to_recordset($2::text::json) AS u(agent_id uuid, code text, at timestamptz)
JOIN badges b ON b.tenant_id = $1 AND b.code = u.code
ON CONFLICT DO NOTHING
"""

RECORD_NOTIFICATIONS: Final = """
INSERT INTO notification_deliveries (tenant_id, notification_id, occurred_at, channel, status, error)
SELECT $1, u.id, u.at, u.channel, u.status, u.error
FROM json_to_recordset($2::text::json) AS u(id uuid, at timestamptz, channel text, status text, error text)
ON CONFLICT DO NOTHING
"""


def _encode_default(value: object) -> str:
    # Money is validated into Decimal: its exact text is what PostgreSQL's numeric input wants.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def as_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as the JSON text `json_to_recordset` reads (datetimes and dates in RFC 3339, money exact)."""
    return orjson.dumps(rows, default=_encode_default).decode()


def uuid_array(ids: Iterable[str]) -> str:
    """A uuid array literal from canonical UUID strings (which need no quoting)."""
    return "{" + ",".join(ids) + "}"


async def lookup(db: TenantSession, event_ids: Iterable[str], wanted: Mapping[str, Iterable[str]]
                 ) -> tuple[dict[str, bytes], dict[str, set[str]]]:
    """Stored payload hashes of `event_ids`, and which of the `wanted` directory ids (by kind, and the
    session's tenant under 'tenant') exist."""
    rows = await db.fetch(LOOKUP, db.tenant_id, uuid_array(event_ids),
                          *(uuid_array(wanted.get(kind, ())) for kind in LOOKUP_KINDS))
    hashes: dict[str, bytes] = {}
    known: dict[str, set[str]] = {kind: set() for kind in ("tenant", *LOOKUP_KINDS)}
    for r in rows:
        if r["kind"] == "event":
            hashes[r["id"]] = bytes(r["payload_sha256"])
        else:
            known[r["kind"]].add(r["id"])
    return hashes, known


async def record(db: TenantSession, rows: Sequence[Mapping[str, Any]], payloads: Sequence[Any]) -> set[str]:
    """Runs RECORD; returns the ids this batch claimed."""
    if not rows:
        return set()
    return {r["id"] for r in await db.fetch(RECORD, db.tenant_id, as_json(rows), as_json(payloads))}


async def stored_hashes(db: TenantSession, ids: Sequence[str]) -> dict[str, bytes]:
    if not ids:
        return {}
    return {r["id"]: bytes(r["payload_sha256"])
            for r in await db.fetch(STORED_HASHES, db.tenant_id, uuid_array(ids))}


async def run(db: TenantSession, sql: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Runs one recordset-shaped statement over `rows` (skipped when there are none); returns its rows."""
    if not rows:
        return []
    return list(await db.fetch(sql, db.tenant_id, as_json(rows)))
