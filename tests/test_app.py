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


