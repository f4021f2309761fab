"""A hand-built week of a small floor in Berlin (UTC+1), for the report types: small enough to count by hand.

Teams Red (Ann, Ben; managed by Mia) and Blue (Cat, and Dex, an AI agent); campaigns Spring and Summer; user
`ann` is agent Ann. The report week is Monday 2026-03-02 to Sunday 2026-03-08 (local days); the week before
has a few calls and points for the "previous period" figures. Expected values are worked out in test_types.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final
from uuid import UUID

import asyncpg
import pytest

from gateway.access import Access
from gateway.auth import Principal, Role
from gateway.db import TenantSession, create_pool
from gateway.loaders import Loaders
from tests.conftest import TestDatabase
from tests.conftest import _create as create_database
from tests.conftest import _drop as drop_database
from tests.conftest import _test_database as test_database
from tests.factories import make_agent, make_team, make_tenant, make_user

TIMEZONE: Final = "Europe/Berlin"

CALL: Final = """
INSERT INTO calls (tenant_id, id, direction, agent_id, campaign_id, started_at, answered_at, ended_at,
                   talk_seconds, hold_seconds, wrap_up_seconds, abandoned, transferred, first_contact_resolution,
                   outcome, disposition, csat_rating, cost)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
"""
LEAD: Final = """
INSERT INTO leads (tenant_id, id, campaign_id, owner_agent_id, name, source, stage, score, value, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
STAY: Final = """
INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, exited_at, next_stage, agent_id, value)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
TASK: Final = """
INSERT INTO tasks (tenant_id, id, assignee_agent_id, title, status, completed_at, created_at)
VALUES ($1, gen_random_uuid(), $2, $3, $4, $5, $6)
"""
PRESENCE: Final = """
INSERT INTO agent_status_intervals (tenant_id, agent_id, status, started_at, ended_at) VALUES ($1, $2, $3, $4, $5)
"""
POINTS: Final = """
INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at) VALUES ($1, $2, $3, 'test', $4)
"""
BADGE: Final = "INSERT INTO badges (tenant_id, id, code, name, points) VALUES ($1, $2, $3, $4, $5)"
AWARD: Final = "INSERT INTO agent_badges (tenant_id, agent_id, badge_id, awarded_at) VALUES ($1, $2, $3, $4)"
SPEND: Final = "INSERT INTO campaign_spend (tenant_id, campaign_id, day, amount) VALUES ($1, $2, $3, $4)"


def local(text: str) -> datetime:
    """A Berlin wall time in March 2026 (UTC+1, before the DST change on the 29th)."""
    return datetime.fromisoformat(f"2026-{text}+01:00")


@dataclass
class Floor:
    tenant: UUID
    red: UUID
    blue: UUID
    ann: UUID
    ben: UUID
    cat: UUID
    dex: UUID
    spring: UUID
    summer: UUID
    admin: UUID
    viewer: UUID
    mia: UUID
    ann_user: UUID
    calls: dict[str, UUID] = field(default_factory=dict)
    leads: dict[str, UUID] = field(default_factory=dict)


async def build_floor(conn: asyncpg.Connection) -> Floor:
    tenant = await make_tenant(conn, "Reports", TIMEZONE)
    red, blue = await make_team(conn, tenant, "Red"), await make_team(conn, tenant, "Blue")
    ann = await make_agent(conn, tenant, "Ann", team_id=red)
    ben = await make_agent(conn, tenant, "Ben", team_id=red)
    cat = await make_agent(conn, tenant, "Cat", team_id=blue)
    dex = await make_agent(conn, tenant, "Dex", team_id=blue, kind="ai")
    spring, summer = uuid.uuid4(), uuid.uuid4()
    await conn.execute("INSERT INTO campaigns (tenant_id, id, name) VALUES ($1, $2, 'Spring'), ($1, $3, 'Summer')",
                       tenant, spring, summer)
    mia = await make_user(conn, tenant, "mia@reports.test", "manager")
    await conn.execute("INSERT INTO team_managers (tenant_id, team_id, user_id) VALUES ($1, $2, $3)",
                       tenant, red, mia)
    floor = Floor(tenant=tenant, red=red, blue=blue, ann=ann, ben=ben, cat=cat, dex=dex, spring=spring,
                  summer=summer, admin=await make_user(conn, tenant, "boss@reports.test", "admin"),
                  viewer=await make_user(conn, tenant, "vic@reports.test", "viewer"), mia=mia,
                  ann_user=await make_user(conn, tenant, "ann@reports.test", "agent", agent_id=ann))
    k, s = spring, summer
    # name: direction, agent, campaign, local start, answered after (s; None: never), talk, hold, wrap,
    #       outcome, disposition, csat, cost, first-contact resolution, transferred
    for name, direction, agent, campaign, start, wait, talk, hold, wrap, outcome, disposition, csat, cost, fcr, tr in [
        # Monday 00:30 in Berlin is Sunday 23:30 UTC: inside the week.
        ("c1", "inbound", ann, k, "03-02T00:30", 10, 300, 0, 60, "connected", "resolved", 5, "1.00", True, False),
        ("c2", "inbound", ann, k, "03-02T09:40", 30, 200, 20, 40, "connected", "converted", 4, "1.00", False, False),
        ("c3", "outbound", ann, s, "03-03T14:05", 5, 100, 0, 20, "connected", "interested", None, "0.50", False,
         False),
        ("c4", "inbound", ben, k, "03-03T09:20", 15, 400, 60, 40, "connected", "callback", 2, "1.00", False, False),
        ("c5", "outbound", ben, s, "03-04T10:00", None, 0, 0, 0, "no_answer", None, None, "0.10", False, False),
        ("c6", "inbound", cat, None, "03-04T09:05", 5, 150, 0, 30, "connected", "resolved", 5, "0", True, False),
        ("c7", "inbound", dex, k, "03-05T22:30", 2, 120, 0, 0, "connected", "resolved", 3, "0", True, False),
        ("c8", "inbound", None, k, "03-05T09:50", None, 0, 0, 0, "abandoned", None, None, "0", False, False),
        ("c9", "inbound", cat, None, "03-07T11:00", 60, 240, 0, 60, "connected", "escalated", 1, "0", False, True),
        # Monday 00:30 of the next week is Sunday 23:30 UTC: outside it.
        ("x1", "inbound", cat, None, "03-09T00:30", 5, 100, 0, 0, "connected", "resolved", None, "0", True, False),
        # The week before.
        ("p1", "inbound", ann, k, "02-27T10:00", 10, 100, 0, 0, "connected", "resolved", None, "0", True, False),
        ("p2", "inbound", ben, None, "02-26T10:00", 10, 100, 0, 0, "connected", "resolved", None, "0", True, False),
        ("p3", "inbound", ben, None, "02-26T11:00", 10, 100, 0, 0, "connected", "resolved", None, "0", True, False),
    ]:
        started = local(start)
        answered = started + timedelta(seconds=wait) if wait is not None else None
        ended = (answered or started) + timedelta(seconds=talk + hold + 45)
        floor.calls[name] = uuid.uuid4()
        await conn.execute(CALL, tenant, floor.calls[name], direction, agent, campaign, started, answered, ended,
                           talk, hold, wrap, outcome == "abandoned", tr, fcr, outcome, disposition, csat,
                           Decimal(cost))
    # name: campaign, owner, source, stage, score, value, local creation
    for name, campaign, owner, source, stage, score, value, created in [
        ("l1", k, ann, "web_form", "won", 85, 500, "03-02T08:00"),
        ("l2", k, ann, "web_form", "new", 15, 100, "03-02T12:00"),
        ("l3", k, ben, "referral", "contacted", 45, 200, "03-03T10:00"),
        ("l4", s, ben, "web_form", "lost", 30, 0, "03-04T10:00"),
        ("l5", s, cat, "social", "qualified", 65, 300, "03-05T10:00"),
        ("l6", None, None, "import", "new", 0, 0, "03-06T10:00"),
        ("l7", s, cat, "email", "new", 50, 0, "03-08T20:00"),
        # Created long before the week, still open: only in the aging table.
        ("l0", k, ann, "inbound_call", "proposal", 70, 1000, "01-20T10:00"),
    ]:
        floor.leads[name] = uuid.uuid4()
        await conn.execute(LEAD, tenant, floor.leads[name], campaign, owner, name, source, stage, score,
                           Decimal(value), local(created))
    # l1: new → contacted → won by Ann (revenue 500); l3: new → contacted; l4: new → lost.
    for lead, stage, entered, exited, next_stage, agent, booked in [
        ("l1", "new", "03-02T08:00", "03-02T09:00", "contacted", None, None),
        ("l1", "contacted", "03-02T09:00", "03-02T09:45", "won", ann, None),
        ("l1", "won", "03-02T09:45", None, None, ann, Decimal(500)),
        ("l3", "new", "03-03T10:00", "03-03T11:00", "contacted", None, None),
        ("l3", "contacted", "03-03T11:00", None, None, ben, None),
        ("l4", "new", "03-04T10:00", "03-04T12:00", "lost", None, None),
        ("l4", "lost", "03-04T12:00", None, None, None, None),
    ]:
        await conn.execute(STAY, tenant, floor.leads[lead], stage, local(entered),
                           local(exited) if exited else None, next_stage, agent, booked)
    # assignee, status, local completion (or creation)
    for agent, status, when in [(ann, "completed", "03-02T15:00"), (ann, "completed", "03-04T15:00"),
                                (ben, "completed", "03-03T15:00"), (cat, "open", "03-03T15:00"),
                                (ann, "completed", "02-27T15:00")]:
        await conn.execute(TASK, tenant, agent, "task", status, local(when) if status == "completed" else None,
                           local(when))
    # Ann: 6,600 s available + 800 s busy = 7,400 s; Ben: 3,600 s available + 1,400 s wrap-up = 5,000 s.
    for agent, status, start, end in [(ann, "available", "03-02T08:00:00", "03-02T09:50:00"),
                                      (ann, "busy", "03-02T09:50:00", "03-02T10:03:20"),
                                      (ben, "available", "03-03T08:00:00", "03-03T09:00:00"),
                                      (ben, "wrap_up", "03-03T09:00:00", "03-03T09:23:20"),
                                      (ben, "offline", "03-03T09:23:20", "03-03T18:00:00")]:
        await conn.execute(PRESENCE, tenant, agent, status, local(start), local(end))
    for agent, points, when in [(ann, 50, "03-02T12:00"), (ben, 100, "03-03T12:00"), (cat, 20, "03-04T12:00"),
                                (ann, 30, "03-05T12:00"), (cat, -5, "03-06T12:00"),
                                (ann, 40, "02-27T12:00"), (ben, 100, "02-25T12:00"), (cat, 10, "01-15T12:00")]:
        await conn.execute(POINTS, tenant, agent, points, local(when))
    first, star = uuid.uuid4(), uuid.uuid4()
    await conn.execute(BADGE, tenant, first, "first_call", "First call", 10)
    await conn.execute(BADGE, tenant, star, "csat_star", "CSAT star", 25)
    for agent, badge, when in [(ann, first, "03-02T10:00"), (ann, star, "03-05T12:00"), (cat, first, "03-04T12:00"),
                               (ben, first, "02-25T12:00")]:
        await conn.execute(AWARD, tenant, agent, badge, local(when))
    for campaign, day, amount in [(k, "2026-03-02", "100.00"), (k, "2026-03-03", "50.00"), (s, "2026-03-04", "80.00"),
                                  (k, "2026-02-27", "20.00")]:
        await conn.execute(SPEND, tenant, campaign, datetime.fromisoformat(day).date(), Decimal(amount))
    # Another tenant's rows never show.
    other = await make_tenant(conn, "Elsewhere", TIMEZONE)
    mallory = await make_agent(conn, other, "Mallory")
    await conn.execute(CALL, other, uuid.uuid4(), "inbound", mallory, None, local("03-03T10:00"),
                       local("03-03T10:00"), local("03-03T10:05"), 300, 0, 0, False, False, False, "connected",
                       None, None, Decimal(0))
    return floor


@pytest.fixture(scope="module")
async def report_database(pg_server_dsn: str, template_database: str) -> AsyncIterator[TestDatabase]:
    """One database per test module: reports only read, so the floor is built once for all of them."""
    name = f"cp_test_{uuid.uuid4().hex[:12]}"
    await create_database(pg_server_dsn, name, template=template_database)
    try:
        yield test_database(pg_server_dsn, name)
    finally:
        await drop_database(pg_server_dsn, name)


@pytest.fixture(scope="module")
async def floor(report_database: TestDatabase) -> Floor:
    conn = await asyncpg.connect(report_database.admin_dsn)
    try:
        return await build_floor(conn)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def app_pool(report_database: TestDatabase) -> AsyncIterator[asyncpg.Pool]:
    """The request path's pool (RLS applies), as the report worker uses it."""
    pool = await create_pool(report_database.app_dsn, min_size=1, max_size=2)
    yield pool
    await pool.close()


@dataclass
class Sessions:
    """Opens tenant sessions for the floor and the Access of a principal in them, as the report worker does."""

    pool: asyncpg.Pool
    floor: Floor
    opened: list[TenantSession] = field(default_factory=list)

    def session(self) -> TenantSession:
        db = TenantSession(self.pool, self.floor.tenant)
        self.opened.append(db)
        return db

    async def access(self, db: TenantSession, role: str) -> Access:
        subject = {"admin": self.floor.admin, "viewer": self.floor.viewer, "manager": self.floor.mia,
                   "agent": self.floor.ann_user}[role]
        principal = Principal(user_id=str(subject), tenant_id=self.floor.tenant, roles=frozenset({Role(role)}))
        return await Loaders.for_session(db).access.load(principal)


@pytest.fixture
async def sessions(app_pool: asyncpg.Pool, floor: Floor) -> AsyncIterator[Sessions]:
    opened = Sessions(pool=app_pool, floor=floor)
    yield opened
    for db in opened.opened:
        await db.close(commit=False)
