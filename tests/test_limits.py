"""What one operation may be and take: the document's length and tokens, its size, the bytes of a body or a
websocket message, and its running time; beyond any of them QUERY_TOO_COMPLEX (or HTTP 413, or close 1009)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Final

import asyncpg
import httpx
import pytest
from graphql import get_introspection_query
from graphql.language import Lexer, Source, TokenKind

from gateway.db import TenantSession, create_pool
from gateway.errors import ConfigurationError
from gateway.limits import MAX_ALIASES, MAX_DEPTH, MAX_FIELDS, count_tokens
from gateway.schema import schema
from gateway.settings import DEFAULT_GRAPHQL_MAX_BYTES, DEFAULT_OPERATION_TIMEOUT_SECONDS, Settings
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_agent, make_tenant
from tests.test_readme import examples
from tests.test_websocket import acked, close_of, error_of, receive, subscribe

NESTED_TEAM = "team { name }"
TENANT_NAME: Final = "{ tenant { name } }"
FULL_INTROSPECTION: Final = get_introspection_query(descriptions=True, specified_by_url=True,
                                                    directive_is_repeatable=True, schema_description=True,
                                                    input_value_deprecation=True)
SCHEMA_ALIAS: Final = "a{i}: __schema {{ types {{ name fields {{ name }} }} }}"
TRACK_EVENTS: Final = """
mutation Track($events: [EventInput!]!) { trackEvents(events: $events) { accepted duplicates rejected { index } } }
"""
SETTINGS_MUTATION: Final = """
mutation { updateTenantSettings(settings: { timezone: "Europe/Berlin" }) { rollupsRebuilt tenant { timezone } } }
"""
# A lock that holds an operation's first statement, so it runs for as long as the test wants.
LOCK_TENANTS: Final = "LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE"
WAITING_STATEMENTS: Final = """
SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = $1 AND state = 'active'
"""


async def errors_of(query: str) -> list[tuple[str, str]]:
    """Errors before execution: without a principal nothing would run, so only what the checks say comes back."""
    result = await schema.execute(query)
    return [((e.extensions or {}).get("code", ""), e.message) for e in result.errors or []
            if (e.extensions or {}).get("code") != "UNAUTHENTICATED" and e.path is None]


async def refusal_of(query: str) -> dict[str, Any]:
    result = await schema.execute(query)
    [error] = result.errors or []
    assert result.data is None
    return dict(error.extensions or {})


def graphql_core_tokens(document: str) -> int:
    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


# ---- the document -------------------------------------------------------------------------------------------

async def test_a_2_mb_document_is_refused_for_its_length_before_it_is_parsed() -> None:
    extensions = await refusal_of("{ " + "a " * 1_000_000 + "}")

    assert extensions == {"code": "QUERY_TOO_COMPLEX", "reason": "document_too_large", "limit": 100_000}


async def test_a_document_over_the_token_limit_is_refused_before_it_is_parsed() -> None:
    extensions = await refusal_of("{ " + "a " * 5000 + "}")

    assert extensions == {"code": "QUERY_TOO_COMPLEX", "reason": "too_many_tokens", "limit": 5000}


async def test_a_thousand_aliases_of_introspection_are_refused_and_a_hundred_and_one_too() -> None:
    thousand = "{ " + " ".join(SCHEMA_ALIAS.format(i=i) for i in range(1000)) + " }"
    assert (await refusal_of(thousand))["reason"] == "too_many_tokens"

    over_the_alias_limit = "{ " + " ".join(SCHEMA_ALIAS.format(i=i) for i in range(MAX_ALIASES + 1)) + " }"
    assert await refusal_of(over_the_alias_limit) == {"code": "QUERY_TOO_COMPLEX", "reason": "aliases",
                                                      "limit": MAX_ALIASES}


async def test_a_document_nested_deeper_than_the_parser_goes_is_too_complex() -> None:
    extensions = await refusal_of("{" + "a{" * 1000 + "b" + "}" * 1000 + "}")

    assert extensions == {"code": "QUERY_TOO_COMPLEX", "reason": "depth"}


@pytest.mark.parametrize("document", [
    FULL_INTROSPECTION,
    *(e.text for e in examples()),
    '# a comment { with { braces\n{ a(s: "a \\" quote, # not a comment", b: """block "" \\""" string""") }',
    "query Q($x: [Int!]! = [1, -2, 3.5e+2]) { ...F ... on T @skip(if: true) { b } }, fragment F on T { c }",
])
def test_tokens_are_counted_as_graphql_core_counts_them(document: str) -> None:
    assert count_tokens(document, 100_000) == graphql_core_tokens(document)


