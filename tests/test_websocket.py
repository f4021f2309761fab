"""/graphql over websockets, both protocols: close codes, error codes and masking as on HTTP, token expiry."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from gateway.errors import ConfigurationError
from gateway.settings import Settings
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_tenant

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"
HEARTBEAT = "subscription { heartbeat(intervalSeconds: 0.1) }"
VIEWER = "{ viewer { subject } }"
AGENT_COUNT = "{ agents { totalCount } }"
AGENTS_AFTER = "query($after: String) { agents(after: $after) { totalCount } }"
# A token minted with this ttl expires 3 to 4 s later (`exp` is in whole seconds): time enough to set up a socket
# on a loaded machine, little enough to wait for.
EXPIRING_TTL_SECONDS = 4
WAITING_FOR_A_LOCK = """
    SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
"""
# The tasks a websocket operation runs in, and the database work it can leave behind (asyncpg's cancel request).
OPERATION_TASKS = frozenset({"TransportWSHandler.run_operation", "LegacyWSHandler.handle_async_results",
                             "Connection._cancel", "dispatch_queue_batch"})
NESTED_CURSOR = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()


@pytest.fixture
async def tenant(admin_conn: asyncpg.Connection) -> uuid.UUID:
    return await make_tenant(admin_conn)


def init(token: str) -> str:
    return json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})


def subscribe(id_: str, query: str, protocol: str = TRANSPORT, **variables: object) -> str:
    return json.dumps({"id": id_, "type": "subscribe" if protocol == TRANSPORT else "start",
                       "payload": {"query": query, "variables": variables}})


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next message, keep-alives skipped."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] != "ka":
            return message


async def close_of(ws: ClientConnection) -> tuple[int, str]:
    """The code and reason the server closes with (within 10 s), reading and dropping messages until then."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


@asynccontextmanager
async def socket(gateway: LiveGateway, protocol: str = TRANSPORT, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(gateway.ws_url, subprotocols=[protocol], **kwargs) as ws:  # type: ignore[list-item]
        yield ws


@asynccontextmanager
async def acked(gateway: LiveGateway, token: str, protocol: str = TRANSPORT,
                **kwargs: Any) -> AsyncIterator[ClientConnection]:
    async with socket(gateway, protocol, **kwargs) as ws:
        await ws.send(init(token))
        assert (await receive(ws))["type"] == "connection_ack"
        yield ws


async def messages_until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], tuple[int, str]]:
    """The messages (keep-alives skipped) the server sends until it closes (within 10 s), and its code and reason."""
    messages = []
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] != "ka":
                    messages.append(message)
    assert closed.value.rcvd is not None
    return messages, (closed.value.rcvd.code, closed.value.rcvd.reason)


def request_pool(gateway: LiveGateway) -> asyncpg.Pool:
    """The gateway's pool of the request path (the gateway serves on this test's event loop)."""
    pool: asyncpg.Pool = gateway.server.config.app.state.db.app
    return pool


def operation_tasks() -> list[str]:
    """The running tasks of websocket operations, by name."""
    running = (task.get_coro().__qualname__ for task in asyncio.all_tasks() if not task.done())
    return [name for name in running if name in OPERATION_TASKS]


@asynccontextmanager
async def agents_locked(database: TestDatabase) -> AsyncIterator[None]:
    """Agents locked by another session: an operation reading them waits, holding a connection and a transaction."""
    conn = await asyncpg.connect(database.admin_dsn)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def until_a_statement_waits_for_a_lock(admin_conn: asyncpg.Connection) -> None:
    async with asyncio.timeout(10):
        while True:
            if await admin_conn.fetchval(WAITING_FOR_A_LOCK):
                return
            await asyncio.sleep(0.02)


def error_of(message: dict[str, Any], protocol: str = TRANSPORT) -> dict[str, Any]:
    """The one error of an `error` message (a list in graphql-transport-ws, an object in graphql-ws)."""
    assert message["type"] == "error", message
    if protocol == TRANSPORT:
        [error] = message["payload"]
        return dict(error)
    return dict(message["payload"])


