"""A small hand-built floor shared by the list and role tests: who is who, and what happened."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from tests.factories import make_agent, make_team, make_tenant, make_user

CALL = """
INSERT INTO calls (tenant_id, id, direction, agent_id, lead_id, campaign_id, started_at, answered_at, ended_at,
                   talk_seconds, outcome, disposition)
VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $7::timestamptz + interval '5 seconds',
        $7::timestamptz + interval '5 minutes', 240, $8, $9)
"""
LEAD = """
INSERT INTO leads (tenant_id, id, campaign_id, owner_agent_id, name, source, stage, score, value, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
TASK = """
INSERT INTO tasks (tenant_id, id, assignee_agent_id, lead_id, title, status, completed_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 = 'completed' THEN $7::timestamptz END, $7)
"""


@dataclass
class Floor:
    """Teams Red (agents A, B; managed by `manager`) and Blue (agent C); campaigns K and L; user `ada` is agent A."""

    tenant: UUID
    other_tenant: UUID
    red: UUID
    blue: UUID
    a: UUID
    b: UUID
    c: UUID
    camp_k: UUID
    camp_l: UUID
    admin: UUID
    viewer: UUID
    manager: UUID
    ada: UUID
    calls: dict[str, UUID] = field(default_factory=dict)
    leads: dict[str, UUID] = field(default_factory=dict)
    tasks: dict[str, UUID] = field(default_factory=dict)


def at(day: int, hour: int) -> datetime:
    return datetime.fromisoformat("2026-03-01T00:00:00+00:00") + timedelta(days=day - 1, hours=hour)


async def build_floor(conn: asyncpg.Connection) -> Floor:
    tenant = await make_tenant(conn, "Floor", "UTC")
    other = await make_tenant(conn, "Elsewhere", "UTC")
    red, blue = await make_team(conn, tenant, "Red"), await make_team(conn, tenant, "Blue")
    a = await make_agent(conn, tenant, "A", team_id=red)
    b = await make_agent(conn, tenant, "B", team_id=red)
    c = await make_agent(conn, tenant, "C", team_id=blue)
    k, l_ = uuid.uuid4(), uuid.uuid4()
    await conn.execute("INSERT INTO campaigns (tenant_id, id, name) VALUES ($1, $2, 'K'), ($1, $3, 'L')",
                       tenant, k, l_)
    manager = await make_user(conn, tenant, "mia@floor.test", "manager")
    await conn.execute("INSERT INTO team_managers (tenant_id, team_id, user_id) VALUES ($1, $2, $3)",
                       tenant, red, manager)
    floor = Floor(tenant=tenant, other_tenant=other, red=red, blue=blue, a=a, b=b, c=c, camp_k=k, camp_l=l_,
                  admin=await make_user(conn, tenant, "boss@floor.test", "admin"),
                  viewer=await make_user(conn, tenant, "vic@floor.test", "viewer"),
                  manager=manager, ada=await make_user(conn, tenant, "ada@floor.test", "agent", agent_id=a))
    # name: campaign, owner, source, stage, score, value, day
    for name, campaign, owner, source, stage, score, value, day in [
        ("lead-a1", k, a, "web_form", "new", 10, 100, 1),
        ("lead-a2", l_, a, "referral", "won", 90, 500, 2),
        ("lead-b1", k, b, "web_form", "contacted", 50, 250, 3),
        ("lead-c1", k, c, "social", "qualified", 70, 50, 4),
        ("lead-x", None, None, "import", "new", 0, 0, 5),
    ]:
        floor.leads[name] = uuid.uuid4()
        await conn.execute(LEAD, tenant, floor.leads[name], campaign, owner, name, source, stage, score, value,
                           at(day, 9))
    # name: direction, agent, lead, campaign, start, outcome, disposition
    for name, direction, agent, lead, campaign, start, outcome, disposition in [
        ("call-a1", "outbound", a, "lead-a1", k, at(1, 10), "connected", "interested"),
        ("call-a2", "outbound", a, "lead-a2", l_, at(2, 10), "connected", "converted"),
        ("call-a3", "inbound", a, None, None, at(2, 11), "connected", "resolved"),
        ("call-b1", "outbound", b, "lead-b1", k, at(3, 10), "voicemail", None),
        ("call-c1", "inbound", c, None, k, at(4, 10), "connected", "resolved"),
        ("call-q", "inbound", None, None, None, at(4, 12), "abandoned", None),
    ]:
        floor.calls[name] = uuid.uuid4()
        await conn.execute(CALL, tenant, floor.calls[name], direction, agent,
                           floor.leads[lead] if lead else None, campaign, start, outcome, disposition)
    for name, assignee, lead, status, day in [
        ("task-a1", a, "lead-a1", "open", 1), ("task-a2", a, "lead-a2", "completed", 2),
        ("task-c1", c, None, "open", 3),
    ]:
        floor.tasks[name] = uuid.uuid4()
        await conn.execute(TASK, tenant, floor.tasks[name], assignee, floor.leads.get(lead or ""), name, status,
                           at(day, 15))
    # Another tenant's rows must never show.
    mallory = await make_agent(conn, other, "Mallory")
    await conn.execute(CALL, other, uuid.uuid4(), "inbound", mallory, None, None, at(2, 10), "connected", None)
    return floor