def test_counting_tokens_stops_at_the_limit() -> None:
    assert count_tokens("{ " + "a " * 100_000 + "}", 10) == 10


async def test_a_document_within_the_limits_is_parsed_as_before() -> None:
    assert await errors_of("{ viewer { subject } }") == []
    [(code, message)] = await errors_of("{ viewer { subject ")
    assert (code, message.startswith("Syntax Error")) == ("BAD_USER_INPUT", True)


# ---- size ---------------------------------------------------------------------------------------------------

async def test_a_query_deeper_than_the_limit_is_too_complex() -> None:
    # node, then every `funnel { campaign { … } }` adds two levels: 1 + 7 * 2 + name = 16
    inner = "name"
    for _ in range(7):
        inner = f"funnel(range: {{preset: TODAY}}) {{ campaign {{ {inner} }} }}"
    query = f'{{ node(id: "x") {{ ... on Campaign {{ {inner} }} }} }}'
    [(code, message)] = await errors_of(query)
    assert code == "QUERY_TOO_COMPLEX"
    assert f"at most {MAX_DEPTH}" in message
    assert (await refusal_of(query))["reason"] == "depth"


async def test_too_many_aliases_or_fields_are_too_complex_also_through_fragments() -> None:
    aliases = " ".join(f"a{i}: tenant {{ name }}" for i in range(MAX_ALIASES + 1))
    [(code, message)] = await errors_of(f"{{ {aliases} }}")
    assert (code, f"at most {MAX_ALIASES} are allowed" in message) == ("QUERY_TOO_COMPLEX", True)
    # a fragment of 50 fields spread into 50 aliases: 2,500 fields
    fields = " ".join(f"f{i}: name" for i in range(50))
    spread = " ".join(f"t{i}: tenant {{ ...F }}" for i in range(50))
    query = f"{{ {spread} }} fragment F on Tenant {{ {fields} }}"
    codes = {code for code, _ in await errors_of(query)}
    assert codes == {"QUERY_TOO_COMPLEX"}
    assert MAX_FIELDS < 50 * 51
    assert (await refusal_of(query))["reason"] == "fields"


async def test_a_dashboard_sized_query_and_introspection_pass() -> None:
    dashboard = """{ tenant { name metrics(range: {preset: TODAY}) { callsTotal } }
      agents(first: 50) { edges { node { name team { name } campaigns(range: {preset: TODAY}) { name }
        series(range: {preset: TODAY}, granularity: HOUR, metrics: [CALLS_TOTAL]) { series { values } } } } } }"""
    assert await errors_of(dashboard) == []
    assert await errors_of(FULL_INTROSPECTION) == []


# ---- the body and websocket messages ------------------------------------------------------------------------

@pytest.fixture
async def tenant(admin_conn: asyncpg.Connection) -> uuid.UUID:
    return await make_tenant(admin_conn)


async def raw_post(gateway: LiveGateway, token: str, headers: str, *chunks: bytes) -> tuple[int, dict[str, Any]]:
    """POST /graphql over a plain socket: the head, then `chunks` as they are, then only reading the answer
    (a server waiting for the rest of the body would never answer; the timeout only keeps the test from hanging).
    """
    port = int(gateway.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: application/json\r\n{headers}\r\n".encode())
        for chunk in chunks:
            writer.write(chunk)
        await writer.drain()
        async with asyncio.timeout(30):
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            body = json.loads(await reader.readexactly(length))
    finally:
        writer.close()
    return status, body


async def test_a_body_declared_over_the_limit_is_refused_with_413_before_any_of_it_is_sent(
        gateway: LiveGateway, tenant: uuid.UUID) -> None:
    status, body = await raw_post(gateway, gateway.token(tenant), f"Content-Length: {20 * 1024 * 1024}\r\n")

    assert status == 413
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "reason": "body_too_large",
                                   "limit": DEFAULT_GRAPHQL_MAX_BYTES, "requestId": error["extensions"]["requestId"]}


