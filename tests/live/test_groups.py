"""Multiplexing: subscribers asking one question share one refresh; changes elsewhere cost nothing."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery

from gateway.live import LiveHub
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_agent, make_team, make_tenant
from tests.live.helpers import DAY, Subscriber, call_event, ingest, subscribed
from tests.resolvers.test_metrics import BOOKKEEPING

RANGE = {"from": DAY, "to": DAY}
TENANT_CALLS = """
subscription($range: DateRange!) {
  metrics(scope: {kind: TENANT}, range: $range, metrics: [CALLS_TOTAL]) { values { value } }
}"""
TEAM_CALLS = """
subscription($team: ID!, $range: DateRange!) {
  metrics(scope: {kind: TEAM, id: $team}, range: $range, metrics: [CALLS_TOTAL]) { values { value } }
}"""


def calls_total(payload: dict[str, object]) -> float:
    data = payload["data"]
    assert isinstance(data, dict), payload
    value: float = data["metrics"]["values"][0]["value"]
    return value


async def settled(hub: LiveHub) -> None:
    """Until no group has a refresh scheduled or running: a change signalled while a group's first refresh ran
    (a fixture's own writes, say) makes it refresh once more, by design (LiveHub.on_change)."""
    for _ in range(500):
        if not any(group.refreshing for group in hub.groups.values()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the live groups kept refreshing")


def hub_of(gateway: LiveGateway) -> LiveHub:
    hub = getattr(gateway.server.config.app, "state").live  # noqa: B009 - the Starlette app behind uvicorn
    assert isinstance(hub, LiveHub)
    return hub


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    tenant = await make_tenant(admin_conn, "Acme", "Europe/Berlin")
    red, blue = await make_team(admin_conn, tenant, "Red"), await make_team(admin_conn, tenant, "Blue")
    other = await make_tenant(admin_conn, "Other", "UTC")
    return {"tenant": tenant, "red": red, "blue": blue,
            "ada": await make_agent(admin_conn, tenant, "Ada", team_id=red),
            "bo": await make_agent(admin_conn, tenant, "Bo", team_id=blue),
            "other": other, "olga": await make_agent(admin_conn, other, "Olga")}


async def test_fifty_subscribers_of_one_question_cost_the_statements_of_one(
    database: TestDatabase, gateway_factory: GatewayFactory, floor: dict[str, uuid.UUID]
) -> None:
    statements: list[str] = []

    def log(logged: LoggedQuery) -> None:
        if not logged.query.lstrip().startswith(BOOKKEEPING):
            statements.append(logged.query)

    gateway = await gateway_factory(database, query_logger=log)
    token = gateway.token(floor["tenant"])
    counts = []
    async with AsyncExitStack() as stack:
        subscribers: list[Subscriber] = []
        for size in (1, 50):
            # given `size` subscribers of the same question, each with its first result
            while len(subscribers) < size:
                sub = await stack.enter_async_context(subscribed(gateway, token, TENANT_CALLS, {"range": RANGE}))
                await sub.next()
                subscribers.append(sub)
            await settled(hub_of(gateway))
            refreshes = hub_of(gateway).refreshes
            # when one change arrives
            await ingest(gateway, floor["tenant"], [call_event(floor["ada"])])
            statements.clear()
            # then every subscriber gets the new figure, from one refresh
            values = [calls_total(await s.next()) for s in subscribers]
            assert values == [float(size == 50) + 1] * size
            await asyncio.sleep(0.3)
            counts.append(len(statements))
            assert hub_of(gateway).refreshes == refreshes + 1
    assert counts[0] == counts[1] > 0


async def test_a_change_to_another_tenant_or_an_untouched_scope_costs_nothing(
    database: TestDatabase, gateway_factory: GatewayFactory, floor: dict[str, uuid.UUID]
) -> None:
    statements: list[str] = []

    def log(logged: LoggedQuery) -> None:
        if not logged.query.lstrip().startswith(BOOKKEEPING):
            statements.append(logged.query)

    gateway = await gateway_factory(database, query_logger=log)
    red_team = {"team": _team_id(floor["red"]), "range": RANGE}
    async with subscribed(gateway, gateway.token(floor["tenant"]), TEAM_CALLS, red_team) as red:
        assert calls_total(await red.next()) == 0
        await settled(hub_of(gateway))
        refreshes = hub_of(gateway).refreshes
        # when calls end in another tenant, and in the tenant's other team
        await ingest(gateway, floor["other"], [call_event(floor["olga"])])
        await ingest(gateway, floor["tenant"], [call_event(floor["bo"])])
        statements.clear()
        # then nothing is refreshed, nothing is sent
        assert await red.quiet(0.6)
        assert statements == []
        assert hub_of(gateway).refreshes == refreshes
        # and a call in the team itself is
        await ingest(gateway, floor["tenant"], [call_event(floor["ada"])])
        assert calls_total(await red.next()) == 1


async def test_a_subscriber_of_another_tenant_receives_nothing(
    gateway: LiveGateway, floor: dict[str, uuid.UUID]
) -> None:
    async with (subscribed(gateway, gateway.token(floor["tenant"]), TENANT_CALLS, {"range": RANGE}) as mine,
                subscribed(gateway, gateway.token(floor["other"]), TENANT_CALLS, {"range": RANGE}) as theirs):
        assert calls_total(await mine.next()) == 0
        assert calls_total(await theirs.next()) == 0
        await ingest(gateway, floor["tenant"], [call_event(floor["ada"])])
        assert calls_total(await mine.next()) == 1
        assert await theirs.quiet(0.5)


async def test_a_slow_consumer_does_not_delay_a_fast_one_and_holds_one_state_at_most(
    gateway: LiveGateway, floor: dict[str, uuid.UUID]
) -> None:
    token = gateway.token(floor["tenant"])
    async with (subscribed(gateway, token, TENANT_CALLS, {"range": RANGE}) as fast,
                subscribed(gateway, token, TENANT_CALLS, {"range": RANGE}) as slow):
        await fast.next()
        await slow.next()
        # when ten changes arrive one after another and the slow client reads nothing
        for n in range(1, 11):
            await ingest(gateway, floor["tenant"], [call_event(floor["ada"])])
            # then the fast one sees each (in time: a push within the 10 s of next())
            while calls_total(await fast.next()) < n:
                pass
            waiting = [s.waiting for g in hub_of(gateway).groups.values() for s in g.subscribers]
            assert max(waiting) <= 1
        # and the slow one, reading at last, ends at the latest state
        last = 0.0
        while last < 10:
            last = calls_total(await slow.next())
        assert last == 10


def _team_id(team: uuid.UUID) -> str:
    from gateway.ids import encode_id

    return encode_id("Team", team)
