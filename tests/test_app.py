"""Health, readiness, request ids, error masking and the websocket transport."""

from __future__ import annotations

import json
import logging

import asyncpg
import httpx
import pytest
import websockets
from graphql import GraphQLError

from gateway.graphql_errors import with_code
from gateway.logs import request_id_var
from tests.conftest import LiveGateway
from tests.factories import make_tenant


async def test_healthz_answers_while_the_process_lives(gateway: LiveGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_with_current_migrations_and_not_with_a_pending_one(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["database"] == "ok"
        # when the last migration is forgotten, as on a database behind this code
        last = await admin_conn.fetchval("DELETE FROM schema_migrations WHERE version = "
                                         "(SELECT max(version) FROM schema_migrations) RETURNING version")
        not_ready = await client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["pendingMigrations"] == [last]


async def test_request_id_is_echoed_and_generated_when_absent(gateway: LiveGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        given = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
        generated = await client.get("/healthz")
    assert given.headers["x-request-id"] == "abc-123"
    assert len(generated.headers["x-request-id"]) == 32


def test_unexpected_errors_are_masked_as_internal_with_the_request_id_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = request_id_var.set("req-42")
    try:
        error = GraphQLError("boom", path=["agents"], original_error=RuntimeError("password=hunter2"))
        with caplog.at_level(logging.ERROR):
            masked = with_code(error)
    finally:
        request_id_var.reset(token)
    assert masked.extensions == {"code": "INTERNAL", "requestId": "req-42"}
    assert "req-42" in masked.message
    assert "hunter2" not in masked.message
    assert any(r.exc_info and "hunter2" in str(r.exc_info[1]) for r in caplog.records)


async def test_websocket_subscription_streams_with_a_valid_token(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    tenant = await make_tenant(admin_conn)
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {gateway.token(tenant)}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": "subscription { heartbeat(intervalSeconds: 0.05) }"}}))
        beats = []
        while len(beats) < 2:
            message = json.loads(await ws.recv())
            if message["type"] == "next":
                beats.append(message["payload"]["data"]["heartbeat"])
        assert beats[0] < beats[1]
        await ws.send(json.dumps({"id": "1", "type": "complete"}))


async def test_websocket_with_a_bad_token_is_closed_with_4403(gateway: LiveGateway) -> None:
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_websocket_subscribe_before_init_is_closed_with_4401(gateway: LiveGateway) -> None:
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": "subscription { heartbeat }"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401




@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("PUT", "/graphql", 405, "BAD_USER_INPUT"),
    ("DELETE", "/graphql", 405, "BAD_USER_INPUT"),
    ("GET", "/api/v1/events", 405, "BAD_USER_INPUT"),
    ("GET", "/no/such/page", 404, "NOT_FOUND"),
])
async def test_unknown_paths_and_methods_get_coded_json_errors_not_plain_text(
        gateway: LiveGateway, method: str, path: str, status: int, code: str) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    if status == 405:
        assert "allow" in response.headers


async def test_a_fault_outside_any_operation_is_a_masked_json_500_with_the_request_id(
        caplog: pytest.LogCaptureFixture) -> None:
    # given a route of the app that fails (no database needed: the lifespan is off)
    from starlette.routing import Route

    from gateway.app import create_app
    from gateway.settings import Settings
    from tests.browser import serve_app

    async def broken(request: object) -> None:
        raise RuntimeError("secret detail of the fault")

    app = create_app(Settings.from_env({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
                                        "CALLPULSE_JWT_SECRET": "x" * 48}))
    app.router.routes.append(Route("/broken", endpoint=broken))
    # when
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/broken", headers={"X-Request-Id": "fault-42"})
    # then
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "fault-42"}
    assert "secret detail" not in response.text
    logged = [r for r in caplog.records if r.name == "gateway.http_errors" and r.exc_info]
    assert logged, "the fault must be logged with its traceback"
    assert "secret detail" in str(logged[0].exc_info[1])  # type: ignore[index]


async def test_a_null_variable_for_a_non_null_argument_with_a_default_is_bad_user_input(
        gateway: LiveGateway, admin_conn: asyncpg.Connection) -> None:
    from tests.factories import make_tenant

    tenant = await make_tenant(admin_conn)
    query = "query($first: Int) { leaderboard(range: {preset: TODAY}, metric: CALLS_TOTAL, first: $first) { name } }"
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/graphql", json={"query": query, "variables": {"first": None}},
                                     headers={"Authorization": f"Bearer {gateway.token(tenant)}"})
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    assert "'$first'" in errors[0]["message"]