async def test_a_chunked_body_is_refused_with_413_once_it_passes_the_limit_while_it_is_read(
        database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection) -> None:
    gateway = await gateway_factory(database, CALLPULSE_GRAPHQL_MAX_BYTES="100000")
    chunk = b" " * 50_000
    # Three chunks are past the limit, and the body never ends (no last chunk).
    frames = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(3)]

    status, body = await raw_post(gateway, gateway.token(await make_tenant(admin_conn)),
                                  "Transfer-Encoding: chunked\r\n", *frames)

    assert (status, body["errors"][0]["extensions"]["limit"]) == (413, 100_000)


def call_ended(index: int) -> dict[str, object]:
    """A finished inbound call as the platform sends it (docs/events.md), every optional field filled in."""
    return {"id": str(uuid.uuid4()), "type": "call.ended", "occurredAt": "2026-03-02T14:05:10Z",
            "data": {"call_id": str(uuid.uuid4()), "direction": "inbound", "started_at": "2026-03-02T14:00:00Z",
                     "answered_at": "2026-03-02T14:00:12Z", "ended_at": "2026-03-02T14:05:10Z",
                     "talk_seconds": 270 + index % 60, "hold_seconds": 20, "wrap_up_seconds": 35,
                     "abandoned": False, "transferred": False, "first_contact_resolution": True,
                     "outcome": "connected", "disposition": "resolved", "csat_rating": 5, "cost": 0.42,
                     "queue": "support-en", "recording_url": f"https://recordings.example.com/{uuid.uuid4()}.mp3",
                     "ivr_path": ["main", "support", "billing"], "sip_call_id": f"{uuid.uuid4()}@pbx.example.com"}}