# ---- graphql-transport-ws: close codes ---------------------------------------------------------------------

@pytest.mark.parametrize(("what", "message"), [
    ("not JSON", "{type"),
    ("JSON nested too deep to parse", "[" * 100_000 + "]" * 100_000),
    ("not an object", "[1]"),
    ("no type", "{}"),
    ("an unknown type", '{"type": "shout"}'),
])
async def test_an_invalid_message_closes_with_4400(gateway: LiveGateway, what: str, message: str) -> None:
    async with socket(gateway) as ws:
        await ws.send(message)
        code, _ = await close_of(ws)
    assert code == 4400


@pytest.mark.parametrize(("what", "message"), [
    ("no id", {"type": "subscribe", "payload": {"query": HEARTBEAT}}),
    ("a number as id", {"id": 1, "type": "subscribe", "payload": {"query": HEARTBEAT}}),
    ("no payload", {"id": "1", "type": "subscribe"}),
    ("a payload that is not an object", {"id": "1", "type": "subscribe", "payload": "query"}),
    ("a query that is not a string", {"id": "1", "type": "subscribe", "payload": {"query": 1}}),
    ("variables that are not an object", {"id": "1", "type": "subscribe",
                                          "payload": {"query": HEARTBEAT, "variables": [1]}}),
    ("a complete without id", {"type": "complete"}),
])
async def test_an_invalid_message_after_the_ack_closes_with_4400(
    gateway: LiveGateway, tenant: uuid.UUID, what: str, message: dict[str, Any]
) -> None:
    async with acked(gateway, gateway.token(tenant)) as ws:
        await ws.send(json.dumps(message))
        code, _ = await close_of(ws)
    assert code == 4400


async def test_subscribe_before_connection_init_closes_with_4401(gateway: LiveGateway) -> None:
    async with socket(gateway) as ws:
        await ws.send(subscribe("1", HEARTBEAT))
        assert await close_of(ws) == (4401, "Unauthorized")


@pytest.mark.parametrize(("payload", "reason"), [
    ({"Authorization": "Bearer nope"}, "malformed_token"),
    ({}, "missing_token"),
])
async def test_a_bad_token_at_connection_init_closes_with_4403(
    gateway: LiveGateway, payload: dict[str, str], reason: str
) -> None:
    async with socket(gateway) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert await close_of(ws) == (4403, f"Forbidden: {reason}")


@pytest.mark.parametrize("subprotocols", [["graphql-sse"], None])
async def test_an_unknown_or_missing_subprotocol_closes_with_4406(
    gateway: LiveGateway, subprotocols: list[str] | None
) -> None:
    async with websockets.connect(gateway.ws_url, subprotocols=subprotocols) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol is None
        code, _ = await close_of(ws)
    assert code == 4406


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_no_connection_init_within_the_timeout_closes_with_4408(
    database: TestDatabase, gateway_factory: GatewayFactory, protocol: str
) -> None:
    gateway = await gateway_factory(database, CALLPULSE_WS_INIT_TIMEOUT_SECONDS="0.2")
    async with socket(gateway, protocol) as ws:
        assert await close_of(ws) == (4408, "Connection initialisation timeout")


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_connection_init_in_time_keeps_the_socket_open_past_the_init_timeout(
    database: TestDatabase, gateway_factory: GatewayFactory, tenant: uuid.UUID, protocol: str
) -> None:
    gateway = await gateway_factory(database, CALLPULSE_WS_INIT_TIMEOUT_SECONDS="1")
    # given a socket initialised at once
    async with acked(gateway, gateway.token(tenant), protocol) as initialised:
        # when a socket opened after it is closed for never sending connection_init (its timeout ran out later)
        async with socket(gateway, protocol) as idle:
            assert (await close_of(idle))[0] == 4408
        # then the first was not closed, and still answers
        await initialised.send(subscribe("1", VIEWER, protocol))
        answer = await receive(initialised)
    assert answer["type"] in {"next", "data"}
    assert answer["payload"]["data"] == {"viewer": {"subject": "00000000-0000-0000-0000-000000000001"}}


