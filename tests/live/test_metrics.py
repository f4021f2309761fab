"""metrics and leaderboard subscriptions: a first result, then a push within a second of each change."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.conftest import LiveGateway
from tests.factories import make_agent, make_tenant
from tests.live.helpers import DAY, call_event, ingest, subscribed

TENANT_CALLS = """
subscription($range: DateRange!) {
  metrics(scope: {kind: TENANT}, range: $range, metrics: [CALLS_TOTAL, AVERAGE_HANDLE_TIME]) {
    from to values { name value }
  }
}"""
RANGE = {"from": DAY, "to": DAY}


@pytest.fixture
async def tenant(admin_conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    tenant_id = await make_tenant(admin_conn, "Acme", "Europe/Berlin")
    return {"tenant": tenant_id, "agent": await make_agent(admin_conn, tenant_id, "Ada")}


async def test_a_subscriber_gets_the_figures_then_each_change(gateway: LiveGateway,
                                                              tenant: dict[str, uuid.UUID]) -> None:
    token = gateway.token(tenant["tenant"], "boss", roles=("admin",))
    async with subscribed(gateway, token, TENANT_CALLS, {"range": RANGE}) as sub:
        first = await sub.next()
        assert first == {"data": {"metrics": {"from": DAY, "to": DAY, "values": [
            {"name": "calls_total", "value": 0.0}, {"name": "average_handle_time_seconds", "value": None}]}}}
        await ingest(gateway, tenant["tenant"], [call_event(tenant["agent"])])
        second = await sub.next()
        assert second["data"]["metrics"]["values"][0] == {"name": "calls_total", "value": 1.0}
        assert second["data"]["metrics"]["values"][1] == {"name": "average_handle_time_seconds", "value": 250.0}
