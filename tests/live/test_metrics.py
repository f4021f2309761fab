"""metrics and leaderboard subscriptions: a first result, then a push within a second of each change."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import websockets

from gateway.ids import encode_id
from tests.conftest import LiveGateway
from tests.factories import make_agent, make_team, make_tenant, make_user
from tests.live.helpers import DAY, TRANSPORT, call_event, ingest, subscribed
from tests.test_websocket import EXPIRING_TTL_SECONDS, close_of

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


async def test_a_bad_token_is_refused_at_connection_init(gateway: LiveGateway) -> None:
    async with websockets.connect(gateway.ws_url, subprotocols=[TRANSPORT]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}))
        code, _ = await close_of(ws)
    assert code == 4403


async def test_a_token_expiring_mid_stream_closes_the_live_socket(gateway: LiveGateway,
                                                                  tenant: dict[str, uuid.UUID]) -> None:
    token = gateway.token(tenant["tenant"], "boss", roles=("admin",), ttl_seconds=EXPIRING_TTL_SECONDS)
    async with subscribed(gateway, token, TENANT_CALLS, {"range": RANGE}) as sub:
        await sub.next()
        code, reason = await close_of(sub.ws)
    assert (code, reason) == (4403, "Forbidden: the token has expired")


MANAGER_TEAM = """
subscription($team: ID!) {
  metrics(scope: {kind: TEAM, id: $team}, range: {from: "2026-03-02", to: "2026-03-02"}, metrics: [CALLS_TOTAL]) {
    values { value }
  }
}"""


async def test_role_rules_hold_for_live_figures(gateway: LiveGateway, tenant: dict[str, uuid.UUID],
                                                admin_conn: asyncpg.Connection) -> None:
    team = await make_team(admin_conn, tenant["tenant"], "Red")
    agent_user = await make_user(admin_conn, tenant["tenant"], "ada@acme.test", "agent", tenant["agent"])
    token = gateway.token(tenant["tenant"], str(agent_user), roles=("agent",))
    async with subscribed(gateway, token, MANAGER_TEAM, {"team": encode_id("Team", team)}) as sub:
        payload = await sub.next()
    assert payload["data"] is None
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["FORBIDDEN"]


BOARD = """
subscription { leaderboard(range: {from: "2026-03-02", to: "2026-03-02"}, metric: CALLS_HANDLED) {
  entries { value agent { name } } } }"""


async def test_a_directory_change_refreshes_what_shows_it(gateway: LiveGateway, tenant: dict[str, uuid.UUID]) -> None:
    token = gateway.token(tenant["tenant"], "boss", roles=("admin",))
    async with subscribed(gateway, token, BOARD) as sub:
        assert (await sub.next())["data"]["leaderboard"]["entries"] == [{"value": 0.0, "agent": {"name": "Ada"}}]
        # when the agent is renamed (no rollup changes: a directory event)
        # (at the present: a directory row keeps its newest version)
        now = datetime.now(UTC).isoformat()
        renamed = {"id": str(uuid.uuid4()), "type": "agent.upserted", "occurred_at": now,
                   "data": {"id": str(tenant["agent"]), "name": "Ada Lovelace", "kind": "human"}}
        await ingest(gateway, tenant["tenant"], [renamed])
        # then the leaderboard shows the new name
        assert (await sub.next())["data"]["leaderboard"]["entries"] == [
            {"value": 0.0, "agent": {"name": "Ada Lovelace"}}]


async def test_the_legacy_protocol_gets_live_updates_too(gateway: LiveGateway, tenant: dict[str, uuid.UUID]) -> None:
    token = gateway.token(tenant["tenant"], "boss", roles=("admin",))
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "7", "type": "start",
                                  "payload": {"query": TENANT_CALLS, "variables": {"range": RANGE}}}))

        async def data() -> dict[str, Any]:
            while True:
                message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message["type"] == "data":
                    assert message["id"] == "7"
                    payload: dict[str, Any] = message["payload"]
                    return payload

        assert (await data())["data"]["metrics"]["values"][0] == {"name": "calls_total", "value": 0.0}
        await ingest(gateway, tenant["tenant"], [call_event(tenant["agent"])])
        assert (await data())["data"]["metrics"]["values"][0] == {"name": "calls_total", "value": 1.0}