def test_the_init_timeout_defaults_to_10_seconds_and_must_be_positive() -> None:
    assert Settings.from_env({}).ws_init_timeout_seconds == 10
    with pytest.raises(ConfigurationError):
        Settings.from_env({"CALLPULSE_WS_INIT_TIMEOUT_SECONDS": "0"})


async def test_a_second_subscriber_with_the_same_id_closes_with_4409(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    async with acked(gateway, gateway.token(tenant)) as ws:
        await ws.send(subscribe("1", HEARTBEAT))
        assert (await receive(ws))["type"] == "next"
        await ws.send(subscribe("1", HEARTBEAT))
        assert await close_of(ws) == (4409, "Subscriber for 1 already exists")


async def test_a_long_subscriber_id_still_gets_its_close_code(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    # The reason quotes the id; a close frame holds 123 bytes of it at most.
    long_id = "é" * 300
    async with acked(gateway, gateway.token(tenant)) as ws:
        await ws.send(subscribe(long_id, HEARTBEAT))
        assert (await receive(ws))["type"] == "next"
        await ws.send(subscribe(long_id, HEARTBEAT))
        code, reason = await close_of(ws)
    assert code == 4409
    assert reason.startswith("Subscriber for éé")
    assert len(reason.encode()) <= 123


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_second_connection_init_closes_with_4429(
    gateway: LiveGateway, tenant: uuid.UUID, protocol: str
) -> None:
    async with acked(gateway, gateway.token(tenant), protocol) as ws:
        await ws.send(init(gateway.token(tenant)))
        code, _ = await close_of(ws)
    assert code == 4429


# ---- graphql-transport-ws: errors --------------------------------------------------------------------------

async def test_a_syntax_error_is_an_error_message_with_bad_user_input_and_the_socket_stays(
    gateway: LiveGateway, tenant: uuid.UUID
) -> None:
    async with acked(gateway, gateway.token(tenant)) as ws:
        await ws.send(subscribe("1", "subscription { heartbeat "))
        error = error_of(await receive(ws))
        await ws.send(subscribe("2", HEARTBEAT))
        after = await receive(ws)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("Syntax Error")
    assert after["id"] == "2"
    assert after["type"] == "next"


@pytest.mark.parametrize("query", ["subscription { nosuch }", 'subscription { heartbeat(intervalSeconds: "x") }'])
async def test_a_validation_error_is_an_error_message_with_bad_user_input(
    gateway: LiveGateway, tenant: uuid.UUID, query: str
) -> None:
    async with acked(gateway, gateway.token(tenant)) as ws:
        await ws.send(subscribe("1", query))
        errors = (await receive(ws))
    assert errors["type"] == "error"
    assert {e["extensions"]["code"] for e in errors["payload"]} == {"BAD_USER_INPUT"}


async def test_a_bad_subscription_argument_is_bad_user_input_naming_it(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    async with acked(gateway, gateway.token(tenant)) as ws:
        await ws.send(subscribe("1", "subscription { heartbeat(intervalSeconds: 0) }"))
        message = await receive(ws)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"] for e in errors] == [{"code": "BAD_USER_INPUT", "argument": "intervalSeconds"}]


async def test_a_crafted_cursor_is_bad_user_input_on_after(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    async with acked(gateway, gateway.token(tenant)) as ws:
        await ws.send(subscribe("1", AGENTS_AFTER, after=NESTED_CURSOR))
        message = await receive(ws)
    assert message["type"] == "next"
    [error] = message["payload"]["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


async def test_an_unexpected_error_is_masked_as_internal_and_logged(
    agents_unreadable: LiveGateway, tenant: uuid.UUID, caplog: pytest.LogCaptureFixture
) -> None:
    gateway, request_id = agents_unreadable, f"ws-{uuid.uuid4().hex[:8]}"

    with caplog.at_level(logging.ERROR, logger="gateway"):
        async with acked(gateway, gateway.token(tenant), additional_headers={"X-Request-Id": request_id}) as ws:
            await ws.send(subscribe("1", AGENTS_AFTER))
            message = await receive(ws)

    [error] = message["payload"]["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert "permission" not in json.dumps(message)
    assert any(r.exc_info and "permission denied" in str(r.exc_info[1]) for r in caplog.records)


async def test_the_subscription_limit_is_rate_limited(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    slow = "subscription { heartbeat(intervalSeconds: 60) }"
    async with acked(gateway, gateway.token(tenant)) as ws:
        for i in range(100):
            await ws.send(subscribe(str(i), slow))
        for _ in range(100):
            assert (await receive(ws))["type"] == "next"
        await ws.send(subscribe("one too many", slow))
        error = error_of(await receive(ws))
    assert error["extensions"]["code"] == "RATE_LIMITED"


# ---- token expiry ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_socket_is_closed_with_4403_when_its_token_expires(
    gateway: LiveGateway, tenant: uuid.UUID, protocol: str
) -> None:
    # given a socket whose token expires in a few seconds, answering a query and streaming a subscription
    async with acked(gateway, gateway.token(tenant, ttl_seconds=EXPIRING_TTL_SECONDS), protocol) as ws:
        await ws.send(subscribe("query", VIEWER, protocol))
        answered, completed = await receive(ws), await receive(ws)
        await ws.send(subscribe("beat", HEARTBEAT, protocol))
        # when the token expires
        messages, close = await messages_until_closed(ws)
    # then
    assert answered["id"] == "query"
    assert answered["type"] in {"next", "data"}
    assert completed == {"id": "query", "type": "complete"}
    assert messages[0]["id"] == "beat"
    assert messages[0]["type"] in {"next", "data"}
    assert close == (4403, "Forbidden: the token has expired")
    if protocol == LEGACY:
        # the subscription is completed, then the socket refused as at a connection_init with an expired token
        assert [m["type"] for m in messages[-2:]] == ["complete", "connection_error"]
        assert messages[-1]["payload"]["extensions"] == {"code": "UNAUTHENTICATED", "reason": "expired_token"}


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_at_token_expiry_running_operations_end_and_return_their_connections_before_the_close(
    database: TestDatabase, gateway: LiveGateway, tenant: uuid.UUID, admin_conn: asyncpg.Connection, protocol: str
) -> None:
    pool, token = request_pool(gateway), gateway.token(tenant, ttl_seconds=EXPIRING_TTL_SECONDS)
    # given a subscription, and a query waiting for a lock inside its transaction, on a socket about to expire
    async with agents_locked(database), acked(gateway, token, protocol) as ws:
        await ws.send(subscribe("beat", HEARTBEAT, protocol))
        await ws.send(subscribe("count", AGENT_COUNT, protocol))
        await until_a_statement_waits_for_a_lock(admin_conn)
        assert pool.get_idle_size() < pool.get_size()
        # when the token expires
        code, _ = await close_of(ws)
        # then, by the time the socket is closed (the lock still held), nothing of the operations runs on
        assert code == 4403
        assert operation_tasks() == []
        assert pool.get_idle_size() == pool.get_size()
        assert await admin_conn.fetchval(WAITING_FOR_A_LOCK) == 0


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_token_past_its_exp_is_refused_at_connection_init_despite_the_leeway(
    gateway: LiveGateway, tenant: uuid.UUID, protocol: str
) -> None:
    # HTTP accepts it for LEEWAY_SECONDS after exp; a socket would be closed at once, so it is not opened.
    async with socket(gateway, protocol) as ws:
        await ws.send(init(gateway.token(tenant, ttl_seconds=-5)))
        code, reason = await close_of(ws)
    assert (code, reason) == (4403, "Forbidden: expired_token")


# ---- the legacy graphql-ws protocol ------------------------------------------------------------------------

async def test_legacy_a_bad_token_is_a_connection_error_then_close_4403(gateway: LiveGateway) -> None:
    async with socket(gateway, LEGACY) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}))
        refused = await receive(ws)
        code, _ = await close_of(ws)
    assert refused["type"] == "connection_error"
    assert refused["payload"]["extensions"]["code"] == "UNAUTHENTICATED"
    assert refused["payload"]["extensions"]["reason"] == "malformed_token"
    assert code == 4403


async def test_legacy_start_before_connection_init_closes_with_4401(gateway: LiveGateway) -> None:
    async with socket(gateway, LEGACY) as ws:
        await ws.send(subscribe("1", HEARTBEAT, LEGACY))
        code, _ = await close_of(ws)
    assert code == 4401


@pytest.mark.parametrize("message", ["[1]", '{"type": "shout"}', '{"type": "start", "payload": {}}',
                                     '{"type": "start", "id": "1", "payload": {"query": 1}}'])
async def test_legacy_an_invalid_message_is_a_connection_error_then_close_4400(
    gateway: LiveGateway, tenant: uuid.UUID, message: str
) -> None:
    async with acked(gateway, gateway.token(tenant), LEGACY) as ws:
        await ws.send(message)
        refused = await receive(ws)
        code, _ = await close_of(ws)
    assert refused["type"] == "connection_error"
    assert refused["payload"]["extensions"]["code"] == "BAD_USER_INPUT"
    assert code == 4400


async def test_legacy_a_query_via_start_answers_data_then_complete(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    async with acked(gateway, gateway.token(tenant, user_id="ada"), LEGACY) as ws:
        await ws.send(subscribe("1", "{ viewer { subject } }", LEGACY))
        data = await receive(ws)
        complete = await receive(ws)
    assert data == {"type": "data", "id": "1", "payload": {"data": {"viewer": {"subject": "ada"}}}}
    assert complete == {"type": "complete", "id": "1"}


async def test_legacy_a_subscription_streams_data(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    async with acked(gateway, gateway.token(tenant), LEGACY) as ws:
        await ws.send(subscribe("1", HEARTBEAT, LEGACY))
        beats = [(await receive(ws))["payload"]["data"]["heartbeat"] for _ in range(2)]
        await ws.send(json.dumps({"type": "stop", "id": "1"}))
        assert await receive(ws) == {"type": "complete", "id": "1"}
    assert beats[0] < beats[1]


@pytest.mark.parametrize("query", ["{ viewer { subject ", "{ viewer { nosuch } }"])
async def test_legacy_syntax_and_validation_errors_are_error_messages_with_bad_user_input(
    gateway: LiveGateway, tenant: uuid.UUID, query: str
) -> None:
    async with acked(gateway, gateway.token(tenant), LEGACY) as ws:
        await ws.send(subscribe("1", query, LEGACY))
        error = error_of(await receive(ws), LEGACY)
        await ws.send(subscribe("2", "{ viewer { subject } }", LEGACY))
        after = await receive(ws)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert after["type"] == "data"


async def test_legacy_a_crafted_cursor_is_bad_user_input_on_after(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    async with acked(gateway, gateway.token(tenant), LEGACY) as ws:
        await ws.send(subscribe("1", AGENTS_AFTER, LEGACY, after=NESTED_CURSOR))
        message = await receive(ws)
    assert message["type"] == "data"
    [error] = message["payload"]["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


async def test_legacy_an_unexpected_error_is_masked_as_internal(
    agents_unreadable: LiveGateway, tenant: uuid.UUID
) -> None:
    gateway, request_id = agents_unreadable, f"ws-{uuid.uuid4().hex[:8]}"

    async with acked(gateway, gateway.token(tenant), LEGACY, additional_headers={"X-Request-Id": request_id}) as ws:
        await ws.send(subscribe("1", AGENTS_AFTER, LEGACY))
        message = await receive(ws)

    [error] = message["payload"]["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert "permission" not in json.dumps(message)


async def test_legacy_the_subscription_limit_is_rate_limited(gateway: LiveGateway, tenant: uuid.UUID) -> None:
    slow = "subscription { heartbeat(intervalSeconds: 60) }"
    async with acked(gateway, gateway.token(tenant), LEGACY) as ws:
        for i in range(100):
            await ws.send(subscribe(str(i), slow, LEGACY))
        for _ in range(100):
            assert (await receive(ws))["type"] == "data"
        await ws.send(subscribe("one too many", slow, LEGACY))
        error = error_of(await receive(ws), LEGACY)
    assert error["extensions"]["code"] == "RATE_LIMITED"
