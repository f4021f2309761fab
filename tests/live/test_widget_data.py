"""widgetData: a widget's figures as `Widget.data` answers them, pushed on data changes and on edits."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from tests.conftest import LiveGateway
from tests.factories import make_agent, make_tenant, make_user
from tests.live.helpers import DAY, call_event, ingest, subscribed
from tests.resolvers.test_agents import graphql

WIDGET_DATA = "subscription($id: ID!) { widgetData(widgetId: $id) { values { name value } } }"
QUERY = "{ widgets { id data { values { name value } } } }"
CREATE = "mutation($input: CreateWidgetInput!) { createWidget(input: $input) { id } }"
UPDATE = "mutation($id: ID!, $input: UpdateWidgetInput!) { updateWidget(id: $id, input: $input) { id } }"
DELETE = "mutation($id: ID!) { deleteWidget(id: $id) }"


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    tenant = await make_tenant(admin_conn, "Acme", "Europe/Berlin")
    return {"tenant": tenant, "ada": await make_agent(admin_conn, tenant, "Ada"),
            "boss": await make_user(admin_conn, tenant, "boss@acme.test", "admin"),
            "other": await make_user(admin_conn, tenant, "other@acme.test", "admin")}


async def mutate(gateway: LiveGateway, token: str, query: str, **variables: Any) -> dict[str, Any]:
    body = await graphql(gateway, token, query, **variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_widget_data_follows_the_data_and_the_widgets_edits(gateway: LiveGateway,
                                                                   floor: dict[str, uuid.UUID]) -> None:
    token = gateway.token(floor["tenant"], str(floor["boss"]))
    widget = {"title": "Calls", "type": "KPI", "position": {"x": 0, "y": 0, "w": 4, "h": 2},
              "config": {"range": {"from": DAY, "to": DAY}, "metrics": ["CALLS_TOTAL"]}}
    widget_id = (await mutate(gateway, token, CREATE, input=widget))["createWidget"]["id"]
    async with subscribed(gateway, token, WIDGET_DATA, {"id": widget_id}) as sub:
        # first: what the query answers
        first = await sub.next()
        queried = (await mutate(gateway, token, QUERY))["widgets"][0]["data"]
        assert first == {"data": {"widgetData": queried}}
        # a call: the new figure, equal to the query's again
        await ingest(gateway, floor["tenant"], [call_event(floor["ada"])])
        second = await sub.next()
        assert second["data"]["widgetData"] == (await mutate(gateway, token, QUERY))["widgets"][0]["data"]
        assert second["data"]["widgetData"]["values"] == [{"name": "calls_total", "value": 1.0}]
        # an edit: the widget's new metrics, with no data change at all
        await mutate(gateway, token, UPDATE, id=widget_id,
                     input={"config": {"range": {"from": DAY, "to": DAY}, "metrics": ["CALLS_HANDLED"]}})
        third = await sub.next()
        assert third["data"]["widgetData"]["values"] == [{"name": "calls_handled", "value": 1.0}]
        # deleted: NOT_FOUND
        await mutate(gateway, token, DELETE, id=widget_id)
        gone = await sub.next()
        assert [e["extensions"]["code"] for e in gone["errors"]] == ["NOT_FOUND"]


async def test_another_users_widget_is_not_found(gateway: LiveGateway, floor: dict[str, uuid.UUID]) -> None:
    owner = gateway.token(floor["tenant"], str(floor["boss"]))
    widget = {"title": "Calls", "type": "KPI", "position": {"x": 0, "y": 0, "w": 4, "h": 2},
              "config": {"range": {"preset": "TODAY"}, "metrics": ["CALLS_TOTAL"]}}
    widget_id = (await mutate(gateway, owner, CREATE, input=widget))["createWidget"]["id"]
    other = gateway.token(floor["tenant"], str(floor["other"]))
    async with subscribed(gateway, other, WIDGET_DATA, {"id": widget_id}) as sub:
        payload = await sub.next()
    assert payload["data"] is None
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["NOT_FOUND"]
