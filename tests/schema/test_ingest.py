"""EventInput: an omitted `data` still means `{}`, an explicit null is refused as over POST /api/v1/events."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.conftest import LiveGateway
from tests.factories import make_tenant

TRACK = """
mutation Track($events: [EventInput!]!) {
  trackEvents(events: $events) { accepted rejected { index code field reason } }
}
"""


def track(**data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "track", "occurredAt": "2026-03-02T14:00:00Z", **data}


async def test_an_omitted_data_is_an_empty_object_and_null_is_refused_per_event(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    token = gateway.token(await make_tenant(admin_conn), "platform", roles=("service",))
    events = [track(), track(data={}), track(data=None)]

    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        response = await client.post("/graphql", json={"query": TRACK, "variables": {"events": events}},
                                     headers={"Authorization": f"Bearer {token}"})

    omitted, empty, null = response.json()["data"]["trackEvents"]["rejected"]
    assert {k: v for k, v in omitted.items() if k != "index"} == {k: v for k, v in empty.items() if k != "index"}
    assert omitted["field"] == "data.name"
    assert null == {"index": 2, "code": "BAD_USER_INPUT", "field": "data", "reason": "data must be a JSON object"}
