"""What the live tests share: a subscriber over graphql-transport-ws, events to ingest, statement counting."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

TRANSPORT = "graphql-transport-ws"
DAY = "2026-03-02"


class Gateway(Protocol):
    """What the helpers need of a gateway: an in-process one (conftest's LiveGateway) or a `callpulse serve`."""

    @property
    def url(self) -> str: ...

    @property
    def ws_url(self) -> str: ...

    def token(self, tenant_id: uuid.UUID, user_id: str = ..., roles: tuple[str, ...] = ...,
              ttl_seconds: int = ...) -> str: ...


def call_event(agent_id: uuid.UUID | str | None, *, ended_at: str = f"{DAY}T14:05:00Z", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"call_id": str(uuid.uuid4()), "direction": "inbound",
                            "agent_id": str(agent_id) if agent_id else None,
                            "started_at": f"{DAY}T14:00:00Z", "answered_at": f"{DAY}T14:00:10Z",
                            "ended_at": ended_at, "talk_seconds": 250, "outcome": "connected", **extra}
    return {"id": str(uuid.uuid4()), "type": "call.ended", "occurred_at": ended_at, "data": data}


async def ingest(gateway: Gateway, tenant_id: uuid.UUID, events: list[dict[str, Any]]) -> None:
    token = gateway.token(tenant_id, "platform", roles=("service",))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        response = await client.post("/api/v1/events", json=events, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(events), response.text


class Subscriber:
    """One socket with one subscription: `next()` is the next payload, `quiet()` that none comes for a while."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def next(self, within: float = 10) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), within))
            if message["type"] in ("next", "data"):
                payload: dict[str, Any] = message["payload"]
                return payload
            if message["type"] in ("error", "complete"):
                return {"protocol": message}

    async def quiet(self, seconds: float = 0.5) -> bool:
        try:
            message = await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"expected no message, got {message!r}")


@asynccontextmanager
async def subscribed(gateway: Gateway, token: str, query: str,
                     variables: dict[str, Any] | None = None) -> AsyncIterator[Subscriber]:
    async with websockets.connect(gateway.ws_url, subprotocols=[TRANSPORT]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": query, "variables": variables or {}}}))
        yield Subscriber(ws)
