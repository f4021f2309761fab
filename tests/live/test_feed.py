"""liveCalls: calls in commit order; `after` replays exactly what a client missed, even out-of-order commits."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from tests.conftest import LiveGateway
from tests.factories import make_agent, make_team, make_tenant, make_user
from tests.live.helpers import call_event, ingest, subscribed

LIVE_CALLS = """
subscription($after: String) { liveCalls(after: $after) { cursor replay calls { id agent { name } } } }"""
INSERT_CALL = """
INSERT INTO calls (tenant_id, id, direction, agent_id, started_at, ended_at, outcome)
VALUES ($1, $2, 'inbound', $3, '2026-03-02T13:00:00Z', '2026-03-02T13:01:00Z', 'connected')
"""


def call_ids(payload: dict[str, Any]) -> list[str]:
    from gateway.ids import decode_id

    assert "errors" not in payload, payload
    return [str(decode_id(c["id"], "Call")[1]) for c in payload["data"]["liveCalls"]["calls"]]


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    tenant = await make_tenant(admin_conn, "Acme", "Europe/Berlin")
    red = await make_team(admin_conn, tenant, "Red")
    return {"tenant": tenant, "red": red, "ada": await make_agent(admin_conn, tenant, "Ada", team_id=red),
            "bo": await make_agent(admin_conn, tenant, "Bo")}


async def test_live_calls_replays_exactly_the_missed_calls_including_one_committed_out_of_order(
    gateway: LiveGateway, floor: dict[str, uuid.UUID], database: Any
) -> None:
    token = gateway.token(floor["tenant"])
    late = uuid.uuid4()
    # given a transaction that wrote a call first but has not committed yet
    slow = await asyncpg.connect(database.admin_dsn)
    await slow.execute("BEGIN")
    await slow.execute(INSERT_CALL, floor["tenant"], late, floor["ada"])
    try:
        async with subscribed(gateway, token, LIVE_CALLS) as sub:
            opening = (await sub.next())["data"]["liveCalls"]
            assert opening["calls"] == []
            assert opening["replay"] is False
            # when a call that started later commits first, the client gets it
            early = call_event(floor["bo"])
            await ingest(gateway, floor["tenant"], [early])
            batch = await sub.next()
            assert call_ids(batch) == [early["data"]["call_id"]]
            cursor = batch["data"]["liveCalls"]["cursor"]
        # and leaves; meanwhile the older transaction commits and another call ends
        await slow.execute("COMMIT")
        after = call_event(floor["ada"])
        await ingest(gateway, floor["tenant"], [after])
        # then resuming from its cursor replays those two, and only those
        async with subscribed(gateway, token, LIVE_CALLS, {"after": cursor}) as sub:
            replayed: list[str] = []
            while len(replayed) < 2:
                payload = await sub.next()
                assert payload["data"]["liveCalls"]["replay"] is True
                replayed += call_ids(payload)
            assert sorted(replayed) == sorted([str(late), after["data"]["call_id"]])
            assert await sub.quiet(0.5)
            # and goes live afterwards
            again = call_event(floor["bo"])
            await ingest(gateway, floor["tenant"], [again])
            assert call_ids(await sub.next()) == [again["data"]["call_id"]]
    finally:
        # Closing rolls back what an assertion failing first left open.
        await slow.close()


async def test_a_call_committed_while_subscribed_arrives_after_the_one_that_committed_first(
    gateway: LiveGateway, floor: dict[str, uuid.UUID], database: Any
) -> None:
    token = gateway.token(floor["tenant"])
    slow = await asyncpg.connect(database.admin_dsn)
    late = uuid.uuid4()
    try:
        async with subscribed(gateway, token, LIVE_CALLS) as sub:
            await sub.next()
            async with slow.transaction():
                await slow.execute(INSERT_CALL, floor["tenant"], late, floor["ada"])
                first = call_event(floor["bo"])
                await ingest(gateway, floor["tenant"], [first])
                assert call_ids(await sub.next()) == [first["data"]["call_id"]]
            assert call_ids(await sub.next()) == [str(late)]
            assert await sub.quiet(0.5)
    finally:
        await slow.close()


async def test_an_agent_sees_only_its_own_calls_in_the_feed(
    gateway: LiveGateway, floor: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    user = await make_user(admin_conn, floor["tenant"], "ada@acme.test", "agent", floor["ada"])
    token = gateway.token(floor["tenant"], str(user), roles=("agent",))
    async with subscribed(gateway, token, LIVE_CALLS) as sub:
        await sub.next()
        theirs, mine = call_event(floor["bo"]), call_event(floor["ada"])
        await ingest(gateway, floor["tenant"], [theirs, mine])
        assert call_ids(await sub.next()) == [mine["data"]["call_id"]]


async def test_a_cursor_we_did_not_make_is_bad_user_input(gateway: LiveGateway,
                                                         floor: dict[str, uuid.UUID]) -> None:
    async with subscribed(gateway, gateway.token(floor["tenant"]), LIVE_CALLS, {"after": "bm90LWEtY3Vyc29y"}) as sub:
        payload = await sub.next()
    message = payload.get("protocol", payload)
    errors = message.get("payload", message).get("errors", message.get("payload"))
    assert json.dumps(errors).count("BAD_USER_INPUT") == 1, payload
