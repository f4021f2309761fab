"""The calls, leads, tasks and teams lists and node(id:): filters, orders, keyset pages, over real HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from gateway.cursors import encode_cursor
from gateway.ids import encode_id
from tests.conftest import LiveGateway
from tests.resolvers.floor import CALL, Floor, at, build_floor
from tests.resolvers.test_agents import graphql

CALLS = """
query Calls($first: Int, $after: String, $filter: CallFilter, $orderBy: CallOrder! = STARTED_AT_DESC) {
  calls(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id direction outcome disposition handleSeconds waitSeconds
                   agent { name } campaign { name } lead { name } } }
  }
}
"""
LEADS = """
query Leads($filter: LeadFilter, $orderBy: LeadOrder! = CREATED_AT_DESC, $first: Int, $after: String) {
  leads(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name stage source score value owner { name } campaign { name } } }
  }
}
"""
TASKS = """
query Tasks($filter: TaskFilter, $orderBy: TaskOrder! = CREATED_AT_DESC) {
  tasks(filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { node { title status completedAt assignee { name } lead { name } } }
  }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Agent { name }
    ... on Call { outcome agent { name } }
    ... on Lead { leadName: name history { stage } }
    ... on Task { title }
    ... on Team { name }
    ... on Campaign { name }
    ... on User { email }
    ... on Tenant { name }
  }
}
"""


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> Floor:
    return await build_floor(admin_conn)


def names(body: dict[str, Any], root: str, field: str = "name") -> list[Any]:
    assert "errors" not in body, body["errors"]
    return [e["node"][field] for e in body["data"][root]["edges"]]


def call_names(floor: Floor, body: dict[str, Any]) -> list[str]:
    by_id = {encode_id("Call", v): k for k, v in floor.calls.items()}
    return [by_id[i] for i in names(body, "calls", "id")]


async def test_calls_are_newest_first_by_default_and_oldest_first_on_request(
    gateway: LiveGateway, floor: Floor
) -> None:
    token = gateway.token(floor.tenant)
    newest = await graphql(gateway, token, CALLS)
    assert call_names(floor, newest) == ["call-q", "call-c1", "call-b1", "call-a3", "call-a2", "call-a1"]
    assert newest["data"]["calls"]["totalCount"] == 6
    oldest = await graphql(gateway, token, CALLS, orderBy="STARTED_AT_ASC")
    assert call_names(floor, oldest) == ["call-a1", "call-a2", "call-a3", "call-b1", "call-c1", "call-q"]


async def test_call_fields_resolve_their_agent_campaign_and_lead(gateway: LiveGateway, floor: Floor) -> None:
    body = await graphql(gateway, gateway.token(floor.tenant), CALLS, orderBy="STARTED_AT_ASC", first=1)
    assert body["data"]["calls"]["edges"][0]["node"] | {"id": None} == {
        "id": None, "direction": "OUTBOUND", "outcome": "CONNECTED", "disposition": "INTERESTED",
        "handleSeconds": 240, "waitSeconds": 5.0, "agent": {"name": "A"}, "campaign": {"name": "K"},
        "lead": {"name": "lead-a1"}}


@pytest.mark.parametrize(("flt", "expected"), [
    ({"range": {"from": "2026-03-02", "to": "2026-03-03"}}, ["call-b1", "call-a3", "call-a2"]),
    ({"agentId": "A"}, ["call-a3", "call-a2", "call-a1"]),
    ({"teamId": "red"}, ["call-b1", "call-a3", "call-a2", "call-a1"]),
    ({"campaignId": "k"}, ["call-c1", "call-b1", "call-a1"]),
    ({"leadId": "lead-a2"}, ["call-a2"]),
    ({"direction": "INBOUND"}, ["call-q", "call-c1", "call-a3"]),
    ({"outcome": "VOICEMAIL"}, ["call-b1"]),
    ({"direction": "INBOUND", "teamId": "red"}, ["call-a3"]),
])
async def test_every_call_filter_narrows_the_list_and_its_total(
    gateway: LiveGateway, floor: Floor, flt: dict[str, Any], expected: list[str]
) -> None:
    ids = {"A": encode_id("Agent", floor.a), "red": encode_id("Team", floor.red),
           "k": encode_id("Campaign", floor.camp_k), "lead-a2": encode_id("Lead", floor.leads["lead-a2"])}
    resolved = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in flt.items()}
    body = await graphql(gateway, gateway.token(floor.tenant), CALLS, filter=resolved)
    assert call_names(floor, body) == expected
    assert body["data"]["calls"]["totalCount"] == len(expected)


@pytest.mark.parametrize(("order", "expected"), [
    ("CREATED_AT_DESC", ["lead-x", "lead-c1", "lead-b1", "lead-a2", "lead-a1"]),
    ("CREATED_AT_ASC", ["lead-a1", "lead-a2", "lead-b1", "lead-c1", "lead-x"]),
    ("VALUE_DESC", ["lead-a2", "lead-b1", "lead-a1", "lead-c1", "lead-x"]),
    ("SCORE_DESC", ["lead-a2", "lead-c1", "lead-b1", "lead-a1", "lead-x"]),
])
async def test_every_lead_order_sorts_and_pages_without_gaps(
    gateway: LiveGateway, floor: Floor, order: str, expected: list[str]
) -> None:
    token = gateway.token(floor.tenant)
    seen: list[str] = []
    after = None
    while True:
        body = await graphql(gateway, token, LEADS, orderBy=order, first=2, after=after)
        seen += names(body, "leads")
        if not body["data"]["leads"]["pageInfo"]["hasNextPage"]:
            break
        after = body["data"]["leads"]["pageInfo"]["endCursor"]
    assert seen == expected


@pytest.mark.parametrize(("flt", "expected"), [
    ({"stage": "WON"}, ["lead-a2"]),
    ({"source": "WEB_FORM"}, ["lead-b1", "lead-a1"]),
    ({"campaignId": "k"}, ["lead-c1", "lead-b1", "lead-a1"]),
    ({"ownerId": "A"}, ["lead-a2", "lead-a1"]),
    ({"range": {"from": "2026-03-04", "to": "2026-03-05"}}, ["lead-x", "lead-c1"]),
])
async def test_every_lead_filter_narrows_the_list(
    gateway: LiveGateway, floor: Floor, flt: dict[str, Any], expected: list[str]
) -> None:
    ids = {"A": encode_id("Agent", floor.a), "k": encode_id("Campaign", floor.camp_k)}
    resolved = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in flt.items()}
    body = await graphql(gateway, gateway.token(floor.tenant), LEADS, filter=resolved)
    assert names(body, "leads") == expected
    assert body["data"]["leads"]["totalCount"] == len(expected)


async def test_tasks_filter_by_status_assignee_and_lead(gateway: LiveGateway, floor: Floor) -> None:
    token = gateway.token(floor.tenant)
    assert names(await graphql(gateway, token, TASKS), "tasks", "title") == ["task-c1", "task-a2", "task-a1"]
    assert names(await graphql(gateway, token, TASKS, orderBy="CREATED_AT_ASC"), "tasks", "title") == [
        "task-a1", "task-a2", "task-c1"]
    done = await graphql(gateway, token, TASKS, filter={"status": "COMPLETED"})
    assert done["data"]["tasks"]["edges"][0]["node"]["assignee"] == {"name": "A"}
    assert done["data"]["tasks"]["edges"][0]["node"]["completedAt"] is not None
    assert names(done, "tasks", "title") == ["task-a2"]
    by_c = await graphql(gateway, token, TASKS, filter={"assigneeId": encode_id("Agent", floor.c)})
    assert names(by_c, "tasks", "title") == ["task-c1"]
    by_lead = await graphql(gateway, token, TASKS, filter={"leadId": encode_id("Lead", floor.leads["lead-a1"])})
    assert names(by_lead, "tasks", "title") == ["task-a1"]
    by_day = await graphql(gateway, token, TASKS, filter={"range": {"from": "2026-03-02", "to": "2026-03-02"}})
    assert names(by_day, "tasks", "title") == ["task-a2"]


async def test_call_pages_have_no_duplicates_or_gaps_while_calls_are_inserted(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection
) -> None:
    # given: 30 more calls, paged 4 at a time oldest first
    for i in range(30):
        floor.calls[f"extra-{i}"] = uuid.uuid4()
        await admin_conn.execute(CALL, floor.tenant, floor.calls[f"extra-{i}"], "inbound", floor.b, None, None,
                                 at(5, i), "connected", None)
    original = set(floor.calls)
    token = gateway.token(floor.tenant)
    seen: list[str] = []
    after = None
    inserted = 0
    while True:
        body = await graphql(gateway, token, CALLS, orderBy="STARTED_AT_ASC", first=4, after=after)
        seen += call_names(floor, body)
        # when: between pages, calls land both before the cursor and at the far end
        for when in (at(1, 0), at(30, 0)):
            name = f"late-{inserted}"
            inserted += 1
            floor.calls[name] = uuid.uuid4()
            await admin_conn.execute(CALL, floor.tenant, floor.calls[name], "inbound", floor.b, None, None, when,
                                     "connected", None)
        if not body["data"]["calls"]["pageInfo"]["hasNextPage"]:
            break
        after = body["data"]["calls"]["pageInfo"]["endCursor"]
    # then: every call there from the start is seen once, in order; of the new ones only those past the cursor
    assert len(seen) == len(set(seen))
    assert set(seen[:len(original)]) == original
    late = seen[len(original):]
    assert late
    assert all(int(n.removeprefix("late-")) % 2 == 1 for n in late)


async def test_a_cursor_from_another_order_or_forged_is_bad_user_input(gateway: LiveGateway, floor: Floor) -> None:
    token = gateway.token(floor.tenant)
    first = await graphql(gateway, token, LEADS, orderBy="VALUE_DESC", first=1)
    cursor = first["data"]["leads"]["pageInfo"]["endCursor"]
    mixed = await graphql(gateway, token, LEADS, orderBy="SCORE_DESC", first=1, after=cursor)
    assert mixed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    forged = await graphql(gateway, token, LEADS, orderBy="VALUE_DESC", first=1,
                           after=encode_cursor(["value_desc", "1e99999x", str(uuid.uuid4())]))
    assert forged["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_teams_lists_the_tenants_teams_by_name(gateway: LiveGateway, floor: Floor) -> None:
    body = await graphql(gateway, gateway.token(floor.tenant),
                         "{ teams { totalCount edges { node { name } } } }")
    assert names(body, "teams") == ["Blue", "Red"]
    assert body["data"]["teams"]["totalCount"] == 2


async def test_node_fetches_every_type_by_global_id(gateway: LiveGateway, floor: Floor) -> None:
    token = gateway.token(floor.tenant)
    for type_name, key, field, expected in [
        ("Agent", floor.a, "name", "A"), ("Team", floor.red, "name", "Red"), ("Campaign", floor.camp_k, "name", "K"),
        ("Lead", floor.leads["lead-a2"], "leadName", "lead-a2"), ("Call", floor.calls["call-c1"], "outcome",
                                                             "CONNECTED"),
        ("Task", floor.tasks["task-c1"], "title", "task-c1"), ("User", floor.admin, "email", "boss@floor.test"),
        ("Tenant", floor.tenant, "name", "Floor"),
    ]:
        body = await graphql(gateway, token, NODE, id=encode_id(type_name, key))
        assert "errors" not in body, body
        assert body["data"]["node"]["__typename"] == type_name
        assert body["data"]["node"]["id"] == encode_id(type_name, key)
        assert body["data"]["node"][field] == expected


async def test_node_of_another_tenants_or_unknown_row_is_null(gateway: LiveGateway, floor: Floor) -> None:
    token = gateway.token(floor.tenant)
    for global_id in (encode_id("Agent", uuid.uuid4()), encode_id("Tenant", floor.other_tenant)):
        body = await graphql(gateway, token, NODE, id=global_id)
        assert body == {"data": {"node": None}}
    bad = await graphql(gateway, token, NODE, id="not-an-id")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_lead_history_lists_its_stays_oldest_first(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection
) -> None:
    lead = floor.leads["lead-b1"]
    await admin_conn.execute(
        "INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, exited_at, next_stage) VALUES "
        "($1, $2, 'new', $3, $4, 'contacted'), ($1, $2, 'contacted', $4, NULL, NULL)",
        floor.tenant, lead, at(3, 9), at(3, 12))
    body = await graphql(gateway, gateway.token(floor.tenant), NODE, id=encode_id("Lead", lead))
    assert body["data"]["node"]["history"] == [{"stage": "NEW"}, {"stage": "CONTACTED"}]


async def test_an_agent_lists_its_badges_newest_first_and_its_campaigns_in_a_range(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection
) -> None:
    first, star = uuid.uuid4(), uuid.uuid4()
    await admin_conn.execute("INSERT INTO badges (tenant_id, id, code, name, points) VALUES "
                             "($1, $2, 'first_sale', 'First sale', 10), ($1, $3, 'star', 'Star', 50)",
                             floor.tenant, first, star)
    await admin_conn.execute("INSERT INTO agent_badges (tenant_id, agent_id, badge_id, awarded_at) VALUES "
                             "($1, $2, $3, '2026-03-01T10:00Z'), ($1, $2, $4, '2026-03-05T10:00Z')",
                             floor.tenant, floor.a, first, star)
    body = await graphql(gateway, gateway.token(floor.tenant), """query($id: ID!) { node(id: $id) { ... on Agent {
        badges { awardedAt badge { code name points } }
        early: campaigns(range: {from: "2026-03-01", to: "2026-03-01"}) { name }
        all: campaigns(range: {from: "2026-03-01", to: "2026-03-31"}) { name }
        metrics(range: {from: "2026-03-01", to: "2026-03-31"}) { __typename callsTotal } } } }""",
                         id=encode_id("Agent", floor.a))
    agent = body["data"]["node"]
    assert agent["badges"] == [
        {"awardedAt": "2026-03-05T10:00:00+00:00", "badge": {"code": "star", "name": "Star", "points": 50}},
        {"awardedAt": "2026-03-01T10:00:00+00:00", "badge": {"code": "first_sale", "name": "First sale",
                                                             "points": 10}},
    ]
    assert agent["early"] == [{"name": "K"}]
    assert agent["all"] == [{"name": "K"}, {"name": "L"}]
    assert agent["metrics"] == {"__typename": "AgentMetrics", "callsTotal": 3}


@pytest.mark.parametrize(("order", "value"), [
    ("score_desc", "99999999999"), ("value_desc", "1e999999"), ("value_desc", "NaN"),
    ("created_at_desc", "0001-01-01T00:00:00+05:00"), ("created_at_desc", "9999-12-31T23:00:00-05:00"),
])
async def test_crafted_cursors_are_bad_user_input_never_internal(
    gateway: LiveGateway, floor: Floor, order: str, value: str
) -> None:
    body = await graphql(gateway, gateway.token(floor.tenant), LEADS, orderBy=order.upper(), first=1,
                         after=encode_cursor([order, value, str(uuid.uuid4())]))
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    nul = await graphql(gateway, gateway.token(floor.tenant), "query($a: String) { agents(after: $a) { totalCount } }",
                        a=encode_cursor(["a\x00", str(uuid.uuid4())]))
    assert nul["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("query", [
    '{ calls(filter: {range: {from: "9999-12-31", to: "9999-12-31"}}) { totalCount } }',
    '{ tenant { trend(metric: CALLS_TOTAL, range: {from: "0001-01-01", to: "0001-01-03"}) { current } } }',
    '{ tenant { series(metrics: [CALLS_TOTAL], range: {from: "2016-01-01", to: "2026-01-01"}, granularity: HOUR) '
    '{ bucketStarts } } }',
])
async def test_ranges_at_the_calendars_ends_or_too_many_buckets_are_bad_user_input(
    gateway: LiveGateway, floor: Floor, query: str
) -> None:
    body = await graphql(gateway, gateway.token(floor.tenant), query)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
