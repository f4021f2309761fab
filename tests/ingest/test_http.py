"""POST /api/v1/events and trackEvents over real HTTP: idempotency, rejections, limits, roles, atomicity."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_agent, make_tenant

T0 = "2026-03-02T14:00:00Z"


def event(type_: str, data: dict[str, Any], occurred_at: str = T0, id_: str | None = None) -> dict[str, Any]:
    return {"id": id_ or str(uuid.uuid4()), "type": type_, "occurred_at": occurred_at, "data": data}


def call(agent_id: uuid.UUID | str | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"call_id": str(uuid.uuid4()), "direction": "inbound",
                            "agent_id": str(agent_id) if agent_id else None,
                            "started_at": "2026-03-02T14:00:00Z", "answered_at": "2026-03-02T14:00:10Z",
                            "ended_at": "2026-03-02T14:05:00Z", "talk_seconds": 250, "outcome": "connected"}
    data.update(extra)
    return event("call.ended", data, occurred_at="2026-03-02T14:05:00Z")


@pytest.fixture
async def tenant(admin_conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    tenant_id = await make_tenant(admin_conn, "Acme", "Europe/Berlin")
    agent_id = await make_agent(admin_conn, tenant_id, "Ada")
    return {"tenant": tenant_id, "agent": agent_id}


async def post(gateway: LiveGateway, token: str, body: Any, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        if isinstance(body, bytes | str):
            return await client.post("/api/v1/events", content=body, headers={"Authorization": f"Bearer {token}",
                                                                              **kwargs.get("headers", {})})
        return await client.post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"})


def service_token(gateway: LiveGateway, tenant_id: uuid.UUID) -> str:
    return gateway.token(tenant_id, "platform", roles=("service",))


async def test_resending_an_event_changes_nothing(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    token = service_token(gateway, tenant["tenant"])
    batch = [call(tenant["agent"])]
    first = await post(gateway, token, batch)
    again = await post(gateway, token, batch)
    assert first.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert await admin_conn.fetchval("SELECT count(*) FROM calls") == 1
    assert await admin_conn.fetchval("SELECT calls_total FROM daily_reports") == 1


async def test_the_same_id_with_another_payload_is_a_conflict_and_never_overwrites(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    token = service_token(gateway, tenant["tenant"])
    original = call(tenant["agent"], talk_seconds=100)
    await post(gateway, token, [original])
    altered = {**original, "data": {**original["data"], "talk_seconds": 999}}
    response = await post(gateway, token, [altered])
    assert response.json()["accepted"] == 0
    assert [(r["index"], r["id"], r["code"]) for r in response.json()["rejected"]] == [
        (0, original["id"], "CONFLICT")]
    assert await admin_conn.fetchval("SELECT talk_seconds FROM calls") == 100


async def test_a_batch_with_invalid_events_stores_the_valid_ones_and_reports_each_rejection(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    token = service_token(gateway, tenant["tenant"])
    good = call(tenant["agent"])
    unknown_agent = str(uuid.uuid4())
    batch = [
        good,
        event("no.such.type", {}),
        event("call.ended", {"direction": "inbound"}),                       # missing call_id
        call(tenant["agent"], talk_seconds="long"),                           # wrong type
        call(tenant["agent"], csat_rating=9),                                 # out of range
        call(unknown_agent),                                                  # unknown reference
        {"id": "not-a-uuid", "type": "track", "occurred_at": T0, "data": {}},
        "not an object",
        event("track", {"name": "page", "category": "page_view"}),
    ]
    response = await post(gateway, token, batch)
    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 2
    assert [(r["index"], r["code"], r["field"]) for r in body["rejected"]] == [
        (1, "BAD_USER_INPUT", "type"),
        (2, "BAD_USER_INPUT", "data.call_id"),
        (3, "BAD_USER_INPUT", "data.talk_seconds"),
        (4, "BAD_USER_INPUT", "data.csat_rating"),
        (5, "NOT_FOUND", "data.agent_id"),
        (6, "BAD_USER_INPUT", "id"),
        (7, "BAD_USER_INPUT", None),
    ]
    assert unknown_agent in body["rejected"][4]["reason"]
    assert body["rejected"][0]["id"] == batch[1]["id"]
    assert await admin_conn.fetchval("SELECT count(*) FROM calls") == 1
    assert await admin_conn.fetchval("SELECT count(*) FROM analytics_events") == 2


async def test_text_postgresql_cannot_store_rejects_only_its_event(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    batch = [event("track", {"name": "nul\u0000name", "category": "action"}),
             event("track", {"name": "ok", "category": "action", "properties": {"x": "a\u0000b"}}),
             call(tenant["agent"])]
    body = (await post(gateway, service_token(gateway, tenant["tenant"]), batch)).json()
    assert body["accepted"] == 1
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(0, "BAD_USER_INPUT"), (1, "BAD_USER_INPUT")]
    assert await admin_conn.fetchval("SELECT count(*) FROM calls") == 1


async def test_references_created_in_the_same_batch_are_known(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    token = service_token(gateway, tenant["tenant"])
    team, agent, lead = (str(uuid.uuid4()) for _ in range(3))
    batch = [
        call(agent, lead_id=lead),  # before its agent and lead, in batch order
        event("lead.created", {"lead_id": lead, "source": "web_form"}, occurred_at="2026-03-01T09:00:00Z"),
        event("agent.upserted", {"id": agent, "name": "Bo", "kind": "ai", "team_id": team}),
        event("team.upserted", {"id": team, "name": "Night shift"}),
    ]
    response = await post(gateway, token, batch)
    assert response.json() == {"accepted": 4, "duplicates": 0, "rejected": []}
    assert await admin_conn.fetchval("SELECT team_id FROM agents WHERE id = $1", uuid.UUID(agent)) == uuid.UUID(team)


async def test_a_tenant_named_in_the_payload_is_ignored_for_the_tokens(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    other = await make_tenant(admin_conn, "Other")
    token = service_token(gateway, tenant["tenant"])
    sneaky = event("team.upserted", {"id": str(uuid.uuid4()), "name": "Sneaky", "tenant_id": str(other)})
    sneaky["tenant_id"] = str(other)
    response = await post(gateway, token, [sneaky])
    assert response.json()["accepted"] == 1
    assert await admin_conn.fetchval("SELECT tenant_id FROM teams WHERE name = 'Sneaky'") == tenant["tenant"]
    assert await admin_conn.fetchval("SELECT count(*) FROM teams WHERE tenant_id = $1", other) == 0


@pytest.mark.parametrize("role", ["viewer", "agent", "manager"])
async def test_only_service_and_admin_tokens_may_ingest(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], role: str
) -> None:
    response = await post(gateway, gateway.token(tenant["tenant"], roles=(role,)), [call(tenant["agent"])])
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_token_for_an_unknown_tenant_gets_404_and_stores_nothing(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    response = await post(gateway, service_token(gateway, uuid.uuid4()), [event("track", {"name": "x",
                                                                                           "category": "action"})])
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await admin_conn.fetchval("SELECT count(*) FROM analytics_events") == 0


async def test_a_missing_token_gets_401(gateway: LiveGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/api/v1/events", json=[])
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_oversized_bodies_and_batches_get_413_and_store_nothing(
    database: TestDatabase, gateway_factory: GatewayFactory, tenant: dict[str, uuid.UUID],
    admin_conn: asyncpg.Connection,
) -> None:
    gateway = await gateway_factory(database, CALLPULSE_INGEST_MAX_BYTES="20000", CALLPULSE_INGEST_MAX_EVENTS="10")
    token = service_token(gateway, tenant["tenant"])
    too_many = await post(gateway, token, [call(tenant["agent"]) for _ in range(11)])
    too_big = await post(gateway, token, [event("track", {"name": "x" * 150, "category": "action",
                                                          "properties": {"pad": "y" * 30000}})])
    assert (too_many.status_code, too_many.json()["errors"][0]["extensions"]["reason"]) == (413, "too_many_events")
    assert (too_big.status_code, too_big.json()["errors"][0]["extensions"]["reason"]) == (413, "body_too_large")
    assert await admin_conn.fetchval("SELECT count(*) FROM analytics_events") == 0


@pytest.mark.parametrize("body", [b"{not json", b'{"an": "object"}', b"\xff\xfe"])
async def test_a_malformed_body_gets_400(gateway: LiveGateway, tenant: dict[str, uuid.UUID], body: bytes) -> None:
    response = await post(gateway, service_token(gateway, tenant["tenant"]), body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_ndjson_bodies_are_accepted(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    lines = "\n".join(json.dumps(call(tenant["agent"])) for _ in range(3)) + "\n"
    response = await post(gateway, service_token(gateway, tenant["tenant"]), lines,
                          headers={"Content-Type": "application/x-ndjson"})
    assert response.json()["accepted"] == 3
    assert await admin_conn.fetchval("SELECT count(*) FROM calls") == 3


TRACK = """
mutation Track($events: [EventInput!]!) {
  trackEvents(events: $events) { accepted duplicates rejected { index code field } }
}
"""


async def test_track_events_mutation_shares_idempotency_with_the_http_endpoint(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID]
) -> None:
    token = service_token(gateway, tenant["tenant"])
    sent = event("track", {"name": "report_opened", "category": "action"}, occurred_at="2026-03-02T15:00:00+01:00")
    await post(gateway, token, [sent])
    variables = {"events": [{"id": sent["id"], "type": "track", "occurredAt": "2026-03-02T14:00:00Z",
                             "data": sent["data"]},
                            {"id": str(uuid.uuid4()), "type": "track", "occurredAt": "yesterday", "data": {}}]}
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/graphql", json={"query": TRACK, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.json()["data"]["trackEvents"] == {
        "accepted": 0, "duplicates": 1, "rejected": [{"index": 1, "code": "BAD_USER_INPUT", "field": "occurred_at"}]}


async def listen(dsn: str) -> tuple[asyncpg.Connection, asyncio.Queue[dict[str, Any]]]:
    conn = await asyncpg.connect(dsn)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await conn.add_listener("callpulse_changes", lambda *args: queue.put_nowait(json.loads(args[3])))
    return conn, queue


@pytest.fixture
async def changes(database: TestDatabase) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    conn, queue = await listen(database.admin_dsn)
    yield queue
    await conn.close()


async def test_api_writes_signal_the_change_with_scopes_and_span(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], changes: asyncio.Queue[dict[str, Any]]
) -> None:
    await post(gateway, service_token(gateway, tenant["tenant"]), [call(tenant["agent"])])
    signal = await asyncio.wait_for(changes.get(), 10)
    assert signal["tenant"] == str(tenant["tenant"])
    assert {"kind": "agent", "id": str(tenant["agent"])} in signal["scopes"]
    assert {"kind": "tenant", "id": str(tenant["tenant"])} in signal["scopes"]
    assert signal["from"].startswith("2026-03-02T14:00:00")


async def test_direct_sql_writes_signal_the_change_too(
    database: TestDatabase, tenant: dict[str, uuid.UUID], changes: asyncio.Queue[dict[str, Any]]
) -> None:
    conn = await asyncpg.connect(database.app_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant["tenant"]))
            await conn.execute(
                "INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at) "
                "VALUES ($1, $2, 10, 'kudos', '2026-03-05T10:00:00Z')", tenant["tenant"], tenant["agent"])
            await asyncio.sleep(0.3)
            assert changes.empty()  # nothing before commit
    finally:
        await conn.close()
    signal = await asyncio.wait_for(changes.get(), 10)
    assert signal["scopes"][0]["kind"] == "agent"
    assert signal["from"].startswith("2026-03-05T10:00:00")


async def test_many_scopes_coalesce_to_the_tenant_to_fit_a_notification(
    database: TestDatabase, admin_conn: asyncpg.Connection, tenant: dict[str, uuid.UUID],
    changes: asyncio.Queue[dict[str, Any]],
) -> None:
    agents = [await make_agent(admin_conn, tenant["tenant"], f"a{i}") for i in range(200)]
    await admin_conn.execute(
        "INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at) "
        "SELECT $1, a, 1, 'x', '2026-03-05T10:00:00Z' FROM unnest($2::uuid[]) a", tenant["tenant"], agents)
    signal = await asyncio.wait_for(changes.get(), 10)
    assert signal["scopes"] == [{"kind": "tenant", "id": str(tenant["tenant"])}]


async def test_a_batch_whose_backend_dies_before_commit_leaves_nothing_behind(
    gateway: LiveGateway, tenant: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    # given a lock that stops the batch after its raw insert, inside its transaction
    blocker = await asyncpg.connect(gateway.database.admin_dsn)
    try:
        await blocker.execute("BEGIN")
        await blocker.execute("LOCK TABLE calls IN EXCLUSIVE MODE")
        request = asyncio.create_task(post(gateway, service_token(gateway, tenant["tenant"]), [call(tenant["agent"])]))
        for _ in range(200):
            pid = await admin_conn.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND query LIKE '%INSERT INTO calls%'")
            if pid:
                break
            await asyncio.sleep(0.05)
        assert pid, "the batch never reached its calls insert"
        assert await admin_conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE pid = $1 AND relation = 'analytics_event_ids'::regclass", pid) > 0
        # when its backend is terminated
        await admin_conn.execute("SELECT pg_terminate_backend($1)", pid)
        response = await request
    finally:
        await blocker.execute("ROLLBACK")
        await blocker.close()
    # then the client is told, and neither raw rows nor rollups remain
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    for table in ("analytics_event_ids", "analytics_events", "calls", "daily_reports", "agent_metrics", "metrics_15m"):
        assert await admin_conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608
