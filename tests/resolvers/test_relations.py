"""The lists below entities (team.agents, agent.calls, campaign.leads, lead.tasks, …): pages per parent, filters,
orders, the role rules of the root lists, and one SQL statement per level whatever the number of parents."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery

from gateway.ids import encode_id
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_agent, make_team, make_tenant
from tests.resolvers.floor import CALL, Floor, at, build_floor
from tests.resolvers.test_agents import graphql
from tests.resolvers.test_metrics import BOOKKEEPING
from tests.resolvers.test_roles import code, tokens

AGENT_CALLS = """
query($id: ID!, $first: Int, $after: String, $filter: CallFilter, $orderBy: CallOrder! = STARTED_AT_DESC) {
  node(id: $id) { ... on Agent {
    calls(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id agent { name } } }
    }
  } }
}
"""
EVERY_AGENTS_CALLS = """
query($first: Int, $after: String) {
  agents { edges { node { name calls(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } } }
}
"""
TEAMS_BELOW = """
query($filter: AgentFilter) {
  teams { edges { node { name
    agents(filter: $filter) { totalCount edges { node { name } } }
    managers { totalCount edges { node { email displayName } } }
  } } }
}
"""
CAMPAIGNS_BELOW = """
{
  campaigns { edges { node { name
    calls { totalCount edges { node { id } } }
    leads { totalCount edges { node { name } } }
  } } }
}
"""
LEADS_BELOW = """
{
  leads(orderBy: CREATED_AT_ASC) { edges { node { name
    calls { totalCount edges { node { id } } }
    tasks { totalCount edges { node { title } } }
  } } }
}
"""
OWN_AGENT = """
{
  viewer { user { agent { name
    calls { totalCount }
    leads(orderBy: VALUE_DESC) { totalCount edges { node { name } } }
    tasks { totalCount edges { node { title } } }
    team { name agents { totalCount edges { node { name } } } managers { totalCount edges { node { email } } } }
  } } }
}
"""
# A page of agents, each with a page of calls and each call's campaign: three levels, three statements.
NESTED = """
{ agents(first: 50) { edges { node { calls(first: 10) { edges { node { campaign { name } } } } } } } }
"""


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> Floor:
    return await build_floor(admin_conn)


def call_names(floor: Floor, calls: dict[str, Any]) -> list[str]:
    by_id = {encode_id("Call", v): k for k, v in floor.calls.items()}
    return [by_id[e["node"]["id"]] for e in calls["edges"]]


def edges(connection: dict[str, Any], field: str = "name") -> list[Any]:
    return [e["node"][field] for e in connection["edges"]]


def by_name(body: dict[str, Any], root: str) -> dict[str, dict[str, Any]]:
    assert "errors" not in body, body["errors"]
    return {e["node"]["name"]: e["node"] for e in body["data"][root]["edges"]}


async def test_the_second_page_of_one_agents_calls_continues_after_its_cursor(
    gateway: LiveGateway, floor: Floor
) -> None:
    token = gateway.token(floor.tenant)
    a = encode_id("Agent", floor.a)
    # given: A's first page of two, newest first
    first = (await graphql(gateway, token, AGENT_CALLS, id=a, first=2))["data"]["node"]["calls"]
    assert call_names(floor, first) == ["call-a3", "call-a2"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    # when
    body = await graphql(gateway, token, AGENT_CALLS, id=a, first=2, after=first["pageInfo"]["endCursor"])
    # then
    second = body["data"]["node"]["calls"]
    assert call_names(floor, second) == ["call-a1"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["totalCount"] == 3
    assert [e["node"]["agent"] for e in second["edges"]] == [{"name": "A"}]


async def test_every_parent_gets_its_own_limit_in_one_statement(gateway: LiveGateway, floor: Floor) -> None:
    body = await graphql(gateway, gateway.token(floor.tenant), EVERY_AGENTS_CALLS, first=2)
    agents = by_name(body, "agents")
    assert {name: call_names(floor, a["calls"]) for name, a in agents.items()} == {
        "A": ["call-a3", "call-a2"], "B": ["call-b1"], "C": ["call-c1"]}
    assert {name: a["calls"]["pageInfo"]["hasNextPage"] for name, a in agents.items()} == {
        "A": True, "B": False, "C": False}
    assert {name: a["calls"]["totalCount"] for name, a in agents.items()} == {"A": 3, "B": 1, "C": 1}


async def test_a_cursor_passed_to_every_parent_pages_each_of_them_from_that_position(
    gateway: LiveGateway, floor: Floor
) -> None:
    token = gateway.token(floor.tenant)
    first = await graphql(gateway, token, AGENT_CALLS, id=encode_id("Agent", floor.a), first=1)
    after = first["data"]["node"]["calls"]["pageInfo"]["endCursor"]  # call-a3, day 2 at 11:00
    # when: every agent asks for the calls older than A's newest one
    body = await graphql(gateway, token, EVERY_AGENTS_CALLS, first=5, after=after)
    # then: B's and C's calls are all newer than that
    assert {n: call_names(floor, a["calls"]) for n, a in by_name(body, "agents").items()} == {
        "A": ["call-a2", "call-a1"], "B": [], "C": []}


@pytest.mark.parametrize(("variables", "expected"), [
    ({"filter": {"direction": "INBOUND"}}, ["call-a3"]),
    ({"filter": {"range": {"from": "2026-03-02", "to": "2026-03-02"}}}, ["call-a3", "call-a2"]),
    ({"filter": {"campaignId": "k"}}, ["call-a1"]),
    ({"orderBy": "STARTED_AT_ASC"}, ["call-a1", "call-a2", "call-a3"]),
    ({"orderBy": "STARTED_AT_ASC", "filter": {"outcome": "CONNECTED", "direction": "OUTBOUND"}},
     ["call-a1", "call-a2"]),
])
async def test_agent_calls_honour_the_filter_and_the_order(
    gateway: LiveGateway, floor: Floor, variables: dict[str, Any], expected: list[str]
) -> None:
    flt = variables.get("filter", {})
    if flt.get("campaignId") == "k":
        variables = {**variables, "filter": {"campaignId": encode_id("Campaign", floor.camp_k)}}
    body = await graphql(gateway, gateway.token(floor.tenant), AGENT_CALLS, id=encode_id("Agent", floor.a),
                         **variables)
    calls = body["data"]["node"]["calls"]
    assert call_names(floor, calls) == expected
    assert calls["totalCount"] == len(expected)


async def test_a_cursor_of_another_order_or_a_bad_page_size_is_bad_user_input(
    gateway: LiveGateway, floor: Floor
) -> None:
    token = gateway.token(floor.tenant)
    a = encode_id("Agent", floor.a)
    first = await graphql(gateway, token, AGENT_CALLS, id=a, first=1)
    cursor = first["data"]["node"]["calls"]["pageInfo"]["endCursor"]
    mixed = await graphql(gateway, token, AGENT_CALLS, id=a, after=cursor, orderBy="STARTED_AT_ASC")
    assert mixed["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    too_many = await graphql(gateway, token, AGENT_CALLS, id=a, first=201)
    assert too_many["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


async def test_teams_list_their_agents_by_name_and_their_managers(gateway: LiveGateway, floor: Floor) -> None:
    token = gateway.token(floor.tenant)
    teams = by_name(await graphql(gateway, token, TEAMS_BELOW), "teams")
    assert {n: (edges(t["agents"]), t["agents"]["totalCount"]) for n, t in teams.items()} == {
        "Red": (["A", "B"], 2), "Blue": (["C"], 1)}
    assert teams["Red"]["managers"] == {"totalCount": 1, "edges": [
        {"node": {"email": "mia@floor.test", "displayName": "Mia"}}]}
    assert teams["Blue"]["managers"] == {"totalCount": 0, "edges": []}
    ai = by_name(await graphql(gateway, token, TEAMS_BELOW, filter={"kind": "AI"}), "teams")
    assert {n: t["agents"]["totalCount"] for n, t in ai.items()} == {"Red": 0, "Blue": 0}


async def test_team_agents_page_by_name_with_the_root_lists_cursors(gateway: LiveGateway, floor: Floor) -> None:
    token = gateway.token(floor.tenant)
    query = """query($id: ID!, $after: String) { node(id: $id) { ... on Team {
        agents(first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { node { name } } } } } }"""
    red = encode_id("Team", floor.red)
    page = (await graphql(gateway, token, query, id=red))["data"]["node"]["agents"]
    assert edges(page) == ["A"]
    assert page["pageInfo"]["hasNextPage"] is True
    # The same cursor pages the root list, filtered by the team, the same way.
    root = await graphql(gateway, token, "query($t: ID, $a: String) { agents(first: 1, after: $a, filter: {teamId: "
                         "$t}) { edges { node { name } } } }", t=red, a=page["pageInfo"]["endCursor"])
    assert edges(root["data"]["agents"]) == ["B"]
    second = (await graphql(gateway, token, query, id=red, after=page["pageInfo"]["endCursor"]))["data"]["node"]
    assert edges(second["agents"]) == ["B"]
    assert second["agents"]["pageInfo"]["hasNextPage"] is False


async def test_campaigns_list_their_calls_and_the_leads_they_sourced(gateway: LiveGateway, floor: Floor) -> None:
    campaigns = by_name(await graphql(gateway, gateway.token(floor.tenant), CAMPAIGNS_BELOW), "campaigns")
    assert {n: call_names(floor, c["calls"]) for n, c in campaigns.items()} == {
        "K": ["call-c1", "call-b1", "call-a1"], "L": ["call-a2"]}
    assert {n: edges(c["leads"]) for n, c in campaigns.items()} == {
        "K": ["lead-c1", "lead-b1", "lead-a1"], "L": ["lead-a2"]}
    assert {n: (c["calls"]["totalCount"], c["leads"]["totalCount"]) for n, c in campaigns.items()} == {
        "K": (3, 3), "L": (1, 1)}


async def test_leads_list_their_calls_and_tasks(gateway: LiveGateway, floor: Floor) -> None:
    leads = by_name(await graphql(gateway, gateway.token(floor.tenant), LEADS_BELOW), "leads")
    assert {n: call_names(floor, lead["calls"]) for n, lead in leads.items()} == {
        "lead-a1": ["call-a1"], "lead-a2": ["call-a2"], "lead-b1": ["call-b1"], "lead-c1": [], "lead-x": []}
    assert {n: edges(lead["tasks"], "title") for n, lead in leads.items()} == {
        "lead-a1": ["task-a1"], "lead-a2": ["task-a2"], "lead-b1": [], "lead-c1": [], "lead-x": []}
    assert leads["lead-c1"]["calls"]["totalCount"] == 0


async def test_agents_list_the_leads_they_own_and_the_tasks_assigned_to_them(
    gateway: LiveGateway, floor: Floor
) -> None:
    body = await graphql(gateway, gateway.token(floor.tenant), """{ agents { edges { node { name
        leads(orderBy: VALUE_DESC) { edges { node { name } } }
        newest: leads(first: 1) { totalCount edges { node { name } } }
        tasks { edges { node { title } } }
        open: tasks(filter: {status: OPEN}) { totalCount } } } } }""")
    agents = by_name(body, "agents")
    assert {n: edges(a["leads"]) for n, a in agents.items()} == {
        "A": ["lead-a2", "lead-a1"], "B": ["lead-b1"], "C": ["lead-c1"]}
    assert {n: (edges(a["newest"]), a["newest"]["totalCount"]) for n, a in agents.items()} == {
        "A": (["lead-a2"], 2), "B": (["lead-b1"], 1), "C": (["lead-c1"], 1)}
    assert {n: edges(a["tasks"], "title") for n, a in agents.items()} == {
        "A": ["task-a2", "task-a1"], "B": [], "C": ["task-c1"]}
    assert {n: a["open"]["totalCount"] for n, a in agents.items()} == {"A": 1, "B": 0, "C": 1}


async def test_both_directions_lead_back_to_the_parent(gateway: LiveGateway, floor: Floor) -> None:
    body = await graphql(gateway, gateway.token(floor.tenant), """{ calls(orderBy: STARTED_AT_ASC, first: 1) {
        edges { node { agent { name calls { totalCount edges { node { agent { name } } } } } } } } }""")
    agent = body["data"]["calls"]["edges"][0]["node"]["agent"]
    assert agent["name"] == "A"
    assert agent["calls"]["totalCount"] == 3
    assert {e["node"]["agent"]["name"] for e in agent["calls"]["edges"]} == {"A"}


@pytest.mark.parametrize(("role", "red_agents", "red_managers", "blue_agents"), [
    ("admin", ["A", "B"], ["mia@floor.test"], ["C"]),
    ("viewer", ["A", "B"], ["mia@floor.test"], ["C"]),
    ("manager", ["A", "B"], ["mia@floor.test"], None),
    ("agent", ["A"], [], None),
])
async def test_team_relations_follow_the_role(
    gateway: LiveGateway, floor: Floor, role: str, red_agents: list[str], red_managers: list[str],
    blue_agents: list[str] | None
) -> None:
    token = tokens(gateway, floor)[role]
    teams = by_name(await graphql(gateway, token, TEAMS_BELOW), "teams")
    assert edges(teams["Red"]["agents"]) == red_agents
    assert teams["Red"]["agents"]["totalCount"] == len(red_agents)
    assert edges(teams["Red"]["managers"], "email") == red_managers
    assert teams["Red"]["managers"]["totalCount"] == len(red_managers)
    if blue_agents is None:
        assert "Blue" not in teams
    else:
        assert edges(teams["Blue"]["agents"]) == blue_agents


@pytest.mark.parametrize(("role", "k_calls", "k_leads", "a1_calls"), [
    ("admin", ["call-x", "call-c1", "call-b1", "call-a1"], ["lead-c1", "lead-b1", "lead-a1"], ["call-x", "call-a1"]),
    ("viewer", ["call-x", "call-c1", "call-b1", "call-a1"], ["lead-c1", "lead-b1", "lead-a1"], ["call-x", "call-a1"]),
    ("manager", ["call-x", "call-b1", "call-a1"], ["lead-b1", "lead-a1"], ["call-x", "call-a1"]),
    ("agent", ["call-a1"], ["lead-a1"], ["call-a1"]),
])
async def test_campaign_and_lead_lists_are_narrowed_to_what_the_role_may_read(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection, role: str, k_calls: list[str],
    k_leads: list[str], a1_calls: list[str]
) -> None:
    # given: B also called about A's lead, for campaign K
    floor.calls["call-x"] = uuid.uuid4()
    await admin_conn.execute(CALL, floor.tenant, floor.calls["call-x"], "outbound", floor.b, floor.leads["lead-a1"],
                             floor.camp_k, at(5, 10), "connected", None)
    token = tokens(gateway, floor)[role]
    campaigns = by_name(await graphql(gateway, token, CAMPAIGNS_BELOW), "campaigns")
    assert call_names(floor, campaigns["K"]["calls"]) == k_calls
    assert campaigns["K"]["calls"]["totalCount"] == len(k_calls)
    assert edges(campaigns["K"]["leads"]) == k_leads
    assert campaigns["K"]["leads"]["totalCount"] == len(k_leads)
    # then lead-a1's calls are those of the callers the role may read, as calls(filter: {leadId}) shows them
    lead = encode_id("Lead", floor.leads["lead-a1"])
    below = await graphql(gateway, token, "query($id: ID!) { node(id: $id) { ... on Lead { calls { totalCount "
                          "edges { node { id } } } } } }", id=lead)
    assert call_names(floor, below["data"]["node"]["calls"]) == a1_calls
    root = await graphql(gateway, token, "query($id: ID) { calls(filter: {leadId: $id}) { edges { node { id } } } }",
                         id=lead)
    assert call_names(floor, root["data"]["calls"]) == a1_calls


async def test_an_agent_reads_its_own_calls_leads_tasks_and_team(gateway: LiveGateway, floor: Floor) -> None:
    body = await graphql(gateway, tokens(gateway, floor)["agent"], OWN_AGENT)
    assert "errors" not in body, body
    agent = body["data"]["viewer"]["user"]["agent"]
    assert agent["calls"]["totalCount"] == 3
    assert edges(agent["leads"]) == ["lead-a2", "lead-a1"]
    assert edges(agent["tasks"], "title") == ["task-a2", "task-a1"]
    # Its team's other agents and the team's managers are people it may not read: narrowed, not refused.
    assert agent["team"]["agents"] == {"totalCount": 1, "edges": [{"node": {"name": "A"}}]}
    assert agent["team"]["managers"] == {"totalCount": 0, "edges": []}


@pytest.mark.parametrize("field", [
    "calls { totalCount }", "leads { totalCount }", "tasks { totalCount }", "team { agents { totalCount } }",
    "team { managers { totalCount } }",
])
async def test_a_manager_reaching_an_agent_or_team_it_does_not_manage_is_forbidden(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection, field: str
) -> None:
    # given: the manager's directory entry is linked to agent C of Blue, a team it does not manage
    await admin_conn.execute("UPDATE users SET agent_id = $3 WHERE tenant_id = $1 AND id = $2",
                             floor.tenant, floor.manager, floor.c)
    # when
    body = await graphql(gateway, tokens(gateway, floor)["manager"],
                         f"{{ viewer {{ user {{ agent {{ name {field} }} }} }} }}")
    # then
    assert code(body) == "FORBIDDEN"
    assert "totalCount" not in str(body["data"])


@pytest.mark.parametrize("query", [CAMPAIGNS_BELOW, TEAMS_BELOW, NESTED, LEADS_BELOW])
async def test_service_tokens_reach_no_list_below_anything(gateway: LiveGateway, floor: Floor, query: str) -> None:
    body = await graphql(gateway, tokens(gateway, floor)["service"], query)
    assert code(body) == "FORBIDDEN"
    assert body["data"] is None


async def _tenant_of(admin_conn: asyncpg.Connection, agents: int) -> uuid.UUID:
    """`agents` agents over 3 teams, each with 12 calls over 4 campaigns."""
    tenant = await make_tenant(admin_conn, f"N{agents}", "UTC")
    teams = [await make_team(admin_conn, tenant, f"T{i}") for i in range(3)]
    campaigns = [uuid.uuid4() for _ in range(4)]
    await admin_conn.executemany("INSERT INTO campaigns (tenant_id, id, name) VALUES ($1, $2, $3)",
                                 [(tenant, c, f"C{i}") for i, c in enumerate(campaigns)])
    rows = []
    for i in range(agents):
        agent = await make_agent(admin_conn, tenant, f"agent {i:02}", team_id=teams[i % 3])
        rows += [(tenant, uuid.uuid4(), "inbound", agent, None, campaigns[(i + j) % 4], at(1 + j, i % 24),
                  "connected", None) for j in range(12)]
    await admin_conn.executemany(CALL, rows)
    return tenant


@pytest.mark.parametrize(("query", "expected", "distinct"), [
    # agents, their calls, those calls' campaigns
    (NESTED, 3, 3),
    # the same, plus one grouped count for every agent's calls
    ("{ agents(first: 50) { edges { node { calls(first: 10) { totalCount edges { node { campaign { name } } } } "
     "} } } }", 4, 4),
    # two pages of different sizes per agent: the same statement once per size, whatever the number of agents
    ("{ agents(first: 50) { edges { node { a: calls(first: 2) { edges { node { id } } } "
     "b: calls(first: 3) { edges { node { id } } } } } } }", 3, 2),
    # teams, their agents, those agents' leads and tasks with their counts
    ("{ teams { edges { node { agents { edges { node { leads { totalCount } tasks { totalCount } } } } } } } }", 6, 6),
])
async def test_statements_per_query_do_not_grow_with_the_number_of_parents(
    database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection, query: str,
    expected: int, distinct: int
) -> None:
    # given two tenants, with 5 and with 50 agents
    tenants = {size: await _tenant_of(admin_conn, size) for size in (5, 50)}
    statements: list[str] = []

    def log(logged: LoggedQuery) -> None:
        if not logged.query.lstrip().startswith(BOOKKEEPING):
            statements.append(logged.query)

    gateway = await gateway_factory(database, query_logger=log, CALLPULSE_DB_POOL_MAX="1")
    await graphql(gateway, gateway.token(tenants[5]), query)  # warms asyncpg's type cache
    for size, tenant in tenants.items():
        statements.clear()
        # when
        body = await graphql(gateway, gateway.token(tenant), query)
        # then
        assert "errors" not in body, body
        assert len(statements) == expected, (size, statements)
        assert len(set(statements)) == distinct, (size, statements)


async def test_fifty_agents_with_ten_calls_each_come_back_whole(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    tenant = await _tenant_of(admin_conn, 50)
    body = await graphql(gateway, gateway.token(tenant), NESTED)
    assert "errors" not in body, body
    agents = body["data"]["agents"]["edges"]
    assert len(agents) == 50
    assert all(len(a["node"]["calls"]["edges"]) == 10 for a in agents)
    assert all(e["node"]["campaign"]["name"].startswith("C") for a in agents for e in a["node"]["calls"]["edges"])
