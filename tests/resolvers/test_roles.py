"""Every role rule, allowed and denied: what admin, viewer, manager, agent and service tokens may read."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from gateway.ids import encode_id
from tests.conftest import LiveGateway
from tests.resolvers.floor import CALL, TASK, Floor, at, build_floor
from tests.resolvers.test_agents import graphql

RANGE = '{from: "2026-03-01", to: "2026-03-31"}'
AGENT_NAMES = "{ agents { totalCount edges { node { name } } } }"
CALL_AGENTS = "{ calls { totalCount edges { node { agent { name } } } } }"
LEAD_NAMES = "{ leads { totalCount edges { node { name } } } }"
TASK_TITLES = "{ tasks { edges { node { title } } } }"
TEAM_NAMES = "{ teams { edges { node { name } } } }"
TENANT_METRICS = f"{{ tenant {{ metrics(range: {RANGE}) {{ callsTotal }} }} }}"
CAMPAIGN_METRICS = f"{{ campaigns {{ edges {{ node {{ name metrics(range: {RANGE}) {{ leadsGenerated }} }} }} }} }}"
NODE_METRICS = f"""
query($id: ID!) {{
  node(id: $id) {{
    ... on Agent {{ name metrics(range: {RANGE}) {{ callsTotal }} }}
    ... on Team {{ name metrics(range: {RANGE}) {{ callsTotal }} }}
  }}
}}
"""
NODE_NAME = "query($id: ID!) { node(id: $id) { id } }"


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> Floor:
    return await build_floor(admin_conn)


def tokens(gateway: LiveGateway, floor: Floor) -> dict[str, str]:
    return {
        "admin": gateway.token(floor.tenant, str(floor.admin), roles=("admin",)),
        "viewer": gateway.token(floor.tenant, str(floor.viewer), roles=("viewer",)),
        "manager": gateway.token(floor.tenant, str(floor.manager), roles=("manager",)),
        "agent": gateway.token(floor.tenant, str(floor.ada), roles=("agent",)),
        "service": gateway.token(floor.tenant, "platform", roles=("service",)),
    }


def column(body: dict[str, Any], root: str, *path: str) -> list[Any]:
    assert "errors" not in body, body["errors"]
    values = []
    for edge in body["data"][root]["edges"]:
        value = edge["node"]
        for step in path:
            value = value[step] if value is not None else None
        values.append(value)
    return values


def code(body: dict[str, Any]) -> str:
    codes: set[str] = {e["extensions"]["code"] for e in body["errors"]}
    assert len(codes) == 1, body
    return codes.pop()


@pytest.mark.parametrize(("role", "agents", "call_agents", "leads", "tasks", "teams"), [
    ("admin", ["A", "B", "C"], ["A", "A", "A", "B", "C", None], 5, 3, ["Blue", "Red"]),
    ("viewer", ["A", "B", "C"], ["A", "A", "A", "B", "C", None], 5, 3, ["Blue", "Red"]),
    ("manager", ["A", "B"], ["A", "A", "A", "B"], 3, 2, ["Red"]),
    ("agent", ["A"], ["A", "A", "A"], 2, 2, ["Red"]),
])
async def test_lists_show_each_role_exactly_the_people_it_may_read(
    gateway: LiveGateway, floor: Floor, role: str, agents: list[str], call_agents: list[str | None], leads: int,
    tasks: int, teams: list[str]
) -> None:
    token = tokens(gateway, floor)[role]
    agent_body = await graphql(gateway, token, AGENT_NAMES)
    assert column(agent_body, "agents", "name") == agents
    assert agent_body["data"]["agents"]["totalCount"] == len(agents)
    calls = await graphql(gateway, token, CALL_AGENTS)
    assert sorted(column(calls, "calls", "agent", "name"), key=str) == sorted(call_agents, key=str)
    assert calls["data"]["calls"]["totalCount"] == len(call_agents)
    lead_body = await graphql(gateway, token, LEAD_NAMES)
    assert lead_body["data"]["leads"]["totalCount"] == leads == len(column(lead_body, "leads", "name"))
    assert len(column(await graphql(gateway, token, TASK_TITLES), "tasks", "title")) == tasks
    assert column(await graphql(gateway, token, TEAM_NAMES), "teams", "name") == teams


@pytest.mark.parametrize(("role", "allowed"), [
    ("admin", True), ("viewer", True), ("manager", True), ("agent", False)])
async def test_tenant_and_campaign_figures_need_admin_viewer_or_manager(
    gateway: LiveGateway, floor: Floor, role: str, allowed: bool
) -> None:
    token = tokens(gateway, floor)[role]
    for query in (TENANT_METRICS, CAMPAIGN_METRICS):
        body = await graphql(gateway, token, query)
        if allowed:
            assert "errors" not in body, body
        else:
            assert code(body) == "FORBIDDEN"


@pytest.mark.parametrize(("role", "readable", "forbidden"), [
    ("admin", ["a", "b", "c", "red", "blue"], []),
    ("viewer", ["a", "b", "c", "red", "blue"], []),
    ("manager", ["a", "b", "red"], ["c", "blue"]),
    ("agent", ["a", "red"], ["b", "c", "blue"]),
])
async def test_agent_and_team_figures_follow_the_role_and_denials_are_forbidden_not_empty(
    gateway: LiveGateway, floor: Floor, role: str, readable: list[str], forbidden: list[str]
) -> None:
    token = tokens(gateway, floor)[role]
    ids = {"a": encode_id("Agent", floor.a), "b": encode_id("Agent", floor.b), "c": encode_id("Agent", floor.c),
           "red": encode_id("Team", floor.red), "blue": encode_id("Team", floor.blue)}
    for name in readable:
        body = await graphql(gateway, token, NODE_METRICS, id=ids[name])
        assert "errors" not in body, (name, body)
        assert body["data"]["node"]["metrics"]["callsTotal"] >= 0
    for name in forbidden:
        body = await graphql(gateway, token, NODE_METRICS, id=ids[name])
        assert code(body) == "FORBIDDEN", name
        assert body["data"] is None or body["data"]["node"] is None


@pytest.mark.parametrize(("role", "filter_name"), [("manager", "blueTeam"), ("agent", "blueTeam"),
                                                    ("agent", "agentB"), ("manager", "agentC")])
async def test_filtering_a_list_by_someone_outside_the_role_is_forbidden(
    gateway: LiveGateway, floor: Floor, role: str, filter_name: str
) -> None:
    token = tokens(gateway, floor)[role]
    flt = {"blueTeam": {"teamId": encode_id("Team", floor.blue)},
           "agentB": {"agentId": encode_id("Agent", floor.b)},
           "agentC": {"agentId": encode_id("Agent", floor.c)}}[filter_name]
    body = await graphql(gateway, token, "query($f: CallFilter) { calls(filter: $f) { totalCount } }", f=flt)
    assert code(body) == "FORBIDDEN"


async def test_an_agent_reads_its_own_call_and_user_but_not_others(gateway: LiveGateway, floor: Floor) -> None:
    token = tokens(gateway, floor)["agent"]
    own = await graphql(gateway, token, NODE_NAME, id=encode_id("Call", floor.calls["call-a1"]))
    assert own["data"]["node"]["id"] == encode_id("Call", floor.calls["call-a1"])
    me = await graphql(gateway, token, NODE_NAME, id=encode_id("User", floor.ada))
    assert me["data"]["node"]["id"] == encode_id("User", floor.ada)
    for global_id in (encode_id("Call", floor.calls["call-c1"]), encode_id("Call", floor.calls["call-q"]),
                      encode_id("User", floor.admin), encode_id("Lead", floor.leads["lead-x"]),
                      encode_id("Task", floor.tasks["task-c1"])):
        assert code(await graphql(gateway, token, NODE_NAME, id=global_id)) == "FORBIDDEN"


@pytest.mark.parametrize("query", [AGENT_NAMES, CALL_AGENTS, LEAD_NAMES, TASK_TITLES, TEAM_NAMES, TENANT_METRICS])
async def test_service_tokens_read_nothing_about_people(gateway: LiveGateway, floor: Floor, query: str) -> None:
    body = await graphql(gateway, tokens(gateway, floor)["service"], query)
    assert code(body) == "FORBIDDEN"
    assert body["data"] is None


async def test_a_viewer_cannot_write(gateway: LiveGateway, floor: Floor) -> None:
    body = await graphql(gateway, tokens(gateway, floor)["viewer"],
                         'mutation { trackEvents(events: []) { accepted } }')
    assert code(body) == "FORBIDDEN"


async def test_a_token_with_manager_and_agent_roles_gets_the_union(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection
) -> None:
    # given: Ada (agent A, team Red) also manages Blue
    await admin_conn.execute("INSERT INTO team_managers (tenant_id, team_id, user_id) VALUES ($1, $2, $3)",
                             floor.tenant, floor.blue, floor.ada)
    token = gateway.token(floor.tenant, str(floor.ada), roles=("agent", "manager"))
    body = await graphql(gateway, token, AGENT_NAMES)
    assert column(body, "agents", "name") == ["A", "C"]
    assert "errors" not in await graphql(gateway, token, TENANT_METRICS)


async def test_a_call_or_task_about_someone_elses_lead_does_not_reveal_the_lead(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection
) -> None:
    # given: A calls about B's lead and about the unowned lead-x, and has a task about C's lead
    for lead in ("lead-b1", "lead-x"):
        await admin_conn.execute(CALL, floor.tenant, uuid.uuid4(), "outbound", floor.a, floor.leads[lead], None,
                                 at(6, 10), "connected", None)
    await admin_conn.execute(TASK, floor.tenant, uuid.uuid4(), floor.a, floor.leads["lead-c1"], "follow up", "open",
                             at(6, 11))
    agent = tokens(gateway, floor)["agent"]
    day = '(filter: {range: {from: "2026-03-06", to: "2026-03-06"}})'
    for query in (f"{{ calls{day} {{ edges {{ node {{ lead {{ name }} }} }} }} }}",
                  f"{{ tasks{day} {{ edges {{ node {{ lead {{ name }} }} }} }} }}"):
        body = await graphql(gateway, agent, query)
        assert code(body) == "FORBIDDEN"
        assert "lead-b1" not in str(body["data"])
        assert "lead-c1" not in str(body["data"])
    manager = tokens(gateway, floor)["manager"]
    body = await graphql(gateway, manager, '{ calls(filter: {range: {from: "2026-03-06", to: "2026-03-06"}}) '
                                           '{ edges { node { lead { name } } } } }')
    assert code(body) == "FORBIDDEN"  # lead-x has no owner: whole-tenant roles only
    assert "lead-x" not in str(body["data"])