async def test_a_thousand_event_track_events_fits_the_body_limit(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    body = json.dumps({"query": TRACK_EVENTS, "variables": {"events": [call_ended(i) for i in range(1000)]}},
                      indent=2)
    assert len(body) > 900_000  # realistic events, sent as a pretty-printing client would

    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        response = await client.post("/graphql", content=body, headers={
            "Authorization": f"Bearer {gateway.token(tenant)}", "Content-Type": "application/json"})

    assert response.status_code == 200
    assert response.json()["data"]["trackEvents"] == {"accepted": 1000, "duplicates": 0, "rejected": []}


async def test_a_websocket_message_over_the_limit_closes_with_1009(
        database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection) -> None:
    gateway = await gateway_factory(database, CALLPULSE_GRAPHQL_MAX_BYTES="100000")
    token = gateway.token(await make_tenant(admin_conn))
    async with acked(gateway, token) as ws:
        await ws.send(subscribe("1", TENANT_NAME, padding="x" * 90_000))
        assert (await receive(ws))["type"] == "next"
        assert (await receive(ws))["type"] == "complete"

        await ws.send(subscribe("2", TENANT_NAME, padding="x" * 100_000))
        assert await close_of(ws) == (1009, "Message too big: at most 100000 bytes")


# ---- the time budget ----------------------------------------------------------------------------------------

def test_the_limits_default_to_the_documented_values_and_must_be_positive() -> None:
    settings = Settings.from_env({})
    assert (settings.query_cost_budget, settings.operation_timeout_seconds, settings.query_max_tokens,
            settings.graphql_max_bytes) == (1_000_000, DEFAULT_OPERATION_TIMEOUT_SECONDS, 5000, 2 * 1024 * 1024)
    for name, value in (("CALLPULSE_QUERY_COST_BUDGET", "0"), ("CALLPULSE_OPERATION_TIMEOUT_SECONDS", "-1"),
                        ("CALLPULSE_QUERY_MAX_TOKENS", "x"), ("CALLPULSE_GRAPHQL_MAX_BYTES", "0")):
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({name: value})


async def waiting_statements(admin_conn: asyncpg.Connection, gateway: LiveGateway) -> int:
    count: int = await admin_conn.fetchval(WAITING_STATEMENTS, gateway.settings.app_role)
    return count


async def post(gateway: LiveGateway, token: str, query: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        response = await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


# Each first meets the lock at another place: a root field's own statement, statements of resolvers stepped
# together (no task of their own), a DataLoader batch (a task of its own).
BLOCKED: Final = [
    (TENANT_NAME, "tenants"),
    ("{ x: agents { totalCount } y: teams { totalCount } }", "agents"),
    ("{ agents { edges { node { name metrics(range: {preset: TODAY}) { callsTotal } } } } }", "agent_metrics"),
]


@pytest.mark.parametrize(("query", "table"), BLOCKED)
@pytest.mark.parametrize("shadow", ["true", "false"])
async def test_an_operation_past_its_time_budget_is_too_complex_and_its_sql_is_cancelled(
        database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection,
        caplog: pytest.LogCaptureFixture, query: str, table: str, shadow: str) -> None:
    # The planned engine alone too (shadow "false"): graphql-core's reference run would meet the lock first.
    gateway = await gateway_factory(database, CALLPULSE_OPERATION_TIMEOUT_SECONDS="0.5",
                                    CALLPULSE_EXECUTOR_SHADOW=shadow)
    tenant = await make_tenant(admin_conn)
    for name in ("Ada", "Bo"):
        await make_agent(admin_conn, tenant, name)
    token = gateway.token(tenant)
    blocker = await asyncpg.connect(database.admin_dsn)
    try:
        async with blocker.transaction():
            # given an operation whose statement waits for a lock
            await blocker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            answer = await post(gateway, token, query)
            # then, while the lock is still held, the operation has been answered and its statement is gone
            assert await waiting_statements(admin_conn, gateway) == 0
    finally:
        await blocker.close()

    assert answer["data"] is None
    [error] = answer["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "reason": "time_budget", "budgetSeconds": 0.5}
    # and its transaction was rolled back cleanly: nothing logged, and the gateway goes on answering
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert "errors" not in await post(gateway, token, query)


async def test_over_a_websocket_an_operation_past_its_time_budget_is_an_error_message(
        database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection) -> None:
    gateway = await gateway_factory(database, CALLPULSE_OPERATION_TIMEOUT_SECONDS="0.5")
    token = gateway.token(await make_tenant(admin_conn))
    blocker = await asyncpg.connect(database.admin_dsn)
    try:
        async with acked(gateway, token) as ws, blocker.transaction():
            await blocker.execute(LOCK_TENANTS)
            await ws.send(subscribe("1", TENANT_NAME))
            error = error_of(await receive(ws))
    finally:
        await blocker.close()

    assert error["extensions"]["reason"] == "time_budget"


async def test_update_tenant_settings_may_run_past_the_time_budget(
        database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection) -> None:
    gateway = await gateway_factory(database, CALLPULSE_OPERATION_TIMEOUT_SECONDS="0.3")
    token = gateway.token(await make_tenant(admin_conn))
    blocker = await asyncpg.connect(database.admin_dsn)
    try:
        async with blocker.transaction():
            await blocker.execute(LOCK_TENANTS)
            mutation = asyncio.create_task(post(gateway, token, SETTINGS_MUTATION))
            # The mutation waits for the lock for over three times its budget.
            await asyncio.sleep(1.0)
            assert not mutation.done()
    finally:
        await blocker.close()

    answer = await mutation
    assert answer == {"data": {"updateTenantSettings": {"rollupsRebuilt": True,
                                                         "tenant": {"timezone": "Europe/Berlin"}}}}


async def test_subscriptions_are_not_on_the_clock(
        database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection) -> None:
    gateway = await gateway_factory(database, CALLPULSE_OPERATION_TIMEOUT_SECONDS="0.2")
    token = gateway.token(await make_tenant(admin_conn))
    async with acked(gateway, token) as ws:
        await ws.send(subscribe("1", "subscription { heartbeat(intervalSeconds: 0.05) }"))
        # 12 beats take over half a second, more than twice the budget
        messages = [await receive(ws) for _ in range(12)]

    assert {m["type"] for m in messages} == {"next"}


async def test_each_statement_of_a_limited_session_carries_the_budget_as_statement_timeout(
        database: TestDatabase, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant(admin_conn)
    pool = await create_pool(database.app_dsn, min_size=1, max_size=1)
    try:
        session = TenantSession(pool, tenant)
        await session.limit_statements(0.25)
        assert await session.fetchval("SHOW statement_timeout") == "250ms"
        # the server cancels a statement past it, even when nothing on the client side does
        with pytest.raises(asyncpg.QueryCanceledError):
            await session.fetchval("SELECT pg_sleep(5)")
        await session.close(commit=False)

        unlimited = TenantSession(pool, tenant)
        assert await unlimited.fetchval("SHOW statement_timeout") == "0"
        await unlimited.close(commit=False)
    finally:
        await pool.close()

