"""Event analytics of `track` events: totals, unique users, categories, top names and series."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from tests.conftest import LiveGateway
from tests.factories import make_tenant
from tests.resolvers.test_agents import graphql

EVENT = """
INSERT INTO analytics_events (tenant_id, id, occurred_at, event_type, name, category, user_id)
VALUES ($1, gen_random_uuid(), $2::text::timestamptz, 'track', $3, $4, $5)
"""
QUERY = """
query($category: EventCategory, $names: [String!], $granularity: Granularity! = DAY, $top: Int! = 10) {
  eventAnalytics(range: {from: "2026-03-01", to: "2026-03-02"}, category: $category, names: $names,
                 granularity: $granularity, top: $top) {
    events uniqueUsers
    byCategory { category events uniqueUsers }
    topNames { name category events uniqueUsers }
    bucketStarts
    series { name events uniqueUsers }
  }
}
"""


@pytest.fixture
async def tenant(admin_conn: asyncpg.Connection) -> UUID:
    """Kolkata (UTC+05:30). Users u1, u2; a call.ended event and another tenant's track event must not count."""
    tenant = await make_tenant(admin_conn, "Tracked", "Asia/Kolkata")
    u1, u2 = uuid.uuid4(), uuid.uuid4()
    for at, name, category, user in [
        ("2026-03-01T04:00Z", "dashboard_view", "page_view", u1),
        ("2026-03-01T05:00Z", "dashboard_view", "page_view", u1),
        ("2026-03-01T06:00Z", "dashboard_view", "page_view", u2),
        ("2026-03-01T19:00Z", "dashboard_view", "page_view", u2),   # 00:30 on March 2 in Kolkata
        ("2026-03-01T07:00Z", "report_exported", "action", u1),
        ("2026-03-02T08:00Z", "plan_upgraded", "conversion", u2),
        ("2026-02-28T18:00Z", "dashboard_view", "page_view", u1),  # 23:30 on Feb 28 local: outside
    ]:
        await admin_conn.execute(EVENT, tenant, at, name, category, user)
    await admin_conn.execute("INSERT INTO analytics_events (tenant_id, id, occurred_at, event_type) "
                             "VALUES ($1, gen_random_uuid(), '2026-03-01T04:00Z', 'call.ended')", tenant)
    # uncategorised: counts in the totals, and as a category of its own
    await admin_conn.execute(EVENT, tenant, "2026-03-02T09:00Z", "beta_opened", None, u1)
    other = await make_tenant(admin_conn, "Other")
    await admin_conn.execute(EVENT, other, "2026-03-01T04:00Z", "dashboard_view", "page_view", u1)
    return tenant


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]["eventAnalytics"]
    return data


async def test_totals_categories_and_top_names_count_events_and_distinct_users(
    gateway: LiveGateway, tenant: UUID
) -> None:
    result = ok(await graphql(gateway, gateway.token(tenant), QUERY))
    assert (result["events"], result["uniqueUsers"]) == (7, 2)
    assert sorted(result["byCategory"], key=lambda c: (-c["events"], str(c["category"]))) == [
        {"category": "PAGE_VIEW", "events": 4, "uniqueUsers": 2},
        {"category": "ACTION", "events": 1, "uniqueUsers": 1},
        {"category": "CONVERSION", "events": 1, "uniqueUsers": 1},
        {"category": None, "events": 1, "uniqueUsers": 1},
    ]
    assert result["topNames"] == [
        {"name": "dashboard_view", "category": "PAGE_VIEW", "events": 4, "uniqueUsers": 2},
        {"name": "beta_opened", "category": None, "events": 1, "uniqueUsers": 1},
        {"name": "plan_upgraded", "category": "CONVERSION", "events": 1, "uniqueUsers": 1},
        {"name": "report_exported", "category": "ACTION", "events": 1, "uniqueUsers": 1},
    ]


async def test_the_daily_series_follows_the_tenants_local_days(gateway: LiveGateway, tenant: UUID) -> None:
    result = ok(await graphql(gateway, gateway.token(tenant), QUERY, names=["dashboard_view", "plan_upgraded"]))
    assert result["bucketStarts"] == ["2026-02-28T18:30:00+00:00", "2026-03-01T18:30:00+00:00"]
    assert result["series"] == [
        {"name": "dashboard_view", "events": [3, 1], "uniqueUsers": [2, 1]},
        {"name": "plan_upgraded", "events": [0, 1], "uniqueUsers": [0, 1]},
    ]


async def test_filters_by_category_and_names_and_hourly_buckets(gateway: LiveGateway, tenant: UUID) -> None:
    token = gateway.token(tenant)
    actions = ok(await graphql(gateway, token, QUERY, category="ACTION"))
    assert (actions["events"], [n["name"] for n in actions["topNames"]]) == (1, ["report_exported"])
    hourly = ok(await graphql(gateway, token, QUERY, names=["dashboard_view"], granularity="HOUR"))
    assert len(hourly["bucketStarts"]) == 48
    # 04:00, 05:00, 06:00 UTC are the local hours starting 09:30, 10:30, 11:30 on March 1
    counts = hourly["series"][0]["events"]
    assert [i for i, c in enumerate(counts) if c] == [9, 10, 11, 24]
    assert hourly["bucketStarts"][9] == "2026-03-01T03:30:00+00:00"


@pytest.mark.parametrize("role", ["agent", "service"])
async def test_event_analytics_need_a_role_reading_tenant_figures(
    gateway: LiveGateway, tenant: UUID, role: str
) -> None:
    body = await graphql(gateway, gateway.token(tenant, roles=(role,)), QUERY)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
