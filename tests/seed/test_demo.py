"""`callpulse demo`'s data tells the truth: a floor's real figures, nothing after now, a previous period to
compare with, and product analytics — read through the GraphQL API, as a frontend would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from gateway import db as dbmod
from gateway.cli import DEMO_OPTIONS
from gateway.seed import seed_database
from gateway.settings import DEFAULT_APP_ROLE
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.seed.test_seed import MOMENTS

# Table and column names come from the constant above: no injection.
AFTER_NOW: Final = {(t, c): f"SELECT count(*) FROM {t} WHERE {c} > now()" for t, c in MOMENTS}  # noqa: S608
OPEN_STAYS_PER_AGENT: Final = """
SELECT count(*) FILTER (WHERE s.ended_at IS NULL) AS open
FROM agents a LEFT JOIN agent_status_intervals s ON s.tenant_id = a.tenant_id AND s.agent_id = a.id
GROUP BY a.tenant_id, a.id
"""
TENANTS: Final = "SELECT id, timezone FROM tenants ORDER BY name"
UNANALYZED: Final = """
SELECT relname FROM pg_stat_user_tables
WHERE relname = any($1::text[]) AND last_analyze IS NULL AND last_autoanalyze IS NULL
"""
LOADED: Final = ["calls", "agents", "leads", "agent_status_intervals", "agent_metrics", "metrics_15m",
                 "daily_reports", "analytics_event_ids"]

TENANT_FIGURES: Final = """
query Figures {
  tenant {
    metrics(range: { preset: LAST_30_DAYS }) {
      callsHandled averageSpeedOfAnswerSeconds serviceLevel abandonmentRate averageHandleTimeSeconds occupancy
    }
    trend(metric: CALLS_HANDLED, range: { preset: LAST_30_DAYS }) { current previous }
    today: metrics(range: { preset: TODAY }) { callsTotal }
  }
  dailyReports(range: { preset: LAST_MONTH }) { day metrics { callsHandled } }
}
"""
AGENTS: Final = """
query Agents {
  agents(first: 200) { edges { node {
    kind
    metrics(range: { preset: LAST_30_DAYS }) { callsHandled availableSeconds occupancy }
  } } }
}
"""
CAMPAIGNS: Final = """
query Campaigns {
  campaigns(first: 200) { edges { node { name metrics(range: { preset: LAST_30_DAYS }) { roi } } } }
}
"""
EVENTS: Final = """
query Events {
  eventAnalytics(range: { preset: LAST_7_DAYS }) {
    events uniqueUsers byCategory { category events } topNames { name events }
  }
}
"""


@pytest.fixture(scope="module")
async def demo(pg_server_dsn: str, template_database: str) -> AsyncIterator[TestDatabase]:
    """A database holding exactly what `callpulse demo` seeds, once for the module."""
    name = f"cp_demo_{uuid.uuid4().hex[:12]}"
    server = await asyncpg.connect(pg_server_dsn)
    try:
        await server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    finally:
        await server.close()
    admin = dbmod.dsn_with(pg_server_dsn, database=name)
    conns = [await asyncpg.connect(admin) for _ in range(2)]
    try:
        await seed_database(conns[0], DEMO_OPTIONS, extra_connections=conns[1:])
    finally:
        for conn in conns:
            await conn.close()
    yield TestDatabase(name=name, admin_dsn=admin, app_dsn=dbmod.dsn_with(admin, user=DEFAULT_APP_ROLE))
    server = await asyncpg.connect(pg_server_dsn)
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


@pytest.fixture
async def tenants(demo: TestDatabase) -> list[tuple[uuid.UUID, str]]:
    conn = await asyncpg.connect(demo.admin_dsn)
    try:
        return [(r["id"], r["timezone"]) for r in await conn.fetch(TENANTS)]
    finally:
        await conn.close()


async def ask(gateway: LiveGateway, tenant: uuid.UUID, query: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        response = await client.post("/graphql", json={"query": query},
                                     headers={"Authorization": f"Bearer {gateway.token(tenant)}"})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_nothing_seeded_comes_after_now_and_the_planner_has_statistics(demo: TestDatabase) -> None:
    conn = await asyncpg.connect(demo.admin_dsn)
    try:
        late = {key: n for key, sql in AFTER_NOW.items() if (n := await conn.fetchval(sql))}
        open_stays = {r["open"] for r in await conn.fetch(OPEN_STAYS_PER_AGENT)}
        unanalyzed = [r["relname"] for r in await conn.fetch(UNANALYZED, LOADED)]
    finally:
        await conn.close()
    assert late == {}
    assert open_stays == {1}  # every agent's stay under way now is its open one
    assert unanalyzed == []


async def test_today_is_filled_up_to_now_and_the_previous_period_and_last_month_have_data(
        demo: TestDatabase, gateway_factory: GatewayFactory, tenants: list[tuple[uuid.UUID, str]]) -> None:
    gateway = await gateway_factory(demo)
    checked_today = 0
    for tenant, timezone in tenants:
        data = await ask(gateway, tenant, TENANT_FIGURES)
        trend = data["tenant"]["trend"]
        assert trend["previous"] > 0.8 * trend["current"] > 0
        last_month = data["dailyReports"]
        assert all(d["metrics"]["callsHandled"] > 0 for d in last_month), last_month
        # By ten in the morning the floor has been open for hours (at every moment one tenant is past ten).
        if datetime.now(ZoneInfo(timezone)).hour >= 10:
            assert data["tenant"]["today"]["callsTotal"] > 0
            checked_today += 1
    assert checked_today > 0


async def test_callers_wait_as_on_a_real_floor(
        demo: TestDatabase, gateway_factory: GatewayFactory, tenants: list[tuple[uuid.UUID, str]]) -> None:
    gateway = await gateway_factory(demo)
    for tenant, _ in tenants:
        figures = (await ask(gateway, tenant, TENANT_FIGURES))["tenant"]["metrics"]
        assert 10 <= figures["averageSpeedOfAnswerSeconds"] <= 60, figures
        assert 0.5 < figures["serviceLevel"] < 1, figures  # some callers wait past the threshold
        assert 0.01 < figures["abandonmentRate"] < 0.1, figures  # a few hang up
        assert 240 <= figures["averageHandleTimeSeconds"] <= 600, figures


async def test_humans_are_occupied_as_on_a_real_floor_and_ai_agents_have_no_occupancy(
        demo: TestDatabase, gateway_factory: GatewayFactory, tenants: list[tuple[uuid.UUID, str]]) -> None:
    gateway = await gateway_factory(demo)
    for tenant, _ in tenants:
        assert 0.6 <= (await ask(gateway, tenant, TENANT_FIGURES))["tenant"]["metrics"]["occupancy"] <= 0.9
        agents = [e["node"] for e in (await ask(gateway, tenant, AGENTS))["agents"]["edges"]]
        ai = [a["metrics"] for a in agents if a["kind"] == "AI"]
        assert ai
        assert all(m["callsHandled"] > 0 and m["occupancy"] is None for m in ai)
        # Humans who worked the period (a week's shifts or more; some are on leave or have left).
        humans = [a["metrics"] for a in agents
                  if a["kind"] == "HUMAN" and a["metrics"]["availableSeconds"] > 40 * 3600]
        assert len(humans) >= 5
        assert all(0.6 <= m["occupancy"] <= 0.9 for m in humans), humans


async def test_some_campaigns_make_money_and_some_lose_it(
        demo: TestDatabase, gateway_factory: GatewayFactory, tenants: list[tuple[uuid.UUID, str]]) -> None:
    gateway = await gateway_factory(demo)
    for tenant, _ in tenants:
        campaigns = (await ask(gateway, tenant, CAMPAIGNS))["campaigns"]["edges"]
        rois = [e["node"]["metrics"]["roi"] for e in campaigns if e["node"]["metrics"]["roi"] is not None]
        assert min(rois) < 0 < 0.5 < max(rois), campaigns


async def test_product_analytics_has_page_views_actions_and_conversions(
        demo: TestDatabase, gateway_factory: GatewayFactory, tenants: list[tuple[uuid.UUID, str]]) -> None:
    gateway = await gateway_factory(demo)
    for tenant, _ in tenants:
        analytics = (await ask(gateway, tenant, EVENTS))["eventAnalytics"]
        assert analytics["events"] > 100
        assert analytics["uniqueUsers"] >= 5
        assert {c["category"] for c in analytics["byCategory"]} == {"PAGE_VIEW", "ACTION", "CONVERSION"}
        assert analytics["topNames"][0]["name"] == "dashboard_viewed"
